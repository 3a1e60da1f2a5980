"""Loads and validates the whole configuration.

Layers, later wins: ``global.yaml`` and ``bots/*.yaml`` -> environment variables (a ``.env``
file fills in what the real environment does not set) -> ``--set`` overrides. Secrets are read
from the environment only. Every problem in every layer is collected and raised together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from dotenv import dotenv_values

from tsxbot.config.bot_config import BotConfig
from tsxbot.config.errors import ConfigError, ConfigProblem, Origin
from tsxbot.config.global_config import GlobalConfig
from tsxbot.config.instruments import Instrument, Instruments, InstrumentsFile
from tsxbot.config.secrets import Secrets
from tsxbot.config.sources import (
    Layer,
    Override,
    apply_environment,
    load_yaml,
    override_origin,
    parse_override,
)
from tsxbot.config.validate import KeyPath, Problem, format_path, validate

if TYPE_CHECKING:
    from tsxbot.strategies.params import StrategyParams

DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "defaults"


@dataclass(frozen=True)
class BotSettings:
    """One bot's validated config, its typed strategy params and its instrument."""

    config: BotConfig
    params: StrategyParams
    instrument: Instrument
    source: str

    @property
    def id(self) -> str:
        return self.config.bot.id


@dataclass(frozen=True)
class Config:
    config_dir: Path
    global_config: GlobalConfig
    bots: dict[str, BotSettings]
    instruments: Instruments
    secrets: Secrets

    @property
    def enabled_bots(self) -> list[BotSettings]:
        return [b for b in self.bots.values() if b.config.bot.enabled]

    def to_display(self) -> dict[str, Any]:
        """The resolved config as plain data, secrets masked (for ``tsxbot config check``)."""
        return {
            "configDir": str(self.config_dir),
            "secrets": self.secrets.masked(),
            "global": msgspec.to_builtins(self.global_config),
            "bots": {
                bot_id: {
                    "source": b.source,
                    **msgspec.to_builtins(b.config),
                    "strategy": {"type": b.config.strategy.type, "params": msgspec.to_builtins(b.params)},
                }
                for bot_id, b in self.bots.items()
            },
            "instruments": sorted(self.instruments.symbols),
        }


def resolve_config_dir(explicit: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """``--config-dir``, else ``TSXBOT_CONFIG_DIR``, else ``./config`` when it holds a
    ``global.yaml``, else the example config shipped in the package."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("TSXBOT_CONFIG_DIR"):
        return Path(env["TSXBOT_CONFIG_DIR"])
    local = Path("config")
    if (local / "global.yaml").is_file():
        return local
    return DEFAULTS_DIR


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_environment(
    env_file: str | Path | None = None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The process environment over a ``.env`` file (``./.env`` unless another is named)."""
    merged: dict[str, str] = {}
    path = Path(env_file) if env_file else Path(".env")
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if env is None else env)
    return merged


class _Collector:
    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def add(self, origin: Origin, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(origin, path, message))

    def take_layer(self, layer: Layer) -> None:
        for origin, path, message in layer.problems:
            self.add(origin, path, message)

    def validated(self, layer: Layer, tp: type[Any], default: Origin, prefix: KeyPath = ()) -> Any:
        obj, problems = validate(layer.data, tp)
        self.take_problems(problems, layer, default, prefix)
        return obj

    def take_problems(
        self, problems: list[Problem], layer: Layer, default: Origin, prefix: KeyPath = ()
    ) -> None:
        for p in problems:
            path = (*prefix, *p.path)
            self.add(layer.origin_of(path, default), format_path(path), p.message)


def load_config(
    config_dir: str | Path | None = None,
    *,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    env_file: str | Path | None = None,
) -> Config:
    """Loads, merges and validates everything; raises ``ConfigError`` listing every problem."""
    environment = read_environment(env_file, env)
    directory = resolve_config_dir(config_dir, environment)
    out = _Collector()

    if not directory.is_dir():
        out.add(Origin(_label(directory)), "(directory)", "config directory not found")
        raise ConfigError(out.problems)

    # global.yaml, then the environment over it.
    global_path = directory / "global.yaml"
    global_label = _label(global_path)
    if global_path.is_file():
        global_layer = load_yaml(global_path, global_label)
    else:
        global_layer = Layer()
        out.add(Origin(global_label), "(file)", "file not found; every config directory needs a global.yaml")
    out.take_layer(global_layer)
    apply_environment(global_layer, environment)

    # bots/*.yaml, keyed by bot id.
    bot_layers: dict[str, tuple[Layer, str]] = {}
    bot_files = sorted([*(directory / "bots").glob("*.yaml"), *(directory / "bots").glob("*.yml")])
    for path in bot_files:
        label = _label(path)
        layer = load_yaml(path, label)
        out.take_layer(layer)
        if layer.problems and not layer.data:
            continue
        ident = layer.data.get("bot", {}).get("id") if isinstance(layer.data.get("bot"), dict) else None
        bot_id = ident if isinstance(ident, str) and ident else path.stem
        if bot_id in bot_layers:
            out.add(
                Origin(label, layer.origins.get(("bot", "id"), Origin(label)).line),
                "bot.id",
                f"bot id {bot_id!r} is already used by {bot_layers[bot_id][1]}",
            )
            continue
        bot_layers[bot_id] = (layer, label)

    # --set overrides.
    for text in overrides:
        try:
            ov = parse_override(text)
        except ValueError as exc:
            out.add(override_origin(text), "", str(exc))
            continue
        _apply_override(ov, global_layer, bot_layers, out)

    global_config = out.validated(global_layer, GlobalConfig, Origin(global_label))
    if global_config is not None and global_config.strategy_paths:
        from tsxbot.strategy.registry import add_strategy_paths

        add_strategy_paths(str(directory / p) for p in global_config.strategy_paths)

    instruments = _load_instruments(directory, out)

    bots: dict[str, BotSettings] = {}
    for bot_id, (layer, label) in bot_layers.items():
        settings = _load_bot(layer, label, instruments, out)
        if settings is not None:
            bots[bot_id] = settings

    if out.problems or global_config is None or instruments is None:
        raise ConfigError(sorted(out.problems, key=lambda p: (p.origin.source, p.origin.line or 0)))
    return Config(
        config_dir=directory,
        global_config=global_config,
        bots=bots,
        instruments=instruments,
        secrets=Secrets.from_environment(environment),
    )


