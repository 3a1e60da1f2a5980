"""An alerts configuration pointing every channel at the local chat services' server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from support.chat_servers import TOKEN, ChatServers
from support.cm_harness import API_KEY  # the key the test systems' services use
from tsxbot.config import DEFAULTS_DIR, Config, load_config
from tsxbot.config.secrets import Secret

CHAT = 42
STRANGER = 777


def alert_overrides(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "alerts.enabled=true",
        "alerts.telegram.enabled=true",
        f"alerts.telegram.chatIds=[{CHAT}]",
        "alerts.telegram.pollTimeoutSeconds=1",
        "alerts.discord.enabled=true",
        "alerts.discord.minLevel=INFO",
        "alerts.slack.enabled=true",
        "alerts.slack.minLevel=INFO",
        "alerts.webhook.enabled=true",
        "alerts.coalesceSeconds=0.05",
        "alerts.aggregatorPollSeconds=0.1",
        "alerts.retryBaseSeconds=0.05",
        "alerts.retryCapSeconds=0.2",
        "alerts.telegram.maxPerMinute=600",
        "alerts.discord.maxPerMinute=600",
        "alerts.slack.maxPerMinute=600",
        "alerts.webhook.maxPerMinute=600",
        f"journal.url=sqlite:///{tmp_path / 'journal.db'}",
        *extra,
    ]


def env_for(chat: ChatServers) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DISCORD_WEBHOOK_URL": f"{chat.base}/discord/1/secret-part",
        "SLACK_WEBHOOK_URL": f"{chat.base}/slack/T0/B0/secret",
        "TSXBOT_ALERT_WEBHOOK_URL": f"{chat.base}/hook",
        "TSXBOT_API_KEY": API_KEY,
    }


def alerts_config(tmp_path: Path, chat: ChatServers, *extra: str) -> Config:
    return load_config(
        DEFAULTS_DIR,
        overrides=[*alert_overrides(tmp_path, *extra), f"alerts.telegram.apiUrl={chat.base}"],
        env=env_for(chat),
    )


def with_alert_secrets(config: Config, chat: ChatServers) -> Config:
    """``config`` with the chat services' secrets and the internal API key set."""
    from tsxbot.config.secrets import Secrets

    secrets = Secrets(
        internal_api_key=Secret(API_KEY),
        telegram_bot_token=Secret(TOKEN),
        discord_webhook_url=Secret(f"{chat.base}/discord/1/secret-part"),
        slack_webhook_url=Secret(f"{chat.base}/slack/T0/B0/secret"),
        alert_webhook_url=Secret(f"{chat.base}/hook"),
    )
    return dataclasses.replace(config, secrets=secrets)
