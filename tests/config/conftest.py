from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tsxbot.config import DEFAULTS_DIR


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped example config in a temporary directory (the working directory),
    with no tsxbot environment variables leaking in from the machine."""
    target = tmp_path / "config"
    shutil.copytree(DEFAULTS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    from tsxbot.config.secrets import SECRET_ENV_VARS
    from tsxbot.config.sources import ENV_SETTINGS

    for name in [
        *ENV_SETTINGS,
        *(n for names in SECRET_ENV_VARS.values() for n in names),
        "REDIS_HOST",
        "REDIS_PORT",
        "TSXBOT_CONFIG_DIR",
    ]:
        monkeypatch.delenv(name, raising=False)
    return target