def _apply_override(
    ov: Override, global_layer: Layer, bot_layers: dict[str, tuple[Layer, str]], out: _Collector
) -> None:
    if ov.path[0] != "bots":
        global_layer.set(ov.path, ov.value, ov.origin)
        return
    if len(ov.path) < 3:
        out.add(
            ov.origin, format_path(ov.path), "expected bots.<botId>.<key>, e.g. bots.bot_1.risk.maxDailyLoss"
        )
        return
    bot_id = str(ov.path[1])
    if bot_id not in bot_layers:
        known = ", ".join(bot_layers) or "none"
        out.add(ov.origin, format_path(ov.path), f"no bot with id {bot_id!r} (bots: {known})")
        return
    bot_layers[bot_id][0].set(ov.path[2:], ov.value, ov.origin)


def _check_raw_symbol(
    layer: Layer, default: Origin, instruments: Instruments | None, out: _Collector
) -> None:
    instrument = layer.data.get("instrument")
    symbol = instrument.get("symbol") if isinstance(instrument, dict) else None
    if instruments is not None and isinstance(symbol, str) and symbol not in instruments:
        out.add(
            layer.origin_of(("instrument", "symbol"), default),
            "instrument.symbol",
            _unknown_symbol(symbol, instruments),
        )


def _unknown_symbol(symbol: str, instruments: Instruments) -> str:
    return f"unknown symbol {symbol!r} (instruments: {', '.join(sorted(instruments.symbols))})"


def _strategy_params(kind: str) -> tuple[type[StrategyParams] | None, str]:
    """The params struct ``strategy.type`` names, or None and why (a built-in or a user's class)."""
    # Imported here: strategy modules import the config types, so a top-level import would cycle.
    from tsxbot.strategy.registry import StrategyLoadError, params_type

    try:
        return params_type(kind), ""
    except StrategyLoadError as exc:
        return None, str(exc)


def _check_raw_params(layer: Layer, default: Origin, out: _Collector) -> None:
    """When the bot file has other problems, its ``strategy.params`` are still checked against
    the named strategy, so every problem in the file is reported at once."""
    strategy = layer.data.get("strategy")
    if not isinstance(strategy, dict):
        return
    kind = strategy.get("type")
    if not isinstance(kind, str):
        return
    params_type, why = _strategy_params(kind)
    if params_type is None:
        out.add(layer.origin_of(("strategy", "type"), default), "strategy.type", why)
        return
    params = strategy.get("params", {})
    if not isinstance(params, dict):
        return
    _, problems = validate(params, params_type)
    out.take_problems(problems, layer, default, ("strategy", "params"))


def _load_instruments(directory: Path, out: _Collector) -> Instruments | None:
    path = directory / "instruments.yaml"
    if not path.is_file():
        path = DEFAULTS_DIR / "instruments.yaml"
    label = _label(path)
    layer = load_yaml(path, label)
    out.take_layer(layer)
    table = out.validated(layer, InstrumentsFile, Origin(label))
    return Instruments(table.instruments) if table is not None else None


def _load_bot(
    layer: Layer, label: str, instruments: Instruments | None, out: _Collector
) -> BotSettings | None:
    default = Origin(label)
    config: BotConfig | None = out.validated(layer, BotConfig, default)
    if config is None:
        # Report the rest of the file's problems in the same run.
        _check_raw_symbol(layer, default, instruments, out)
        _check_raw_params(layer, default, out)
        return None
    ok = True

    instrument: Instrument | None = None
    if instruments is not None:
        symbol = config.instrument.symbol
        where = layer.origin_of(("instrument", "symbol"), default)
        if symbol not in instruments:
            out.add(where, "instrument.symbol", _unknown_symbol(symbol, instruments))
            ok = False
        else:
            instrument = instruments.get(symbol)
            if not instrument.enabled:
                out.add(where, "instrument.symbol", f"{symbol} is disabled in the instruments table")
                ok = False
            exchange = config.instrument.exchange
            if exchange is not None and exchange != instrument.exchange:
                out.add(
                    layer.origin_of(("instrument", "exchange"), default),
                    "instrument.exchange",
                    f"{symbol} trades on {instrument.exchange}, not {exchange}",
                )
                ok = False

    params_type, why = _strategy_params(config.strategy.type)
    params: StrategyParams | None = None
    if params_type is None:
        out.add(layer.origin_of(("strategy", "type"), default), "strategy.type", why)
        ok = False
    else:
        params, problems = validate(config.strategy.params, params_type)
        out.take_problems(problems, layer, default, ("strategy", "params"))
        if params is not None and params.dollar_risk_per_trade > config.risk.max_daily_loss:
            out.add(
                layer.origin_of(("strategy", "params", "dollarRiskPerTrade"), default),
                "strategy.params.dollarRiskPerTrade",
                f"one losing trade ({params.dollar_risk_per_trade:g}) would exceed the bot's "
                f"maxDailyLoss ({config.risk.max_daily_loss:g})",
            )
            ok = False
        ok = ok and params is not None

    if not ok or instrument is None or params is None:
        return None
    return BotSettings(config=config, params=params, instrument=instrument, source=label)
