"""Builds the notifier from the config: one outbox per channel (per Telegram chat), the
aggregator's API client, the Telegram command reader and the command journal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx

from tsxbot.aggregator.trading_state import ExchangeClock
from tsxbot.alerts.aggregator_client import AggregatorClient
from tsxbot.alerts.command_journal import CommandJournal
from tsxbot.alerts.outbox import Outbox, RetryPolicy
from tsxbot.alerts.service import AlertService, Route
from tsxbot.alerts.telegram_control import TelegramControl
from tsxbot.alerts.transports import (
    DiscordTransport,
    SlackTransport,
    TelegramApi,
    TelegramTransport,
    Transport,
    WebhookTransport,
)
from tsxbot.bus import MessageBus
from tsxbot.config import Config
from tsxbot.config.alerts import RouteConfig
from tsxbot.config.secrets import Secret


class AlertsSetupError(RuntimeError):
    """An enabled channel without its secret in the environment (the message names the variable)."""


def _secret(value: Secret | None, variable: str, what: str) -> Secret:
    if not value:
        raise AlertsSetupError(
            f"{what} is enabled but {variable} is not set (secrets come from the environment only)"
        )
    return value


def build_alerts(
    config: Config,
    bus: MessageBus,
    clock: Callable[[], dt.datetime] | None = None,
    aggregator_url: Callable[[], str] | None = None,
    *,
    in_process_group: bool = False,
) -> AlertService | None:
    """None when ``alerts.enabled`` is false. ``clock``: the exchange's (the embedded simulator's
    in run-all); without one it is read from the timestamps of the exchange's events on the bus
    (fills and the bots' instruments' quotes). ``aggregator_url``: where its API is (default
    ``services.aggregator``). ``in_process_group``: run-all's, see ``AlertService``."""
    settings = config.global_config.alerts
    if not settings.enabled:
        return None
    secrets = config.secrets
    timeout = settings.request_timeout_seconds
    http = httpx.AsyncClient(timeout=httpx.Timeout(timeout))
    policy = RetryPolicy(settings.retry_attempts, settings.retry_base_seconds, settings.retry_cap_seconds)

    def outbox(transport: Transport, route: RouteConfig) -> Route:
        box = Outbox(
            transport,
            capacity=settings.queue_capacity,
            coalesce_s=settings.coalesce_seconds,
            dedup_s=settings.dedup_seconds,
            per_minute=route.max_per_minute,
            policy=policy,
        )
        return Route(box, route)

    routes: list[Route] = []
    telegram = settings.telegram
    api: TelegramApi | None = None
    if telegram.enabled:
        token = _secret(secrets.telegram_bot_token, "TELEGRAM_BOT_TOKEN", "alerts.telegram")
        api = TelegramApi(http, telegram.api_url, token)
        routes += [outbox(TelegramTransport(api, chat), telegram) for chat in telegram.chat_ids]
    if settings.discord.enabled:
        url = _secret(secrets.discord_webhook_url, "DISCORD_WEBHOOK_URL", "alerts.discord")
        routes.append(outbox(DiscordTransport(http, url), settings.discord))
    if settings.slack.enabled:
        url = _secret(secrets.slack_webhook_url, "SLACK_WEBHOOK_URL", "alerts.slack")
        routes.append(outbox(SlackTransport(http, url), settings.slack))
    if settings.webhook.enabled:
        url = _secret(secrets.alert_webhook_url, "TSXBOT_ALERT_WEBHOOK_URL", "alerts.webhook")
        routes.append(outbox(WebhookTransport(http, url), settings.webhook))

    from tsxbot.connection_manager.factory import internal_api_key

    endpoint = config.global_config.services.aggregator
    default_url = f"http://{endpoint.host}:{endpoint.api_port}"
    aggregator = AggregatorClient(http, aggregator_url or (lambda: default_url), internal_api_key(config))
    observe = None
    symbols: list[str] = []
    if clock is None:
        exchange = ExchangeClock()
        clock, observe = exchange.now, exchange.observe
        symbols = sorted({b.instrument.symbol for b in config.enabled_bots})
    journal_settings = config.global_config.journal
    journal = CommandJournal(journal_settings.url) if journal_settings.enabled else None
    control = (
        TelegramControl(api, telegram, aggregator, journal, clock, policy)
        if api is not None and telegram.commands
        else None
    )
    return AlertService(
        settings,
        bus,
        routes,
        http,
        aggregator,
        bot_ids=[b.id for b in config.enabled_bots],
        clock=clock,
        control=control,
        journal=journal if control is not None else None,
        observe=observe,
        market_symbols=symbols,
        in_process_group=in_process_group,
    )
