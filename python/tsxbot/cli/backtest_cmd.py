"""``tsxbot backtest``: one bot's strategy on recorded or synthetic history (``tsxbot.backtest``),
reported as ``tsxbot report`` reports live trading (terminal tables, HTML, JSON) plus the trade
list with each entry's and exit's reason."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tsxbot.cli.common import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, load_or_exit
from tsxbot.config import Config
from tsxbot.config.loader import BotSettings

if TYPE_CHECKING:
    from tsxbot.backtest import BacktestResult, FillSettings, MinuteBars

# History before --from fed to the strategy without trading (as a live bot's warm-up).
WARMUP_DAYS = 4
_DAY_NS = 86_400 * 1_000_000_000


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The bot, the data and the fill model: shared by ``backtest`` and ``optimize``."""
    parser.add_argument("--bot", required=True, metavar="FILE_OR_ID", help="the bot's YAML (or its id)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data",
        type=Path,
        action="append",
        metavar="FILE",
        help="CSV, Parquet or Databento DBN, trades or bars (repeatable)",
    )
    source.add_argument("--synthetic", action="store_true", help="the simulator's seeded synthetic market")
    parser.add_argument("--days", type=int, default=20, help="--synthetic: trading days (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="--synthetic: seed (default 42)")
    parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE", help="first trading day")
    parser.add_argument(
        "--to",
        dest="date_to",
        type=_date,
        metavar="DATE",
        help="last trading day (--synthetic: default today)",
    )
    parser.add_argument(
        "--slippage-ticks",
        type=int,
        default=0,
        metavar="N",
        help="market orders fill N ticks worse (default 0)",
    )
    parser.add_argument(
        "--limit-fill",
        choices=("through", "touch"),
        default="through",
        help="a limit fills when the bar trades through it by a tick (default) or touches it",
    )
    parser.add_argument(
        "--no-account-checks", action="store_true", help="skip the aggregator's RiskEngine checks"
    )
    parser.add_argument(
        "--config-dir", metavar="DIR", help="config directory (default: the bot file's, or as usual)"
    )
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[])
    parser.add_argument("--env-file", metavar="FILE")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("backtest", help="run a bot's strategy on history")
    add_run_options(parser)
    parser.add_argument(
        "--fill-model",
        choices=("bars", "exchange"),
        default="bars",
        help="bars (fast, default) or exchange (one --data file's prints through the simulator's exchange)",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the result as JSON")
    parser.add_argument("--trades-csv", type=Path, metavar="FILE", help="write the trade list as CSV")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no tables")
    parser.set_defaults(handler=_backtest)


def load_bot(args: argparse.Namespace) -> tuple[Config, BotSettings]:
    """The config and the bot: ``--bot`` a YAML path (its config dir is the file's parent's
    parent when that holds a global.yaml) or a bot id."""
    path = Path(args.bot)
    if args.config_dir is None and path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            print(f"tsxbot: --bot {path}: file not found", file=sys.stderr)
            raise SystemExit(EXIT_CONFIG)
        parent = path.resolve().parent.parent
        if (parent / "global.yaml").is_file():
            args.config_dir = str(parent)
    config = load_or_exit(args)
    if path.suffix in (".yaml", ".yml"):
        resolved = path.resolve()
        for settings in config.bots.values():
            if Path(settings.source).resolve() == resolved or Path(settings.source).name == path.name:
                return config, settings
        print(f"tsxbot: --bot {path}: not a bot of the config in {config.config_dir}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    if args.bot not in config.bots:
        print(
            f"tsxbot: --bot {args.bot}: no such bot (known: {', '.join(sorted(config.bots))})",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_CONFIG)
    return config, config.bots[args.bot]


class Period(NamedTuple):
    traded: MinuteBars
    warmup: MinuteBars | None
    source: str


def load_period(args: argparse.Namespace, config: Config, settings: BotSettings) -> Period:
    """The bars to trade and their warm-up, from ``--data`` or ``--synthetic`` and ``--from/--to``;
    ``DataError`` when there are none."""
    from tsxbot.backtest import DataError, load_bars, synthetic_bars
    from tsxbot.backtest.data import sessions_ending
    from tsxbot.sim.sessions import SessionCalendar

    instrument = settings.instrument
    calendar = SessionCalendar(instrument.sessions)
    if args.synthetic:
        last = args.date_to or dt.datetime.now(dt.UTC).date()
        # WARMUP_DAYS more sessions before the traded ones: the warm-up.
        bars = synthetic_bars(instrument, args.days + WARMUP_DAYS, args.seed, last)
        source = f"synthetic seed {args.seed}, {args.days} days to {last}"
        first_day = args.date_from or sessions_ending(instrument, last, args.days)[0].trading_date
    else:
        bars = load_bars(args.data, instrument.symbol, config.global_config.simulator, config.instruments)
        source = ", ".join(str(p) for p in args.data)
        first_day = args.date_from
    start_ns = None
    if first_day is not None:
        session = calendar.session_on(first_day)
        start_ns = session.open_ns if session is not None else _midnight(first_day)
    end_ns = None
    if args.date_to is not None:
        session = calendar.session_on(args.date_to)
        end_ns = session.close_ns if session is not None else _midnight(args.date_to + dt.timedelta(days=1))
    traded = bars.between(start_ns, end_ns)
    warmup = bars.between(start_ns - WARMUP_DAYS * _DAY_NS, start_ns) if start_ns is not None else None
    if not len(traded):
        raise DataError(f"no {instrument.symbol} bars in the period ({source})")
    return Period(traded, warmup, source)


def check_common(args: argparse.Namespace) -> str | None:
    """The problem with the shared options, if any."""
    if args.date_from and args.date_to and args.date_from > args.date_to:
        return f"--from {args.date_from} is after --to {args.date_to}"
    if args.slippage_ticks < 0:
        return f"--slippage-ticks must be >= 0, got {args.slippage_ticks}"
    return None


def _backtest(args: argparse.Namespace) -> int:
    from tsxbot.backtest import DataError, FillSettings, StrategyError, write_trades_csv
    from tsxbot.backtest.html import write_backtest_html

    problem = check_common(args)
    if problem is None and args.fill_model == "exchange" and (args.synthetic or len(args.data) != 1):
        problem = "--fill-model exchange replays one --data file"
    if problem:
        print(f"tsxbot: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    config, settings = load_bot(args)
    try:
        traded, warmup, source = load_period(args, config, settings)
    except DataError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        fills = FillSettings(slippage_ticks=args.slippage_ticks, limit_fill=args.limit_fill)
    except ValueError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        result = _run(args, config, settings, fills, traded, warmup, source)
    except StrategyError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not args.quiet:
        from tsxbot.report import print_report

        out = Console()
        print_report(result.report, out)
        out.print(_trades_table(result))
        out.print(
            f"{result.data.bars:,} bars in {result.timing.seconds:.2f} s; "
            f"{len(result.fills)} fills, {len(result.trades)} trades; skips {result.skips or '-'}, "
            f"refused {result.refusals or '-'}"
        )
    if args.html:
        write_backtest_html(result, args.html)
        print(f"HTML report: {args.html}")
    if args.json:
        result.write_json(args.json)
        print(f"JSON: {args.json}")
    if args.trades_csv:
        write_trades_csv(result, args.trades_csv)
        print(f"trades CSV: {args.trades_csv}")
    return EXIT_OK


def _run(
    args: argparse.Namespace,
    config: Config,
    settings: BotSettings,
    fills: FillSettings,
    traded: MinuteBars,
    warmup: MinuteBars | None,
    source: str,
) -> BacktestResult:
    """The run, with a rich progress bar on the terminal unless ``--quiet``."""
    from tsxbot.backtest import Backtest
    from tsxbot.backtest.data import load_series
    from tsxbot.backtest.exchange_model import ExchangeBacktest

    checks = not args.no_account_checks
    backtest: Backtest
    if args.fill_model == "exchange":
        simulator = config.global_config.simulator
        series = load_series(args.data[0], settings.instrument.symbol, simulator, config.instruments)
        backtest = ExchangeBacktest(settings, config, series, fills, account_checks=checks)
    else:
        backtest = Backtest(settings, config, fills, account_checks=checks)
    if args.quiet:
        return backtest.run(traded, warmup=warmup, source=source)
    with Progress(
        TextColumn(f"backtest {settings.id} {settings.instrument.symbol}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("bars"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("bars", total=len(traded))
        return backtest.run(
            traded, warmup=warmup, source=source, progress=lambda n: progress.advance(task, n)
        )


def _midnight(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * _DAY_NS


# Trades shown in the terminal (every one is in the JSON, the CSV and the HTML).
SHOWN_TRADES = 30


def _trades_table(result: object) -> Table:
    from tsxbot.backtest import BacktestResult

    assert isinstance(result, BacktestResult)
    trades = result.trades
    title = f"Trades (last {SHOWN_TRADES} of {len(trades)})" if len(trades) > SHOWN_TRADES else "Trades"
    table = Table(title=title)
    for name in ("entry", "side", "qty", "entry price", "exit price", "net", "entry reason", "exit reason"):
        table.add_column(
            name, justify="right" if name in ("qty", "entry price", "exit price", "net") else "left"
        )
    for t in trades[-SHOWN_TRADES:]:
        table.add_row(
            t.entry_time.isoformat(timespec="minutes"),
            t.direction,
            str(t.quantity),
            f"{t.entry_price:g}",
            f"{t.exit_price:g}",
            f"{t.net_pnl:,.2f}",
            t.entry_reason,
            t.exit_reason,
        )
    return table
