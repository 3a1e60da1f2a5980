"""What a command imports: the backtester and the optimiser's workers (a process each) do not pay
for the services they never run (the journal's SQLAlchemy and Alembic, the simulator's web
service, the bot and connection-manager services); the package names still resolve on use."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "tsxbot.aggregator.service",
    "tsxbot.journal",
    "alembic",
    "tsxbot.sim.service",
    "tsxbot.bots.service",
    "tsxbot.connection_manager.service",
)


def _imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def test_the_backtester_does_not_import_the_services() -> None:
    loaded = _imported_after("import tsxbot.backtest, tsxbot.optimize")
    assert "tsxbot.backtest.runner" in loaded
    assert sorted(loaded.intersection(HEAVY)) == []


def test_the_command_line_imports_a_service_only_to_run_it() -> None:
    loaded = _imported_after("import tsxbot.cli; tsxbot.cli.build_parser()")
    assert "tsxbot.cli.aggregator_cmd" in loaded
    assert sorted(loaded.intersection({"tsxbot.aggregator.service", "tsxbot.journal", "alembic"})) == []


def test_the_lazy_package_names_still_resolve() -> None:
    from tsxbot import aggregator, bots, sim
    from tsxbot.aggregator.service import Aggregator
    from tsxbot.bots.factory import build_bots
    from tsxbot.bots.service import BotService
    from tsxbot.sim.service import SimulatorService, build_simulator
    from tsxbot.sim.simulator import Simulator

    assert aggregator.Aggregator is Aggregator
    assert (bots.BotService, bots.build_bots) == (BotService, build_bots)
    assert sim.Simulator is Simulator
    assert (sim.SimulatorService, sim.build_simulator) == (SimulatorService, build_simulator)
    try:
        _ = sim.Nothing
    except AttributeError as exc:
        assert "Nothing" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")
