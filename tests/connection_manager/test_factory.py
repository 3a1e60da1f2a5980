"""Where the connection manager connects and with which internal key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.connection_manager.factory import MissingCredentialsError, endpoints_for, internal_api_key


def test_the_generated_key_is_owner_only_and_shared_by_the_next_process(tmp_path: Path) -> None:
    config = load_config(DEFAULTS_DIR, env={})
    key_file = tmp_path / ".tsxbot" / "internal-api-key"
    first = internal_api_key(config, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = internal_api_key(config, key_file)
    assert second == first  # a second service started here uses the same key
    key_file.chmod(0o644)
    assert internal_api_key(config, key_file) == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with_env = load_config(DEFAULTS_DIR, env={"TSXBOT_API_KEY": "from-the-environment"})
    assert internal_api_key(with_env, key_file).reveal() == "from-the-environment"


def test_endpoints() -> None:
    sim = endpoints_for(load_config(DEFAULTS_DIR, env={}))
    assert sim.api_url == "http://127.0.0.1:7800"
    assert sim.user_hub_url == "http://127.0.0.1:7800/hubs/user"
    assert sim.username.reveal() == "demo"
    live = endpoints_for(
        load_config(
            DEFAULTS_DIR,
            overrides=["topstepx.target=live"],
            env={"TOPSTEPX_USERNAME": "u", "TOPSTEPX_API_KEY": "k"},
        )
    )
    assert live.api_url == "https://api.topstepx.com"
    assert live.market_hub_url == "https://rtc.topstepx.com/hubs/market"
    with pytest.raises(MissingCredentialsError, match="TOPSTEPX_USERNAME"):
        endpoints_for(load_config(DEFAULTS_DIR, overrides=["topstepx.target=live"], env={}))
