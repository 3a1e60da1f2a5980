"""``tsxbot optimize``: an Optuna search over a bot's strategy parameters, each trial a backtest
(``tsxbot.optimize``): the trials table, the best parameters as a ready bot YAML, the study's
charts in one HTML file, and walk-forward windows led by their out-of-sample results."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from tsxbot.cli.backtest_cmd import WARMUP_DAYS, add_run_options, check_common, load_bot, load_period
from tsxbot.cli.common import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

    from tsxbot.backtest import MinuteBars
    from tsxbot.optimize.study import Optimizer

_NS_DAY = 86_400 * 1_000_000_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("optimize", help="search a bot's strategy parameters (Optuna, backtests)")
    add_run_options(parser)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH[:STEP]|A,B",
        help="a parameter range (camelCase, as in the bot YAML); repeatable",
    )
    parser.add_argument("--space", type=Path, metavar="FILE", help="parameter ranges in a YAML file")
    parser.add_argument("--sampler", choices=("grid", "random", "tpe"), default="tpe")
    parser.add_argument("--trials", type=int, default=50, help="trials in the study (default 50)")
    parser.add_argument("--objective", choices=("net", "sharpe", "profit_factor"), default="net")
    parser.add_argument("--min-trades", type=int, default=10, help="fewer closed trades: pruned (default 10)")
    parser.add_argument("--sampler-seed", type=int, default=None, metavar="N", help="seed of the sampler")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes on this machine (default: cores)",
    )
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="shared study storage: redis://host:port/db, a database URL, or a journal file "
        "(default: a journal file in a temporary directory)",
    )
    parser.add_argument("--study", default=None, metavar="NAME", help="study name (default optimize-<bot>)")
    parser.add_argument(
        "--walk-forward",
        metavar="IN,OUT",
        help="rolling windows: optimise on IN trading days, test the best on the next OUT",
    )
    parser.add_argument("--best-yaml", type=Path, metavar="FILE", help="write the best params as a bot YAML")
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="history, importances, parallel coordinates"
    )
    parser.add_argument(
        "--worker", action="store_true", help="only run trials in the shared study (no report)"
    )
    parser.set_defaults(handler=_optimize)


def _fail(message: str) -> int:
    print(f"tsxbot: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _optimize(args: argparse.Namespace) -> int:
    import optuna

    from tsxbot.backtest import DataError, FillSettings
    from tsxbot.optimize.space import SpaceError, parse_param, read_space
    from tsxbot.optimize.study import Optimizer, ParamsError, sampler_for, storage_for

    problem = check_common(args)
    if problem:
        return _fail(problem)
    if args.trials < 1 or args.jobs < 1 or args.min_trades < 0:
        return _fail("--trials and --jobs must be >= 1, --min-trades >= 0")
    try:
        space = [parse_param(p) for p in args.param]
        if args.space:
            space += read_space(args.space)
    except SpaceError as exc:
        return _fail(str(exc))
    if not space:
        return _fail("no parameter to search: give --param NAME=LOW:HIGH or --space FILE")
    config, settings = load_bot(args)
    try:
        traded, warmup, _source = load_period(args, config, settings)
        optimizer = Optimizer(
            config,
            settings,
            space,
            objective=args.objective,
            min_trades=args.min_trades,
            fills=FillSettings(slippage_ticks=args.slippage_ticks, limit_fill=args.limit_fill),
            account_checks=not args.no_account_checks,
        )
        sampler = sampler_for(args.sampler, space, args.sampler_seed)
    except (DataError, SpaceError, ParamsError) as exc:
        return _fail(str(exc))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = args.study or f"optimize-{settings.id}"

    if args.walk_forward:
        return _walk_forward(args, optimizer, traded, warmup, sampler, name)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.storage or str(Path(tmp) / "study.journal")
        storage = storage_for(url)
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, direction="maximize", load_if_exists=True
        )
        workers = _spawn_workers(args, url, name) if args.jobs > 1 and not args.worker else []
        try:
            optimizer.optimize(study, traded, warmup, args.trials)
        finally:
            failed = sum(1 for w in workers if w.wait() != 0)
        if args.worker:
            return EXIT_OK
        if failed:
            print(f"tsxbot: {failed} worker process(es) failed", file=sys.stderr)
        return _report(args, study, settings) if not failed else EXIT_FAILURE


def _spawn_workers(args: argparse.Namespace, url: str, name: str) -> list[subprocess.Popen[bytes]]:
    """``--jobs`` - 1 more processes on the same study (this one is the last worker)."""
    argv = list(args.argv)
    base = [
        sys.executable,
        "-m",
        "tsxbot",
        *argv,
        "--worker",
        "--jobs",
        "1",
        "--storage",
        url,
        "--study",
        name,
    ]
    return [subprocess.Popen(base, stdout=subprocess.DEVNULL) for _ in range(args.jobs - 1)]


def _trials_table(study: Any) -> Table:
    import optuna

    trials = sorted(
        study.trials,
        key=lambda t: (
            t.state != optuna.trial.TrialState.COMPLETE,
            -(t.value if t.value is not None else -math.inf),
        ),
    )
    table = Table(title=f"Trials ({len(trials)}; best first)")
    for column in ("#", "value", "params", "trades", "net P&L", "state", "worker"):
        table.add_column(column, justify="right" if column in ("#", "value", "trades", "net P&L") else "left")
    for t in trials[:25]:
        table.add_row(
            str(t.number),
            "-" if t.value is None else f"{t.value:,.4g}",
            ", ".join(f"{k}={v}" for k, v in t.params.items()),
            str(t.user_attrs.get("trades", "-")),
            str(t.user_attrs.get("net_pnl", "-")),
            t.state.name if "rejected" not in t.user_attrs else f"PRUNED: {t.user_attrs['rejected']}",
            str(t.user_attrs.get("worker", "")),
        )
    return table


def _report(args: argparse.Namespace, study: Any, settings: Any) -> int:
    from tsxbot.optimize.output import best_yaml, write_study_html
    from tsxbot.optimize.study import best_params

    console = Console()
    console.print(_trials_table(study))
    best = best_params(study)
    if best is None:
        console.print("no trial passed (every one pruned: see the table); nothing written")
        return EXIT_FAILURE
    console.print(f"best ({args.objective}): {study.best_value:,.4g} with {best}")
    if args.best_yaml:
        args.best_yaml.write_text(best_yaml(settings, best), encoding="utf-8")
        print(f"best params as a bot YAML: {args.best_yaml}")
    if args.html:
        write_study_html(study, args.html)
        print(f"study charts: {args.html}")
    return EXIT_OK


def _walk_forward(
    args: argparse.Namespace,
    optimizer: Optimizer,
    bars: MinuteBars,
    warmup: MinuteBars | None,
    sampler: BaseSampler,
    name: str,
) -> int:
    import optuna

    from tsxbot.optimize.output import best_yaml, write_study_html
    from tsxbot.optimize.study import best_params, storage_for
    from tsxbot.optimize.walk_forward import windows

    try:
        in_days, out_days = (int(x) for x in args.walk_forward.split(","))
    except ValueError:
        return _fail(f"--walk-forward {args.walk_forward!r}: expected IN,OUT (trading days)")
    plan = windows(bars, in_days, out_days)
    if not plan:
        return _fail(
            f"--walk-forward {in_days},{out_days}: fewer than {in_days + out_days} trading days of data"
        )
    console = Console()
    table = Table(
        title=f"Walk-forward: {len(plan)} windows, {in_days} days in sample, {out_days} out of sample"
    )
    for column in ("window", "in sample", "best IS", "params", "OOS days", "OOS trades", "OOS net P&L"):
        table.add_column(column)
    oos_net, oos_trades, last_study, last_best = 0.0, 0, None, None
    with tempfile.TemporaryDirectory() as tmp:
        for k, (in_sample, out_sample) in enumerate(plan):
            storage = storage_for(args.storage or str(Path(tmp) / f"wf{k}.journal"))
            study = optuna.create_study(
                study_name=f"{name}-wf{k}",
                storage=storage,
                sampler=sampler,
                direction="maximize",
                load_if_exists=True,
            )
            optimizer.optimize(study, in_sample, _before(in_sample, bars, warmup), args.trials)
            best = best_params(study)
            first, last = in_sample.t[0], in_sample.t[-1]
            span = f"{_day(first)}..{_day(last)}"
            if best is None:
                table.add_row(str(k), span, "-", "all pruned", f"{_day(out_sample.t[0])}..", "-", "-")
                continue
            result = optimizer.backtest(best, out_sample, _before(out_sample, bars, warmup))
            summary = result.report.summary
            oos_net += summary.net_pnl
            oos_trades += summary.trades
            last_study, last_best = study, best
            table.add_row(
                str(k),
                span,
                f"{study.best_value:,.4g}",
                ", ".join(f"{k2}={v}" for k2, v in best.items()),
                f"{_day(out_sample.t[0])}..{_day(out_sample.t[-1])}",
                str(summary.trades),
                f"{summary.net_pnl:,.2f}",
            )
    console.print(f"[bold]Out of sample: {oos_trades} trades, net P&L {oos_net:,.2f}[/bold] (what to trust)")
    console.print(table)
    if last_best is not None and args.best_yaml:
        args.best_yaml.write_text(best_yaml(optimizer.settings, last_best), encoding="utf-8")
        print(f"the last window's best params as a bot YAML: {args.best_yaml}")
    if last_study is not None and args.html:
        write_study_html(last_study, args.html)
        print(f"the last window's study charts: {args.html}")
    return EXIT_OK


def _before(window: MinuteBars, bars: MinuteBars, warmup: MinuteBars | None) -> MinuteBars | None:
    """A window's warm-up: the period's warm-up for the first, else the days before it."""
    start = int(window.t[0])
    if start == int(bars.t[0]):
        return warmup
    return bars.between(start - WARMUP_DAYS * _NS_DAY, start)


def _day(ns: Any) -> str:
    from tsxbot.sessions import from_ns

    return from_ns(int(ns)).date().isoformat()
