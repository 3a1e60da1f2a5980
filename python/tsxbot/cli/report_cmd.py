"""``tsxbot report``: P&L and trade statistics from the journal, as terminal tables, HTML, JSON, CSV."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from tsxbot.cli.common import EXIT_CONFIG, EXIT_OK, add_config_options, load_or_exit
from tsxbot.pnl.contract import ContractSpec, spec_for
from tsxbot.pnl.ledger import UnknownSymbolError
from tsxbot.report import build_report, print_report, write_csv, write_html, write_json
from tsxbot.report.model import OrderInfo


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("report", help="P&L report from the trade journal")
    parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE", help="first trading day")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="last trading day")
    parser.add_argument("--bot", metavar="ID", help="one bot only")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="write trades.csv, days.csv, bots.csv")
    parser.add_argument("--journal", metavar="URL", help="journal database URL (default: journal.url)")
    add_config_options(parser)
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from tsxbot.journal import JournalStore, JournalUrlError, execution, make_engine
    from tsxbot.journal.database import current_revision, head_revision

    config = load_or_exit(args)
    journal = config.global_config.journal
    url = args.journal or journal.url
    if args.date_from and args.date_to and args.date_from > args.date_to:
        print(f"tsxbot: --from {args.date_from} is after --to {args.date_to}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        engine = make_engine(url)
    except JournalUrlError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        revision = current_revision(engine)
        if revision is None:
            print(f"tsxbot: {url} is not a tsxbot journal (no schema revision)", file=sys.stderr)
            return EXIT_CONFIG
        if revision != head_revision():
            print(
                f"tsxbot: the journal is at schema {revision}; tsxbot upgrades it when it next writes",
                file=sys.stderr,
            )
        store = JournalStore(engine)
        records = store.fills(bot_id=args.bot)
        statuses = store.final_statuses()
        excursions = {t.key: (t.mae, t.mfe) for t in store.trades(bot_id=args.bot)}
        orders = [
            OrderInfo(
                order_id=o.key,
                bot_id=o.bot_id or "",
                symbol=o.symbol,
                quantity=o.quantity,
                ts_ns=o.ts_ns,
                signal_price=o.signal_price,
                signal_ns=o.signal_ns,
                final_status=statuses.get(o.key),
            )
            for o in store.orders(bot_id=args.bot)
        ]
    finally:
        engine.dispose()

    specs: dict[str, ContractSpec] = {}

    def spec(symbol: str) -> ContractSpec:
        if symbol not in specs:
            if symbol not in config.instruments:
                raise UnknownSymbolError(
                    f"the journal has fills for {symbol!r}, not in the instruments table"
                )
            specs[symbol] = spec_for(config.instruments.get(symbol), config.global_config.simulator.exchange)
        return specs[symbol]

    capital = journal.capital or config.global_config.risk.starting_balance
    try:
        report = build_report(
            [execution(f) for f in records],
            spec,
            capital=capital,
            date_from=args.date_from,
            date_to=args.date_to,
            bot=args.bot,
            orders=orders,
            order_of_fill={f.key: f.order_id for f in records if f.order_id is not None},
            excursions=excursions,
        )
    except UnknownSymbolError as exc:
        print(f"tsxbot: {exc.args[0]}", file=sys.stderr)
        return EXIT_CONFIG
    print_report(report)
    if args.html:
        write_html(report, args.html)
        print(f"HTML report: {args.html}")
    if args.json:
        write_json(report, args.json)
        print(f"JSON report: {args.json}")
    if args.csv:
        for path in write_csv(report, args.csv):
            print(f"CSV: {path}")
    return EXIT_OK
