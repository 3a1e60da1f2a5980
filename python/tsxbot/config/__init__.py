"""Configuration: typed, validated at load, every problem reported at once.

``load_config()`` is the one entry point; see ``loader.py`` for the layering rules.
"""

from tsxbot.config.bot_config import BotConfig
from tsxbot.config.errors import ConfigError, ConfigProblem, Origin
from tsxbot.config.global_config import GlobalConfig
from tsxbot.config.instruments import Instrument, Instruments
from tsxbot.config.loader import DEFAULTS_DIR, BotSettings, Config, load_config, resolve_config_dir
from tsxbot.config.secrets import Secret, Secrets

__all__ = [
    "DEFAULTS_DIR",
    "BotConfig",
    "BotSettings",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "GlobalConfig",
    "Instrument",
    "Instruments",
    "Origin",
    "Secret",
    "Secrets",
    "load_config",
    "resolve_config_dir",
]
