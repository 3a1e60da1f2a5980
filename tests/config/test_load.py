"""The example config loads, layers apply in order, and secrets stay masked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tsxbot.config import DEFAULTS_DIR, Secret, load_config, resolve_config_dir
from tsxbot.strategies.params import EmaCrossParams, OrbRubberBandParams, PdhPdlParams


def test_example_config_loads_with_three_bots(config_dir: Path) -> None:
    config = load_config(config_dir)
    assert set(config.bots) == {"bot_1", "bot_2", "bot_3"}
    pdh, ema, orb = config.bots["bot_1"], config.bots["bot_2"], config.bots["bot_3"]
    assert (pdh.instrument.symbol, ema.instrument.symbol, orb.instrument.symbol) == ("MGC", "MES", "MNQ")
    assert isinstance(pdh.params, PdhPdlParams)
    assert isinstance(ema.params, EmaCrossParams)
    assert isinstance(orb.params, OrbRubberBandParams)
    # The spec's parameters.
    assert pdh.params.dollar_risk_per_trade == 100
    assert pdh.params.max_risk_points == 3.0
    assert pdh.params.risk_reward_ratio == 2.0
    assert pdh.config.risk.max_positions == 3
    assert pdh.config.risk.max_daily_loss == 500
    assert pdh.config.risk.max_drawdown == 1000
    assert pdh.config.trading_hours.start == "07:20"
    g = config.global_config
    assert g.services.connection_manager.port == 7500
    assert (g.services.aggregator.api_port, g.services.aggregator.monitoring_port) == (7600, 7700)
    assert (g.services.manual_trading.port, g.services.control_panel.port, g.simulator.port) == (
        7400,
        3000,
        7800,
    )
    assert g.bus.backend == "memory"
    assert g.topstepx.target == "simulator"


def test_instruments_table(config_dir: Path) -> None:
    table = load_config(config_dir).instruments
    for symbol in ["MGC", "GC", "MES", "ES", "MNQ", "NQ", "MYM", "YM", "M2K", "RTY", "MCL", "CL"]:
        assert symbol in table
    es = table.get("ES")
    assert (es.contract_root, es.tick_size, es.tick_value, es.point_value) == ("EP", 0.25, 12.5, 50)
    assert es.contract_id("Z", 2025) == "CON.F.US.EP.Z25"
    assert es.symbol_id == "F.US.EP"
    assert table.get("NQ").contract_root == "ENQ"
    assert table.get("GC").contract_root == "GCE"
    assert table.get("CL").contract_root == "CLE"
    assert table.get("MES").mini_equivalent == 0.1
    assert table.by_contract_id("CON.F.US.MNQ.H26") is table.get("MNQ")
    assert table.get("MGC").ticks.to_ticks(2034.3) == 20343
    with pytest.raises(KeyError, match="unknown symbol 'XAU'"):
        table.get("XAU")


def test_environment_overrides_yaml_and_dotenv_fills_gaps(config_dir: Path) -> None:
    Path(".env").write_text(
        "CONNECTION_MANAGER_PORT=7510\nSIMULATOR_PORT=7810\nTOPSTEPX_API_KEY=fromdotenv\n"
    )
    env = {"SIMULATOR_PORT": "7820", "REDIS_URL": "redis://10.0.0.5:6380/1"}
    config = load_config(config_dir, env=env)
    g = config.global_config
    assert g.services.connection_manager.port == 7510  # from .env
    assert g.simulator.port == 7820  # the real environment wins over .env
    assert g.bus.redis_url == "redis://10.0.0.5:6380/1"
    assert config.secrets.topstepx_api_key is not None
    assert config.secrets.topstepx_api_key.reveal() == "fromdotenv"


def test_spec_redis_host_and_port_variables(config_dir: Path) -> None:
    config = load_config(config_dir, env={"REDIS_HOST": "redis.internal", "REDIS_PORT": "6390"})
    assert config.global_config.bus.redis_url == "redis://redis.internal:6390/0"


def test_runtime_overrides_win(config_dir: Path) -> None:
    config = load_config(
        config_dir,
        env={"CONNECTION_MANAGER_PORT": "7510"},
        overrides=[
            "bots.bot_1.risk.maxDailyLoss=300",
            "services.connectionManager.port=7520",
            "bots.bot_2.bot.enabled=false",
        ],
    )
    assert config.bots["bot_1"].config.risk.max_daily_loss == 300
    assert config.global_config.services.connection_manager.port == 7520
    assert [b.id for b in config.enabled_bots] == ["bot_1", "bot_3"]


def test_secrets_only_from_environment_and_always_masked(config_dir: Path) -> None:
    env = {
        "TOPSTEPX_USERNAME": "trader42",
        "TOPSTEPX_API_KEY": "k3y-very-secret-value",
        "TSXBOT_API_KEY": "internal-key-123",
    }
    config = load_config(config_dir, env=env)
    assert config.secrets.topstepx_username == Secret("trader42")
    display = repr(config.to_display())
    for value in env.values():
        assert value not in display
    assert "********" in display
    assert repr(config.secrets.topstepx_api_key) == "Secret('********')"
    assert str(config.secrets.internal_api_key) == "********"
    assert config.secrets.internal_api_key is not None
    assert config.secrets.internal_api_key.matches("internal-key-123")
    assert not config.secrets.internal_api_key.matches("internal-key-124")


def test_spec_credential_variable_names_are_accepted(config_dir: Path) -> None:
    config = load_config(config_dir, env={"TOPSTEP_USERNAME_REAL": "u", "TOPSTEP_API_KEY_REAL": "k"})
    assert config.secrets.topstepx_username == Secret("u")
    assert config.secrets.topstepx_api_key == Secret("k")


def test_config_dir_resolution(config_dir: Path, tmp_path: Path) -> None:
    assert resolve_config_dir(None, {}) == Path("config")  # ./config has a global.yaml
    assert resolve_config_dir("elsewhere", {}) == Path("elsewhere")
    assert resolve_config_dir(None, {"TSXBOT_CONFIG_DIR": "/etc/tsxbot"}) == Path("/etc/tsxbot")
    os.chdir(tmp_path / "config")  # no ./config here: the packaged example
    assert resolve_config_dir(None, {}) == DEFAULTS_DIR


def test_packaged_defaults_load() -> None:
    config = load_config(DEFAULTS_DIR, env={})
    assert len(config.bots) == 3
    assert len(config.instruments) >= 12


def test_times_are_text_not_sexagesimal_numbers(config_dir: Path) -> None:
    # YAML 1.1 would read an unquoted 15:00 as the integer 900; ours keeps it as "15:00".
    path = config_dir / "bots" / "bot_2.yaml"
    path.write_text(path.read_text().replace('{start: "08:30", end: "15:00"', "{start: 08:30, end: 15:00"))
    config = load_config(config_dir)
    assert config.bots["bot_2"].config.trading_hours.end == "15:00"


def test_bot_order_rate_is_optional(config_dir: Path) -> None:
    config = load_config(config_dir)
    assert all(bot.config.risk.max_orders_per_minute is None for bot in config.bots.values())
    path = config_dir / "bots" / "bot_1.yaml"
    path.write_text(
        path.read_text().replace("  maxPositions: 3\n", "  maxPositions: 3\n  maxOrdersPerMinute: 4\n")
    )
    config = load_config(config_dir, overrides=["bots.bot_2.risk.maxOrdersPerMinute=10"])
    assert config.bots["bot_1"].config.risk.max_orders_per_minute == 4
    assert config.bots["bot_2"].config.risk.max_orders_per_minute == 10
    assert config.bots["bot_3"].config.risk.max_orders_per_minute is None
