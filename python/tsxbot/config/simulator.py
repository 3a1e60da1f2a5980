"""``simulator:`` in ``global.yaml``: the embedded TopStepX simulator (``tsxbot sim``).

Everything the ProjectX reference marks "unconfirmed" is a setting here, so tests can run the
client against either reading. The defaults follow the reference where it is firm and ASP.NET's
defaults where the server is plain SignalR.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import msgspec

from tsxbot.config.limits import RateLimit
from tsxbot.config.types import (
    Host,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    PositiveMoney,
    TimeOfDay,
)


class _Section(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    pass


# ``simulator.startTime`` values that follow the machine's clock (anything else is a time).
START_MODES = ("auto", "now")

# 0 = any free port (tests).
ListenPort = Annotated[int, msgspec.Meta(ge=0, le=65535, description="a TCP port, 0 = any free one")]
Seconds = Annotated[float, msgspec.Meta(gt=0, description="seconds, > 0")]


class SimCredentials(_Section, frozen=True):
    """The one login the simulator accepts (not a secret: printed at start)."""

    user_name: str = "demo"
    api_key: str = "demo"


BracketMode = Literal["autoOco", "positionBrackets"]


class SimAccount(_Section, frozen=True):
    """One trading account. ``kind`` says what it is; its rules are the fields below (the
    default combine has TopStepX's 50K trailing Maximum Loss Limit and position limit, the
    default practice account neither)."""

    id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    name: str
    kind: Literal["practice", "combine"] = "practice"
    starting_balance: PositiveMoney = 50_000.0
    # TopStepX -> Settings -> Risk. The platform's default is positionBrackets; bots use autoOco.
    bracket_mode: BracketMode = "autoOco"
    # Trailing Maximum Loss Limit in USD; None = no such rule (practice default).
    max_loss: PositiveMoney | None = None
    # Legacy daily loss limit (a "soft breach": flatten, no trading until the next session).
    daily_loss_limit: PositiveMoney | None = None
    # Maximum position in mini-equivalents (micros count 10:1); None = unlimited.
    max_contracts: PositiveFloat | None = None
    can_trade: bool = True
    is_visible: bool = True
    simulated: bool = True


def _default_accounts() -> list[SimAccount]:
    return [
        SimAccount(
            id=1001,
            name="50KTC-V2-1001-0001",
            kind="combine",
            max_loss=2000.0,
            max_contracts=5.0,
        ),
        SimAccount(id=1002, name="PRAC-V2-1001-0002", kind="practice"),
    ]


class HubSettings(_Section, frozen=True):
    """SignalR server timings (ASP.NET HubOptions) and ProjectX payload choices."""

    keep_alive_interval: Seconds = 15.0
    client_timeout_interval: Seconds = 30.0
    handshake_timeout: Seconds = 15.0
    # User-hub events: "bare" objects, or "wrapped" as {"action": 1, "data": {...}}.
    user_payload: Literal["bare", "wrapped"] = "bare"
    # When a connection's token expires: keep it open (ASP.NET default) or send Close.
    on_token_expiry: Literal["keepOpen", "close"] = "close"
    # Send each GatewayQuote with every field, or only what changed (merged by the client).
    partial_quotes: bool = False
    # Above this many queued bytes a connection is a slow consumer: the feed waits for it up
    # to slowConsumerGrace seconds, then the connection is closed.
    max_queued_bytes: PositiveInt = 4 * 1024 * 1024
    slow_consumer_grace: Seconds = 10.0


class RateLimits(_Section, frozen=True):
    enabled: bool = True
    # Who a bucket belongs to (unconfirmed on the real gateway).
    scope: Literal["token", "user", "ip"] = "user"
    all: RateLimit = msgspec.field(default_factory=lambda: RateLimit(requests=200, period_seconds=60.0))
    history: RateLimit = msgspec.field(default_factory=lambda: RateLimit(requests=50, period_seconds=30.0))
    # How "N requests / W s" is counted: "slidingWindow" = at most N in any W seconds (the
    # documented wording); "tokenBucket" = N tokens refilled at N/W per second (lets up to 2N
    # through in the first W seconds).
    algorithm: Literal["slidingWindow", "tokenBucket"] = "slidingWindow"
    # History/retrieveBars counts against the general limit too ("All endpoints: 200 / 60 s"),
    # not only its own.
    history_counts_against_all: bool = True
    # Send Retry-After (seconds) with a 429 (unconfirmed on the real gateway).
    retry_after_header: bool = False


class AuthSettings(_Section, frozen=True):
    token_lifetime: Seconds = 24 * 3600.0
    # Auth/validate with an expired token: HTTP 401, errorCode 3 (ExpiredToken), or a new token.
    validate_expired: Literal["unauthorized", "errorCode", "renew"] = "unauthorized"


class MarketSettings(_Section, frozen=True):
    # Trading days of history behind the clock at start (the History endpoint serves them).
    history_days: Annotated[int, msgspec.Meta(ge=30, le=400)] = 35
    # Trade prints generated per contract per minute at most (CPU bound in real time).
    max_trades_per_minute: Annotated[int, msgspec.Meta(ge=4, le=6000)] = 240
    depth_levels: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10
    # The symbol the recorded data belongs to when the file does not say.
    replay_symbol: str | None = None


class ExchangeSettings(_Section, frozen=True):
    # TopStepX ends the trading day and flattens open positions at this time (exchange time).
    auto_flatten_at: TimeOfDay | None = "15:10"
    # Reject orders from auto-flatten until the next session open (Topstep's day is 17:00-15:10).
    reject_after_flatten: bool = True
    # Fees per contract per side, by symbol; symbols not listed pay feePerSide.
    fee_per_side: NonNegativeFloat = 1.40
    fees: dict[str, NonNegativeFloat] = msgspec.field(
        default_factory=lambda: {
            "MES": 0.37,
            "MNQ": 0.37,
            "MYM": 0.37,
            "M2K": 0.37,
            "MGC": 0.52,
            "MCL": 0.52,
            "CL": 1.52,
            "GC": 1.62,
        }
    )
    # Commission per contract per side, on top of the fees (default none). It is charged to the
    # balance; on the wire it is the trade's `commissions` (wire.tradeCommissions) or, when that
    # field is off, part of `fees`.
    commission_per_side: NonNegativeFloat = 0.0
    # Does Position/closeContract cancel the position's resting bracket orders? (unconfirmed)
    close_cancels_brackets: bool = False
    # Accept StopLimit (type 3) orders; the place docs do not list it (unconfirmed).
    allow_stop_limit: bool = True
    # Accept History unit 7 (Tick): only the newer Swagger lists it (unconfirmed). Off: errorCode 2
    # (UnitInvalid), as for any unit outside the documented 0-6.
    allow_tick_bars: bool = True
    # `t` of day, week and month bars: 00:00 UTC of the (first) trading date, or the open time of
    # the (first) session, e.g. 17:00 CT the evening before (whether `t` is the open is unconfirmed).
    daily_bar_time: Literal["tradingDate", "sessionOpen"] = "tradingDate"
    # Limit above 20,000 on History/retrieveBars: cap it, or answer errorCode 4.
    bar_limit_overflow: Literal["cap", "error"] = "cap"
    # First order id; ids are consecutive and deterministic.
    first_order_id: PositiveInt = 10_001
    # Contract ids that resolve (searchById, place, History...): a month the product lists, in a
    # year from contractYearsBack before the clock's year to contractYearsAhead after it (expired
    # and deferred months). Anything else is ContractNotFound.
    contract_years_back: Annotated[int, msgspec.Meta(ge=0, le=20)] = 5
    contract_years_ahead: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2


class WireSettings(_Section, frozen=True):
    # "mixed": REST with +00:00 and microseconds, hub events with Z and milliseconds (both occur
    # on the real API); "offset" or "zulu" for one style everywhere.
    timestamps: Literal["mixed", "offset", "zulu"] = "mixed"
    # "dotnet": REST prices and P&L with 9 decimal places, fees with 4 (as the docs' samples);
    # "shortest": the shortest JSON number.
    decimals: Literal["dotnet", "shortest"] = "dotnet"
    # The newer Swagger's order fields (trailDistance, trailPrice, parentOrderId, linkedOrderId):
    # on REST only, on REST and hub events, or nowhere.
    order_extras: Literal["rest", "both", "none"] = "rest"
    # ``type`` of the GatewayUserPosition that reports a close (size 0): the side the position
    # had ("lastSide": 1 long, 2 short) or 0 Undefined. The reference only says a close is
    # size 0 and that type 0 does not mean closed; the real value is unconfirmed.
    closed_position_type: Literal["lastSide", "undefined"] = "lastSide"
    # The newer Swagger's `commissions` (decimal) on Trade/search results and GatewayUserTrade
    # events (unconfirmed: no sample shows it, nor whether `fees` includes it).
    trade_commissions: bool = False


FaultBody = dict[str, Any]


class FaultDefaults(_Section, frozen=True):
    """Faults in force from the start. Each is written as the body of the admin API call that
    sets the same fault (``tsxbot.sim.faults.admin``) and parsed by the same code
    (``tsxbot.sim.faults.specs``); times ("seconds") count from the simulator's start. The
    admin API changes them at run time (``DELETE /admin/faults`` clears them)."""

    latency_ms: NonNegativeFloat = 0.0
    latency_jitter_ms: NonNegativeFloat = 0.0
    # POST /admin/faults/http bodies: [{path, status, count? | seconds?, retryAfter?, afterProcessing?}]
    http: list[FaultBody] = msgspec.field(default_factory=list)
    # POST /admin/faults/latency body {ms, jitterMs?, path?} (replaces latencyMs/latencyJitterMs).
    latency: FaultBody | None = None
    # POST /admin/faults/events body {hub?, duplicate?, reorder?, drop?, targets?}.
    events: FaultBody | None = None
    # POST /admin/faults/hub/refuse bodies: [{hub, seconds, status?}].
    hub_refuse: list[FaultBody] = msgspec.field(default_factory=list)
    # POST /admin/faults/hub/handshake bodies: [{hub, error}].
    hub_handshake: list[FaultBody] = msgspec.field(default_factory=list)
    # POST /admin/faults/hub/completions bodies: [{hub, delaySeconds?, drop?}].
    hub_completions: list[FaultBody] = msgspec.field(default_factory=list)
    # POST /admin/faults/tokens/lifetime body {seconds} (overrides auth.tokenLifetime).
    token_lifetime: FaultBody | None = None

    def problems(self) -> Iterable[tuple[str, str]]:
        from tsxbot.sim.faults.specs import configured  # the admin API's parsers (sim -> config)

        yield from configured(self, 0.0).problems


class SimulatorConfig(_Section, frozen=True):
    host: Host = "127.0.0.1"
    port: ListenPort = 7800
    seed: int = 42
    # Replay speed: 1.0 real time, 10.0 ten times faster, 0 as fast as possible.
    speed: float = 1.0
    # Recorded data to replay (CSV, Parquet or Databento DBN); None for the synthetic generator.
    data: str | None = None
    # Simulated time at start: "auto" = now when TopStepX accepts orders now, else the latest
    # weekday's regular open (08:30 CT) before now; "now"; or an ISO-8601 time (UTC when no
    # offset). null = auto. A recording (``data``) starts at its own time unless this is a time.
    start_time: str | None = "auto"
    # Start with the clock paused (it moves only through the admin API).
    paused: bool = False
    credentials: SimCredentials = msgspec.field(default_factory=SimCredentials)
    accounts: list[SimAccount] = msgspec.field(default_factory=_default_accounts)
    hub: HubSettings = msgspec.field(default_factory=HubSettings)
    rate_limits: RateLimits = msgspec.field(default_factory=RateLimits)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    market: MarketSettings = msgspec.field(default_factory=MarketSettings)
    exchange: ExchangeSettings = msgspec.field(default_factory=ExchangeSettings)
    wire: WireSettings = msgspec.field(default_factory=WireSettings)
    faults: FaultDefaults = msgspec.field(default_factory=FaultDefaults)
    # The admin (fault injection) API under /admin; off = 404.
    admin: bool = True

    def pinned_start(self) -> dt.datetime | None:
        """``startTime`` when it is a time (aware, UTC when it has no offset); None for auto/now."""
        if self.start_time is None or self.start_time in START_MODES:
            return None
        when = dt.datetime.fromisoformat(self.start_time.strip())
        return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.start_time is not None and self.start_time not in START_MODES:
            try:
                self.pinned_start()
            except ValueError:
                yield (
                    "startTime",
                    f"expected auto, now or an ISO-8601 time such as 2026-11-24T15:30:00Z,"
                    f" got {self.start_time!r}",
                )
        if self.speed < 0:
            yield "speed", f"expected a speed >= 0 (0 = as fast as possible), got {self.speed:g}"
        seen: set[int] = set()
        for i, account in enumerate(self.accounts):
            if account.id in seen:
                yield f"accounts[{i}].id", f"account id {account.id} is listed twice"
            seen.add(account.id)
        if not self.accounts:
            yield "accounts", "the simulator needs at least one account"


__all__ = [
    "START_MODES",
    "AuthSettings",
    "BracketMode",
    "ExchangeSettings",
    "FaultDefaults",
    "HubSettings",
    "MarketSettings",
    "RateLimits",
    "SimAccount",
    "SimCredentials",
    "SimulatorConfig",
    "WireSettings",
]
