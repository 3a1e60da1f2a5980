"""A user's strategy by dotted path: the README's example strategy, loaded from a module written
out of README.md itself, validated by the config loader with the built-ins' messages, and run on
bars through the engine."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.strategy_feed import engine, signals
from tsxbot.config import DEFAULTS_DIR, ConfigError, load_config
from tsxbot.strategy import Skip, SkipKind, Strategy
from tsxbot.strategy.registry import StrategyLoadError, load_strategy
from tsxbot.strategy.sizing import Sized

README = Path(__file__).resolve().parents[2] / "README.md"
DAY = dt.date(2026, 6, 10)
TYPE = "mystrategies.channel:ChannelBreakout"


def example_source() -> str:
    text = README.read_text()
    match = re.search(r"<!-- example-strategy:[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its example strategy"
    return match.group(1)


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """``mystrategies/channel.py`` (the README's example) in a fresh directory on ``sys.path``."""
    root = tmp_path / "strategies"
    (root / "mystrategies").mkdir(parents=True)
    (root / "mystrategies" / "__init__.py").write_text("")
    (root / "mystrategies" / "channel.py").write_text(example_source())
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "mystrategies" or m.startswith("mystrategies.")]:
            del sys.modules[name]


def config_dir(tmp_path: Path, params: str, type_name: str = TYPE) -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULTS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "bots" / "bot_9.yaml").write_text(
        "bot: {id: bot_9, name: Channel}\n"
        "instrument: {symbol: MES}\n"
        "strategy:\n"
        f"  type: {type_name}\n"
        f"  params: {params}\n"
    )
    return target


def test_the_readme_example_runs_on_bars(package: Path) -> None:
    cls = load_strategy(TYPE)
    assert issubclass(cls, Strategy)
    params = cls.params_type(dollar_risk_per_trade=100, max_risk_points=8, timeframe="1m")  # type: ignore[call-arg]
    quiet = [(100.0, 100.5, 99.5, 100.0)] * 20
    # Twenty quiet bars, then a close above the channel high (100.5) on 1.5x volume: one long.
    _, feed = engine(cls, params, "MES")
    feed.bars(DAY, "08:30", [*quiet, (100, 101.25, 100, 101, 150)])
    ((i, sized),) = signals(feed.outcomes)
    assert i == 20 and isinstance(sized, Sized) and sized.side == "long"
    assert sized.reason.setup == "channel breakout" and sized.reason.levels == {"channelHigh": 100.5}
    atr = (13 * 1.0 + 1.25) / 14  # true ranges: 1.0 each, then 101.25 - 100
    assert 101 - 2 * atr == pytest.approx(98.964, abs=1e-3)
    assert sized.stop == 99.0  # 98.964 on the grid toward the entry
    # The same bar on 1.1x volume: skipped, with its reason.
    _, feed = engine(cls, params, "MES")
    feed.bars(DAY, "08:30", [*quiet, (100, 101.25, 100, 101, 110)])
    ((_, skip),) = signals(feed.outcomes)
    assert isinstance(skip, Skip) and skip.kind == SkipKind.RELATIVE_VOLUME and "1.10 < 1.2" in skip.detail


def test_user_params_are_validated_at_load_like_the_builtins(package: Path, tmp_path: Path) -> None:
    config = load_config(
        config_dir(tmp_path, "{dollarRiskPerTrade: 100, maxRiskPoints: 8, channelBars: 10}"), env={}
    )
    params = config.bots["bot_9"].params
    assert type(params).__name__ == "ChannelParams" and params.channel_bars == 10  # type: ignore[attr-defined]

    bad = config_dir(
        tmp_path / "bad", "{dollarRiskPerTrade: 100, maxRiskPoints: 8, channelBars: 0, chanelBar: 3}"
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad, env={})
    found = [str(p) for p in info.value.problems]
    assert any(
        re.search(
            r"config/bots/bot_9\.yaml:\d+: strategy\.params\.channelBars: expected `int` >= 1, got 0$", p
        )
        for p in found
    ), found
    assert any("strategy.params.chanelBar: unknown key; did you mean 'channelBars'" in p for p in found), (
        found
    )


@pytest.mark.parametrize(
    ("type_name", "message"),
    [
        ("nowhere.at_all:Thing", "cannot import strategy module 'nowhere.at_all'"),
        ("mystrategies.channel:Missing", "module 'mystrategies.channel' has no 'Missing'"),
        ("mystrategies.channel:ChannelParams", "is not a tsxbot.strategy.Strategy subclass"),
        ("EMA_CROS", "unknown strategy 'EMA_CROS' (strategies: PDH_PDL, EMA_CROSS, ORB_RUBBER_BAND"),
    ],
)
def test_a_strategy_type_that_names_nothing_is_a_config_problem(
    package: Path, tmp_path: Path, type_name: str, message: str
) -> None:
    with pytest.raises(StrategyLoadError, match=re.escape(message)):
        load_strategy(type_name)
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, "{dollarRiskPerTrade: 100, maxRiskPoints: 8}", type_name), env={})
    problems = info.value.problems
    assert any(p.path == "strategy.type" and message in p.message for p in problems), problems


def test_strategy_paths_in_global_yaml_are_searched(tmp_path: Path) -> None:
    directory = config_dir(tmp_path, "{dollarRiskPerTrade: 100, maxRiskPoints: 8}")
    user = directory / "user_strategies" / "mystrategies"
    user.mkdir(parents=True)
    (user / "__init__.py").write_text("")
    (user / "channel.py").write_text(example_source())
    global_yaml = directory / "global.yaml"
    text = global_yaml.read_text()
    assert "strategyPaths: []" in text
    global_yaml.write_text(text.replace("strategyPaths: []", "strategyPaths: [user_strategies]"))
    try:
        config = load_config(directory, env={})
        assert type(config.bots["bot_9"].params).__name__ == "ChannelParams"
    finally:
        sys.path[:] = [p for p in sys.path if not p.endswith("user_strategies")]
        for name in [m for m in sys.modules if m == "mystrategies" or m.startswith("mystrategies.")]:
            del sys.modules[name]


def test_the_builtins_load_by_name_with_their_params() -> None:
    from tsxbot.strategies.params import BUILTIN_STRATEGY_PARAMS
    from tsxbot.strategy.registry import BUILTIN_STRATEGIES, params_type

    assert list(BUILTIN_STRATEGIES) == list(BUILTIN_STRATEGY_PARAMS)
    for name, params in BUILTIN_STRATEGY_PARAMS.items():
        assert load_strategy(name).params_type is params is params_type(name)
