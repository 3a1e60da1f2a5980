"""``config/global.yaml``: system-wide settings, service endpoints, account risk, feature flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

import msgspec

from tsxbot.config.alerts import AlertsConfig
from tsxbot.config.limits import RateLimit
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.config.types import (
    Host,
    Identifier,
    LogLevel,
    Money,
    NonNegativeFloat,
    NonNegativeInt,
    Port,
    PositiveFloat,
    PositiveInt,
    PositiveMoney,
    TimeOfDay,
    TimeZoneName,
)


class Section(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """Base of every config section: camelCase keys, unknown keys refused, immutable."""


class SystemConfig(Section, frozen=True):
    environment: Literal["development", "production"] = "development"
    log_level: LogLevel = "INFO"
    log_dir: str = "logs"
    # "console" for people at a terminal, "json" for log shippers; files are always JSON lines.
    console_format: Literal["console", "json"] = "console"
    log_retention_days: PositiveInt = 14
    log_max_bytes: PositiveInt = 50 * 1024 * 1024


class BusConfig(Section, frozen=True):
    # "memory": everything in one process (run-all's default). "redis": services over Redis.
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Prefix of every Redis key and pub/sub channel, so several deployments can share one Redis.
    namespace: Identifier = "tsxbot"
    # Messages a publisher holds while Redis is down or slow, per kind (durable and ephemeral):
    # ephemeral ones beyond it drop the oldest (counted); durable ones make publish wait.
    publish_buffer_size: PositiveInt = 100_000
    # Per subscription: ephemeral messages waiting for a slow consumer (then the oldest is dropped,
    # counted), and durable messages delivered but not yet acknowledged (then publishers wait
    # in-process; over Redis the rest stays in the stream).
    consumer_buffer_size: PositiveInt = 10_000
    # How long a durable publish waits for room before it raises BusFullError.
    durable_publish_timeout_seconds: PositiveFloat = 10.0
    # Over Redis a durable stream keeps every entry some consumer group has not acknowledged (it is
    # trimmed only of entries every group has): a stream longer than this means a group is that far
    # behind, reported as an error (log, metrics streamsOverLimit and laggingGroup), never a silent
    # loss. A stream no group reads yet keeps its newest this many. In-process: the latter only.
    stream_max_len: PositiveInt = 100_000
    # How often a publisher trims the durable streams it writes to (over Redis).
    stream_trim_interval_seconds: PositiveFloat = 5.0
    # How long a consumer group remembers a handled message id (duplicates within it are skipped).
    dedupe_window_seconds: PositiveInt = 86_400
    # A pending durable message idle this long at a consumer is claimed by another of its group.
    claim_idle_seconds: PositiveFloat = 60.0
    # Messages per Redis round trip (pipelined writes, XREADGROUP COUNT).
    batch_size: PositiveInt = 1_000
    # Reconnect with exponential backoff and jitter between these two delays.
    reconnect_initial_seconds: PositiveFloat = 0.05
    reconnect_max_seconds: PositiveFloat = 5.0
    connect_timeout_seconds: PositiveFloat = 2.0
    command_timeout_seconds: PositiveFloat = 5.0
    # At start, how long to wait for Redis before it is a start-up error (naming the URL).
    startup_timeout_seconds: PositiveFloat = 10.0
    # Durable messages Redis had not confirmed when the bus closed are kept here (files under
    # <spillDir>/<namespace>/, relative to the working directory) and sent first at the next start.
    spill_dir: str = ".tsxbot/spill"

    def problems(self) -> Iterable[tuple[str, str]]:
        if not self.spill_dir.strip():
            yield "spillDir", "must name a directory"
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            yield "redisUrl", f"expected a redis://, rediss:// or unix:// URL, got {self.redis_url!r}"
        if self.reconnect_max_seconds < self.reconnect_initial_seconds:
            yield "reconnectMaxSeconds", "is smaller than reconnectInitialSeconds"


class GatewaySettings(Section, frozen=True):
    """How the gateway talks to TopStepX: timeouts, retries, client-side rate limits, hubs."""

    request_timeout_seconds: PositiveFloat = 10.0
    # Retries of a request whose outcome is unknown (timeout, 5xx, 429); orders are looked up by
    # their customTag before any retry, so a retry never doubles one.
    max_retries: NonNegativeInt = 4
    retry_base_seconds: PositiveFloat = 0.25
    retry_cap_seconds: PositiveFloat = 10.0
    # ProjectX documents 200 requests / 60 s overall and 50 (or 30) / 30 s for History.
    rate_limit: RateLimit = msgspec.field(default_factory=lambda: RateLimit(requests=200, period_seconds=60))
    history_rate_limit: RateLimit = msgspec.field(
        default_factory=lambda: RateLimit(requests=30, period_seconds=30)
    )
    circuit_failures: PositiveInt = 5
    circuit_cooldown_seconds: PositiveFloat = 15.0
    # Refresh the 24 h session token this long before it expires.
    token_refresh_margin_seconds: PositiveFloat = 3600.0
    # Hubs: reconnect delays (the last repeats), and how long a subscribed market may stay silent
    # during its trading session before the connection is treated as dead.
    reconnect_delays_seconds: list[NonNegativeFloat] = msgspec.field(
        default_factory=lambda: [0.0, 1.0, 2.0, 5.0, 10.0]
    )
    stale_feed_seconds: PositiveFloat = 30.0
    hub_keepalive_seconds: PositiveFloat = 15.0
    # Besides after every reconnect, compare orders, fills and positions with the exchange this
    # often: a hub event lost in transit is then corrected within this time.
    reconcile_interval_seconds: PositiveFloat = 60.0
    # An order command older than this when it reaches the connection manager (by its envelope's
    # timestamp) is refused, not executed late (after a restart, a backlog, a stalled consumer).
    command_max_age_seconds: PositiveFloat = 30.0


class TopstepxConfig(Section, frozen=True):
    # "simulator": the embedded TopStepX simulator (no credentials). "live": the real gateway.
    target: Literal["simulator", "live"] = "simulator"
    api_url: str = "https://api.topstepx.com"
    user_hub_url: str = "https://rtc.topstepx.com/hubs/user"
    market_hub_url: str = "https://rtc.topstepx.com/hubs/market"
    # Which account to trade; None picks the first active account that can trade.
    account_id: int | None = None
    account_name: str | None = None
    # ProjectX `live` flag for contract search and history (false for eval and practice accounts).
    live_data: bool = False
    gateway: GatewaySettings = msgspec.field(default_factory=GatewaySettings)

    def problems(self) -> Iterable[tuple[str, str]]:
        for key, url in (
            ("apiUrl", self.api_url),
            ("userHubUrl", self.user_hub_url),
            ("marketHubUrl", self.market_hub_url),
        ):
            if not url.startswith(("http://", "https://", "ws://", "wss://")):
                yield key, f"expected an http(s):// or ws(s):// URL, got {url!r}"


class Endpoint(Section, frozen=True):
    host: Host = "127.0.0.1"
    port: Port = 7500


class AggregatorEndpoints(Section, frozen=True):
    host: Host = "127.0.0.1"
    api_port: Port = 7600
    monitoring_port: Port = 7700


class ServicesConfig(Section, frozen=True):
    connection_manager: Endpoint = msgspec.field(default_factory=lambda: Endpoint(port=7500))
    aggregator: AggregatorEndpoints = msgspec.field(default_factory=AggregatorEndpoints)
    manual_trading: Endpoint = msgspec.field(default_factory=lambda: Endpoint(port=7400))
    control_panel: Endpoint = msgspec.field(default_factory=lambda: Endpoint(port=3000))

    def problems(self) -> Iterable[tuple[str, str]]:
        ports = {
            "connectionManager.port": (self.connection_manager.host, self.connection_manager.port),
            "aggregator.apiPort": (self.aggregator.host, self.aggregator.api_port),
            "aggregator.monitoringPort": (self.aggregator.host, self.aggregator.monitoring_port),
            "manualTrading.port": (self.manual_trading.host, self.manual_trading.port),
            "controlPanel.port": (self.control_panel.host, self.control_panel.port),
        }
        seen: dict[tuple[str, int], str] = {}
        for key, addr in ports.items():
            if addr in seen:
                yield key, f"port {addr[1]} is already used by {seen[addr]}"
            seen[addr] = key


class TradingHours(Section, frozen=True):
    start: TimeOfDay = "17:00"
    end: TimeOfDay = "15:10"
    timezone: TimeZoneName = "America/Chicago"

    def problems(self) -> Iterable[tuple[str, str]]:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.start == self.end:
            yield "end", "the trading window is empty (start equals end)"
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield (
                "timezone",
                f"unknown time zone {self.timezone!r} (use an IANA name such as America/Chicago)",
            )


class AccountRisk(Section, frozen=True):
    """Account-level limits the aggregator enforces before any order reaches TopStepX."""

    max_daily_loss: PositiveMoney = 1000.0
    # Stop trading for the day once this much is made; None disables the profit stop.
    max_daily_profit: PositiveMoney | None = None
    # Trailing maximum loss (TopStepX's Maximum Loss Limit) and how it trails.
    max_drawdown: PositiveMoney = 2000.0
    drawdown_mode: Literal["endOfDay", "intraday"] = "endOfDay"
    starting_balance: PositiveMoney = 50_000.0
    # Open contracts across the account, in mini-equivalents (micros count per the table).
    max_open_contracts: PositiveInt = 5
    max_contracts_per_symbol: PositiveInt = 5
    max_order_size: PositiveInt = 5
    max_orders_per_minute: PositiveInt = 30
    # Fraction of the account's contract limit one symbol may take.
    max_concentration: float = 1.0
    trading_hours: TradingHours = msgspec.field(default_factory=TradingHours)
    blocked_dates: list[dt.date] = msgspec.field(default_factory=list)
    # Flatten everything at this time (TopStepX auto-flattens near 15:10 CT); None disables.
    flatten_at: TimeOfDay | None = "15:08"
    available_margin: Money | None = None

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.max_drawdown < self.max_daily_loss:
            yield (
                "maxDailyLoss",
                f"the daily loss limit ({self.max_daily_loss:g}) is larger than the maximum "
                f"drawdown ({self.max_drawdown:g}): the drawdown would always be hit first",
            )
        if self.max_drawdown >= self.starting_balance:
            yield "maxDrawdown", "the maximum drawdown must be smaller than the starting balance"
        if self.max_contracts_per_symbol > self.max_open_contracts:
            yield "maxContractsPerSymbol", "is larger than maxOpenContracts for the whole account"
        if self.max_order_size > self.max_open_contracts:
            yield "maxOrderSize", "is larger than maxOpenContracts for the whole account"
        if not 0 < self.max_concentration <= 1:
            yield "maxConcentration", f"expected a fraction in (0, 1], got {self.max_concentration:g}"


class CorrelationGroup(Section, frozen=True):
    """Instruments that move together: their open contracts (in mini-equivalents, same direction
    adding up, opposite directions netting) share one limit."""

    name: Identifier
    symbols: list[str]
    max_contracts: PositiveFloat


def _default_groups() -> list[CorrelationGroup]:
    return [
        CorrelationGroup(
            name="equity_indices",
            symbols=["ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K"],
            max_contracts=3.0,
        ),
        CorrelationGroup(name="metals", symbols=["GC", "MGC"], max_contracts=3.0),
        CorrelationGroup(name="energy", symbols=["CL", "MCL"], max_contracts=3.0),
    ]


class AggregatorSettings(Section, frozen=True):
    """The trading aggregator: its order queue, account trading state and policies."""

    # Orders waiting to be sent; one more is refused (QUEUE_FULL).
    max_queue_size: PositiveInt = 1_000
    # An order still queued after this long is refused (QUEUE_EXPIRED), never sent late.
    max_queue_seconds: PositiveFloat = 5.0
    # One account-wide pace for every command sent to the connection manager (all bots together,
    # under TopStepX's 200 requests / 60 s): a token bucket of this rate and burst.
    commands_per_second: PositiveFloat = 3.0
    command_burst: PositiveInt = 10
    # Daily loss limit hit: HALTED, and also flatten everything when true.
    flatten_on_daily_loss: bool = True
    # REDUCING (no new entries) once equity is within this many dollars of the trailing
    # Maximum Loss Limit's floor.
    reducing_distance: NonNegativeFloat = 250.0
    # Circuit breaker: this many rejections, command errors or disconnects within the window
    # halt new entries (REDUCING) until resumed.
    circuit_breaker_count: PositiveInt = 5
    circuit_breaker_window_seconds: PositiveFloat = 60.0
    # Fills that belong to no known bot (a manual trade on the platform): "reduce" (counted in the
    # account's risk, the account goes REDUCING until that position is flat), "halt" (HALTED), or
    # "track" (counted in the account's risk only).
    unattributed_fills: Literal["reduce", "halt", "track"] = "reduce"
    # A bot silent longer than this is reported stale (its positions keep their exchange stops).
    heartbeat_timeout_seconds: PositiveFloat = 30.0
    # Refuse orders (UNKNOWN_BOT) from a configured bot until it has registered (BOT_REGISTRATION);
    # an unconfigured bot is always refused.
    require_registration: bool = False
    correlation_groups: list[CorrelationGroup] = msgspec.field(default_factory=_default_groups)


class FeatureFlags(Section, frozen=True):
    start_trading_aggregator: bool = True
    enable_monitoring: bool = True
    enable_redis_metrics: bool = True


MAX_JOURNAL_DELAY_MS = 1000


class JournalConfig(Section, frozen=True):
    """The trade journal (README "P&L, the journal and reports")."""

    # The aggregator writes the journal (off: nothing is recorded, and a restart without the
    # aggregator's state snapshot starts the day's P&L from zero).
    enabled: bool = True

    # A SQLAlchemy URL. The default is a SQLite file in the working directory (relative path);
    # postgresql+psycopg://user:password@host/db selects PostgreSQL.
    url: str = "sqlite:///tsxbot-journal.db"
    # Records waiting for the writer; one more is refused (and replayed from the bus later).
    queue_capacity: PositiveInt = 10_000
    # The writer waits until no record has come for quietMs and no order is on its way to the
    # exchange (sent, not answered yet), or the oldest waiting is maxDelayMs old, and then writes
    # what has gathered in one transaction, so the database work does not share the CPU with an
    # order on its way. A wait that holds trading back (the aggregator's save, its stop) hurries
    # it. 0: at once.
    quiet_ms: NonNegativeInt = 5
    max_delay_ms: NonNegativeInt = 200
    # The capital daily returns are measured against (Sharpe, Sortino); unset: risk.startingBalance.
    capital: PositiveMoney | None = None

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.max_delay_ms > MAX_JOURNAL_DELAY_MS:
            yield (
                "maxDelayMs",
                f"at most {MAX_JOURNAL_DELAY_MS} (a batch is acknowledged only once its rows are "
                f"written; the aggregator waits 2 s for them)",
            )
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(self.url)
            url.get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            yield "url", f"not a usable database URL ({exc}); use sqlite:///FILE or postgresql+psycopg://..."
            return
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            yield (
                "url",
                f"{url.get_backend_name()} is not supported; use sqlite:///FILE or postgresql+psycopg://...",
            )


class GlobalConfig(Section, frozen=True):
    system: SystemConfig = msgspec.field(default_factory=SystemConfig)
    bus: BusConfig = msgspec.field(default_factory=BusConfig)
    topstepx: TopstepxConfig = msgspec.field(default_factory=TopstepxConfig)
    simulator: SimulatorConfig = msgspec.field(default_factory=SimulatorConfig)
    services: ServicesConfig = msgspec.field(default_factory=ServicesConfig)
    risk: AccountRisk = msgspec.field(default_factory=AccountRisk)
    aggregator: AggregatorSettings = msgspec.field(default_factory=AggregatorSettings)
    features: FeatureFlags = msgspec.field(default_factory=FeatureFlags)
    # Extra directories searched for user strategies (relative to the config directory).
    strategy_paths: list[str] = msgspec.field(default_factory=list)
    journal: JournalConfig = msgspec.field(default_factory=JournalConfig)
    # Alerts and remote control (Telegram, Discord, Slack, a JSON webhook): off unless configured.
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
