"""``tsxbot sim``: the TopStepX simulator on its own (REST, hubs and admin API on one port)."""

from __future__ import annotations

import argparse
import datetime as dt

from tsxbot.cli.common import add_config_options, load_or_exit, run_or_report, setup_logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sim", help="run the TopStepX (ProjectX Gateway) simulator")
    parser.add_argument("--host", help="address to listen on (default: simulator.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: simulator.port, 7800; 0 = any free port)")
    parser.add_argument("--seed", type=int, help="seed of the synthetic market (default: simulator.seed)")
    parser.add_argument(
        "--data", metavar="FILE", help="a recording to replay: CSV, Parquet or Databento DBN (.dbn, .dbn.zst)"
    )
    parser.add_argument(
        "--speed", type=float, help="1 = real time, 10 = ten times faster, 0 = as fast as possible"
    )
    parser.add_argument(
        "--start",
        metavar="TIME",
        help="simulated start: an ISO-8601 time, now, or auto (default: simulator.startTime, auto)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=_sim)


def _sim(args: argparse.Namespace) -> int:
    overrides = [
        f"simulator.{key}={value}"
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("seed", args.seed),
            ("data", args.data),
            ("speed", args.speed),
            ("startTime", args.start),
        )
        if value is not None
    ]
    config = load_or_exit(args, overrides)
    setup_logging(config, "simulator")
    from tsxbot.sim import build_simulator

    service = build_simulator(config)
    service.announce = True
    return run_or_report([service], "simulator")


def describe(
    base_url: str,
    user_name: str,
    api_key: str,
    now: dt.datetime,
    accounts: list[str],
    next_open: dt.datetime | None = None,
) -> str:
    closed = (
        [
            f"  market      closed now (weekend or the daily halt); opens {next_open.isoformat()}; "
            "--start picks another moment"
        ]
        if next_open is not None
        else []
    )
    return "\n".join(
        [
            f"TopStepX simulator on {base_url}",
            f"  REST        {base_url}/api/...",
            f"  user hub    {base_url}/hubs/user",
            f"  market hub  {base_url}/hubs/market",
            f"  admin API   {base_url}/admin/state",
            f"  login       userName={user_name!r} apiKey={api_key!r}  (POST /api/Auth/loginKey)",
            f"  accounts    {', '.join(accounts)}",
            f"  clock       {now.isoformat()}",
            *closed,
            "Ctrl-C stops it.",
        ]
    )
