"""The alerts' configuration: every mistake is a clear error naming the key or the variable."""

from __future__ import annotations

import pytest

from support.bus_helpers import bus_config
from tsxbot.alerts.factory import AlertsSetupError, build_alerts
from tsxbot.bus import create_bus
from tsxbot.config import DEFAULTS_DIR, ConfigError, load_config


def problems(*overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(DEFAULTS_DIR, overrides=list(overrides), env={})
    return str(caught.value)


def test_bad_values_are_named() -> None:
    text = problems("alerts.levels.fill=LOUD", "alerts.telegram.chatIds=[1, x]", "alerts.coalesceSeconds=0")
    assert "alerts.levels.fill: expected one of 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'" in text
    assert "alerts.telegram.chatIds: expected `int`" in text
    assert "alerts.coalesceSeconds: expected `float` > 0.0" in text
    assert "alerts.enabled: alerts are enabled but no channel is" in problems("alerts.enabled=true")
    assert "alerts.telegram.chatIds: Telegram is enabled but no chat id is given" in problems(
        "alerts.telegram.enabled=true"
    )
    assert "alerts.discord.kinds" in problems("alerts.discord.kinds=[FILLS]")
    assert "alerts.timezone: unknown time zone" in problems("alerts.timezone=Mars/Olympus")


def test_a_token_in_a_file_is_refused() -> None:
    text = problems("alerts.telegram.token=123:abc")
    assert "secrets are read only from environment variables" in text and "TELEGRAM_BOT_TOKEN" in text
    assert "123:abc" not in text


async def test_an_enabled_channel_needs_its_secret() -> None:
    config = load_config(
        DEFAULTS_DIR,
        overrides=["alerts.enabled=true", "alerts.slack.enabled=true"],
        env={"TSXBOT_API_KEY": "k" * 20},
    )
    bus = create_bus(bus_config("memory", "redis://127.0.0.1:1/0", "cfg"), client_name="test")
    with pytest.raises(AlertsSetupError, match=r"alerts\.slack is enabled but SLACK_WEBHOOK_URL is not set"):
        build_alerts(config, bus)
    disabled = load_config(DEFAULTS_DIR, env={})
    assert build_alerts(disabled, bus) is None
    config = load_config(
        DEFAULTS_DIR,
        overrides=["alerts.enabled=true", "alerts.slack.enabled=true"],
        env={"TSXBOT_API_KEY": "k" * 20, "SLACK_WEBHOOK_URL": "https://hooks.example/T/B/secret"},
    )
    assert config.secrets.slack_webhook_url is not None
    assert "secret" not in repr(config.secrets)
    service = build_alerts(config, bus)
    assert service is not None and [r.outbox.name for r in service.routes] == ["slack"]
    await service.http.aclose()
