"""``tsxbot optimize``: an Optuna search over a bot's strategy parameters, each trial a backtest
(``tsxbot.optimize``): the trials table, the best parameters as a ready bot YAML, the study's
charts in one HTML file, and walk-forward windows led by their out-of-sample results."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
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
        "--json",
        type=Path,
        metavar="FILE",
        help="--walk-forward: the windows and the combined out-of-sample report",
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
    except (SpaceError, ParamsError) as exc:
        return _fail(str(exc))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = args.study or f"optimize-{settings.id}"

    if args.walk_forward:
        try:
            traded, warmup, _source = load_period(args, config, settings)
        except DataError as exc:
            return _fail(str(exc))
        return _walk_forward(args, optimizer, traded, warmup, sampler, name)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.storage or str(Path(tmp) / "study.journal")
        storage = storage_for(url)
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, direction="maximize", load_if_exists=True
        )
        # The other workers start before this one reads the data: they read theirs meanwhile.
        workers = _spawn_workers(args, url, name) if args.jobs > 1 and not args.worker else []
        try:
            try:
                traded, warmup, _source = load_period(args, config, settings)
            except DataError as exc:
                for w in workers:  # they would fail the same way: one message
                    w.terminate()
                return _fail(str(exc))
            optimizer.optimize(study, traded, warmup, args.trials)
        finally:
            failed = sum(1 for w in workers if w.wait() not in (0, -signal.SIGTERM))
        if args.worker:
            return EXIT_OK
        if failed:
            print(f"tsxbot: {failed} worker process(es) failed", file=sys.stderr)
        return _report(args, study, settings) if not failed else EXIT_FAILURE


def _spawn_workers(args: argparse.Namespace, url: str, name: str) -> list[subprocess.Popen[bytes]]:
    """``--jobs`` - 1 more processes on the same study (this one is the last worker). With
    ``--sampler-seed N``, worker k samples with seed N + k: the same seed everywhere would draw
    the same parameters in every worker."""
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
    return [
        subprocess.Popen(
            base if args.sampler_seed is None else [*base, "--sampler-seed", str(args.sampler_seed + k)],
            stdout=subprocess.DEVNULL,
        )
        for k in range(1, args.jobs)
    ]


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
    """Each window's in-sample study picks parameters, backtested on the next days; the report
    leads with every window's out-of-sample results combined, and the best YAML is the window
    whose parameters did best out of sample (``tsxbot.optimize.out_of_sample``)."""
    import optuna

    from tsxbot.backtest import BacktestResult
    from tsxbot.optimize.out_of_sample import (
        WalkForwardReport,
        choose,
        combine,
        outcome,
        write_walk_forward_html,
    )
    from tsxbot.optimize.output import best_yaml
    from tsxbot.optimize.study import best_params, storage_for
    from tsxbot.optimize.walk_forward import windows
    from tsxbot.pnl.contract import spec_for

    try:
        in_days, out_days = (int(x) for x in args.walk_forward.split(","))
    except ValueError:
        return _fail(f"--walk-forward {args.walk_forward!r}: expected IN,OUT (trading days)")
    plan = windows(bars, in_days, out_days)
    if not plan:
        return _fail(
            f"--walk-forward {in_days},{out_days}: fewer than {in_days + out_days} trading days of data"
        )
    outcomes = []
    results: list[BacktestResult] = []
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
            result = None
            if best is not None:
                result = optimizer.backtest(best, out_sample, _before(out_sample, bars, warmup))
                results.append(result)
            outcomes.append(
                outcome(
                    k,
                    (_day(in_sample.t[0]), _day(in_sample.t[-1])),
                    (_day(out_sample.t[0]), _day(out_sample.t[-1])),
                    best,
                    None if best is None else study.best_value,
                    result,
                    args.objective,
                )
            )
    chosen = choose(outcomes)
    report = WalkForwardReport(
        schema_version=1,
        kind="walk-forward",
        bot_id=optimizer.settings.id,
        objective=args.objective,
        in_days=in_days,
        out_days=out_days,
        windows=outcomes,
        chosen_window=None if chosen is None else chosen.window,
        chosen_params=None if chosen is None else chosen.params,
        out_of_sample=combine(
            results,
            spec_for(optimizer.settings.instrument, optimizer.config.global_config.simulator.exchange),
            optimizer.config.global_config.risk.starting_balance,
        ),
    )
    _print_walk_forward(report)
    if chosen is not None and chosen.params is not None and args.best_yaml:
        args.best_yaml.write_text(best_yaml(optimizer.settings, chosen.params), encoding="utf-8")
        print(f"window {chosen.window}'s params (best out of sample) as a bot YAML: {args.best_yaml}")
    if args.html:
        write_walk_forward_html(report, args.html)
        print(f"walk-forward report (out of sample, combined): {args.html}")
    if args.json:
        report.write_json(args.json)
        print(f"walk-forward JSON: {args.json}")
    return EXIT_OK


def _print_walk_forward(report: Any) -> None:
    summary = report.out_of_sample.summary
    console = Console()
    sharpe = "-" if summary.sharpe is None else f"{summary.sharpe:.2f}"
    pf = "-" if summary.profit_factor is None else f"{summary.profit_factor:.2f}"
    console.print(
        f"[bold]Out of sample: {summary.trades} trades, net P&L {summary.net_pnl:,.2f}, "
        f"Sharpe {sharpe}, profit factor {pf}, max drawdown {summary.max_drawdown_closed:,.2f}[/bold] "
        "(every window's out-of-sample days combined: what to trust)"
    )
    chosen = report.chosen_params
    console.print(
        "no window traded out of sample: no parameters chosen"
        if chosen is None
        else f"chosen on out-of-sample results: window {report.chosen_window}, "
        + ", ".join(f"{k}={v}" for k, v in chosen.items())
    )
    table = Table(
        title=f"Walk-forward: {len(report.windows)} windows, {report.in_days} days in sample, "
        f"{report.out_days} out of sample"
    )
    for column in ("window", "in sample", "best IS", "params", "OOS days", "OOS trades", "OOS net P&L"):
        table.add_column(column)
    for w in report.windows:
        table.add_row(
            str(w.window) + (" *" if w.window == report.chosen_window else ""),
            f"{w.in_sample[0]}..{w.in_sample[1]}",
            "-" if w.best_in_sample is None else f"{w.best_in_sample:,.4g}",
            "all pruned" if w.params is None else ", ".join(f"{k}={v}" for k, v in w.params.items()),
            f"{w.out_of_sample[0]}..{w.out_of_sample[1]}",
            str(w.oos_trades),
            f"{w.oos_net_pnl:,.2f}",
        )
    console.print(table)


def _before(window: MinuteBars, bars: MinuteBars, warmup: MinuteBars | None) -> MinuteBars | None:
    """A window's warm-up: the period's warm-up for the first, else the days before it."""
    start = int(window.t[0])
    if start == int(bars.t[0]):
        return warmup
    return bars.between(start - WARMUP_DAYS * _NS_DAY, start)


def _day(ns: Any) -> dt.date:
    """The CME trading day (from 17:00 CT) of a bar, as the windows count them."""
    from tsxbot.pnl.periods import trading_day

    return trading_day(int(ns))
