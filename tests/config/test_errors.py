"""Broken configs: each problem names the file (and line), the key path and what was expected;
every problem in a load is reported at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tsxbot.config import ConfigError, load_config


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"test set-up: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def problems(config_dir: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def only(found: list[str], pattern: str) -> str:
    matching = [p for p in found if re.search(pattern, p)]
    assert matching, f"no problem matches {pattern!r} in {found}"
    return matching[0]


# (file, old text, new text, regex the problem must match: file:line: key path: what was expected)
BROKEN: list[tuple[str, str, str, str]] = [
    (
        "global.yaml",
        "  maxOrderSize: 5",
        "  maxOrdersize: 5",
        r"^config/global\.yaml:\d+: risk\.maxOrdersize: unknown key; did you mean 'maxOrderSize'",
    ),
    (
        "global.yaml",
        "  port: 7800",
        "  port: seventy",
        r"^config/global\.yaml:\d+: simulator\.port: expected `int`, got 'seventy'",
    ),
    (
        "global.yaml",
        "  port: 7800",
        "  port: 70000",
        r"^config/global\.yaml:\d+: simulator\.port: expected `int` <= 65535, got 70000",
    ),
    (
        "global.yaml",
        "  maxDailyLoss: 1000",
        "  maxDailyLoss: -100",
        r"^config/global\.yaml:\d+: risk\.maxDailyLoss: expected `float` > 0\.0, got -100",
    ),
    (
        "global.yaml",
        "  backend: memory",
        "  backend: kafka",
        r"^config/global\.yaml:\d+: bus\.backend: expected one of 'memory', 'redis'; got 'kafka'",
    ),
    (
        "global.yaml",
        'tradingHours: {start: "17:00"',
        'tradingHours: {start: "25:00"',
        r"^config/global\.yaml:\d+: risk\.tradingHours\.start: expected `str` matching regex",
    ),
    (
        "global.yaml",
        "timezone: America/Chicago}",
        "timezone: Mars/Olympus}",
        r"^config/global\.yaml:\d+: risk\.tradingHours\.timezone: unknown time zone 'Mars/Olympus'",
    ),
    (
        "global.yaml",
        "  startingBalance: 50000",
        "  startingBalance: 1500",
        r"^config/global\.yaml:\d+: risk\.maxDrawdown: the maximum drawdown must be smaller",
    ),
    (
        "global.yaml",
        "  target: simulator ",
        "  apiKey: abc123\n  target: simulator ",
        r"^config/global\.yaml:\d+: topstepx\.apiKey: unknown key: secrets are read only from environment",
    ),
    ("global.yaml", "system:\n", "system: [\n", r"^config/global\.yaml:\d+: \(file\): invalid YAML"),
    ("bots/bot_1.yaml", "  id: bot_1\n", "", r"^config/bots/bot_1\.yaml:\d+: bot\.id: missing required key"),
    (
        "bots/bot_2.yaml",
        "fastPeriod: 9",
        "fastPeriod: 0",
        r"^config/bots/bot_2\.yaml:\d+: strategy\.params\.fastPeriod: expected `int` >= 1, got 0",
    ),
    (
        "bots/bot_2.yaml",
        "fastPeriod: 9",
        "fastPeriod: 30",
        r"^config/bots/bot_2\.yaml:\d+: strategy\.params\.fastPeriod: the fast EMA period \(30\)",
    ),
    (
        "bots/bot_1.yaml",
        "offsetTicks: 1",
        "offsetTicks: -2",
        r"^config/bots/bot_1\.yaml:\d+: exits\.breakEven\.offsetTicks: expected >= 0, got -2: .*wrong side",
    ),
    (
        "bots/bot_3.yaml",
        "type: ORB_RUBBER_BAND",
        "type: ORB_RUBBERBAND",
        r"^config/bots/bot_3\.yaml:\d+: strategy\.type: unknown strategy 'ORB_RUBBERBAND'",
    ),
    (
        "bots/bot_1.yaml",
        "symbol: MGC",
        "symbol: XAU",
        r"^config/bots/bot_1\.yaml:\d+: instrument\.symbol: unknown symbol 'XAU'",
    ),
    (
        "bots/bot_1.yaml",
        "exchange: COMEX",
        "exchange: CME",
        r"^config/bots/bot_1\.yaml:\d+: instrument\.exchange: MGC trades on COMEX, not CME",
    ),
    (
        "bots/bot_3.yaml",
        "    dollarRiskPerTrade: 80\n",
        "",
        r"^config/bots/bot_3\.yaml:\d+: strategy\.params\.dollarRiskPerTrade: missing required key",
    ),
    (
        "bots/bot_2.yaml",
        "dollarRiskPerTrade: 75",
        "dollarRiskPerTrade: 750",
        r"^config/bots/bot_2\.yaml:\d+: strategy\.params\.dollarRiskPerTrade: one losing trade \(750\)",
    ),
    (
        "bots/bot_2.yaml",
        "  maxPositions: 2\n",
        "  maxPositions: 2\n  maxPositions: 4\n",
        r"^config/bots/bot_2\.yaml:\d+: risk\.maxPositions: key appears twice",
    ),
    (
        "bots/bot_1.yaml",
        "  maxPositions: 3\n",
        "  maxPositions: 3\n  maxOrdersPerMinute: 0\n",
        r"^config/bots/bot_1\.yaml:\d+: risk\.maxOrdersPerMinute: expected `int` >= 1, got 0",
    ),
    (
        "bots/bot_3.yaml",
        "  id: bot_3",
        "  id: bot_1",
        r"^config/bots/bot_3\.yaml:\d+: bot\.id: bot id 'bot_1' is already used by config/bots/bot_1\.yaml",
    ),
    (
        "bots/bot_1.yaml",
        "maxRiskPoints: 3.0",
        "maxRiskPoints: -3.0",
        r"^config/bots/bot_1\.yaml:\d+: strategy\.params\.maxRiskPoints: expected `float` > 0\.0, got -3\.0",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), BROKEN, ids=[b[3][:60] for b in BROKEN])
def test_broken_config_names_file_and_key(
    config_dir: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(config_dir / file, old, new)
    only(problems(config_dir), expected)


def test_line_numbers_point_at_the_key(config_dir: Path) -> None:
    path = config_dir / "global.yaml"
    edit(path, "  maxDailyLoss: 1000", "  maxDailyLoss: -100")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "maxDailyLoss: -100" in text)
    only(problems(config_dir), rf"^config/global\.yaml:{line}: risk\.maxDailyLoss")


def test_every_problem_in_every_file_is_reported_at_once(config_dir: Path) -> None:
    edit(config_dir / "global.yaml", "  port: 7800", "  port: 70000")  # 0 is valid: any free port
    edit(config_dir / "global.yaml", "  maxOrderSize: 5", "  maxOrderSize: many")
    edit(config_dir / "global.yaml", "  logLevel: INFO", "  logLevel: LOUD")
    edit(config_dir / "bots" / "bot_2.yaml", "slowPeriod: 21", "slowPeriod: -21")
    edit(config_dir / "bots" / "bot_3.yaml", "maxPositions: 2", "maxPositions: two")
    found = problems(config_dir)
    assert len(found) == 5, found
    only(found, r"simulator\.port")
    only(found, r"risk\.maxOrderSize")
    only(found, r"system\.logLevel")
    only(found, r"bot_2\.yaml:\d+: strategy\.params\.slowPeriod")
    only(found, r"bot_3\.yaml:\d+: risk\.maxPositions")


def test_bad_environment_variable_is_named(config_dir: Path) -> None:
    found = problems(config_dir, env={"CONNECTION_MANAGER_PORT": "abc", "TSXBOT_BUS": "carrier-pigeon"})
    only(
        found,
        r"^environment CONNECTION_MANAGER_PORT: services\.connectionManager\.port: expected `int`, got 'abc'",
    )
    only(
        found,
        r"^environment TSXBOT_BUS: bus\.backend: expected one of 'memory', 'redis'; got 'carrier-pigeon'",
    )


def test_bad_overrides_are_named(config_dir: Path) -> None:
    found = problems(
        config_dir,
        overrides=["bots.bot_9.risk.maxDailyLoss=1", "bots.bot_1.risk.maxDailyLoss=lots", "no-equals-sign"],
    )
    only(
        found,
        r"^--set bots\.bot_9\.risk\.maxDailyLoss=1: .*no bot with id 'bot_9' \(bots: bot_1, bot_2, bot_3\)",
    )
    only(
        found,
        r"^--set bots\.bot_1\.risk\.maxDailyLoss=lots: risk\.maxDailyLoss: expected `float`, got 'lots'",
    )
    only(found, r"^--set no-equals-sign: expected key\.path=value, e\.g\. ")


def test_broken_instruments_table(config_dir: Path) -> None:
    path = config_dir / "instruments.yaml"
    edit(path, "    pointValue: 50\n", "    pointValue: 40\n")
    only(
        problems(config_dir),
        r"^config/instruments\.yaml:\d+: instruments\[0\]\.pointValue: tickValue / tickSize = 50",
    )


def test_missing_directory_and_global_file(tmp_path: Path, config_dir: Path) -> None:
    only(problems(tmp_path / "nope"), r"nope: \(directory\): config directory not found")
    (config_dir / "global.yaml").unlink()
    only(problems(config_dir), r"^config/global\.yaml: \(file\): file not found")


def test_type_errors_do_not_hide_cross_field_or_whole_bot_problems(config_dir: Path) -> None:
    """One bot file with a type error, an unknown symbol and impossible combinations in the other
    sections: all come in the first run. (A combination within the section that has the type
    error, e.g. maxDrawdown below maxDailyLoss beside a bad maxPositions, is checked once that
    section's values have their types: judging it against a wrong value would mislead.)"""
    bot = config_dir / "bots" / "bot_2.yaml"
    edit(bot, "maxPositions: 2", 'maxPositions: "three"')
    edit(bot, "symbol: MES", "symbol: ZZZ")
    edit(bot, "fastPeriod: 9", "fastPeriod: 50")
    edit(bot, "offsetTicks: 1", "offsetTicks: -2")
    found = problems(config_dir)
    only(found, r"bot_2\.yaml:\d+: risk\.maxPositions")
    only(found, r"bot_2\.yaml:\d+: instrument\.symbol: unknown symbol 'ZZZ'")
    only(found, r"bot_2\.yaml:\d+: strategy\.params\.fastPeriod")
    only(found, r"bot_2\.yaml:\d+: exits\.breakEven\.offsetTicks")
    assert len(found) == 4, found


def test_an_unknown_strategy_is_named_even_beside_a_type_error(config_dir: Path) -> None:
    bot = config_dir / "bots" / "bot_2.yaml"
    edit(bot, "maxPositions: 2", "maxPositions: two")
    edit(bot, "type: EMA_CROSS", "type: EMA_CROS")
    found = problems(config_dir)
    only(found, r"strategy\.type: unknown strategy 'EMA_CROS'")
    only(found, r"risk\.maxPositions")


def test_a_secret_given_with_set_is_never_printed(config_dir: Path) -> None:
    found = problems(config_dir, overrides=["topstepx.apiKey=MY-REAL-KEY-123"])
    assert found and not any("MY-REAL-KEY-123" in p for p in found), found
    only(found, r"--set topstepx\.apiKey=\*\*\*\*")
    found = problems(config_dir, overrides=["topstepx..apiKey=MY-REAL-KEY-123"])
    assert not any("MY-REAL-KEY-123" in p for p in found), found
    only(found, r"--set topstepx\.\.apiKey=\*\*\*\*: empty part in key path")
