"""The simulator as a ``Service`` (for ``tsxbot sim`` and ``run-all``)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from tsxbot.config import Config
from tsxbot.config.instruments import Instruments
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.log import get_logger
from tsxbot.runtime import Service, listen_error
from tsxbot.sim.marketdata.replay import load_recording
from tsxbot.sim.server import build_app
from tsxbot.sim.simulator import Simulator

log = get_logger("tsxbot.sim")


class SimulatorService(Service):
    name = "simulator"

    def __init__(self, config: SimulatorConfig, instruments: Instruments) -> None:
        super().__init__()
        self.config = config
        self.instruments = instruments
        self.sim: Simulator | None = None
        self._runner: web.AppRunner | None = None
        self.port = config.port
        # Print the address and the demo credentials once listening (``tsxbot sim``).
        self.announce = False

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def now(self) -> dt.datetime:
        """The simulator's clock (once started)."""
        if self.sim is None:
            raise RuntimeError("the simulator is not started")
        return self.sim.now()

    async def start(self) -> None:
        recorded = None
        start_ns = None
        if self.config.data:
            recorded, start_ns = load_recording(self.config, self.instruments)
        self.sim = Simulator(self.config, self.instruments, recorded=recorded, start_ns=start_ns)
        if self.sim.start_note is not None:
            log.info(self.sim.start_note)
        app = build_app(self.sim)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:
            raise listen_error(
                "simulator", self.config.host, self.config.port, exc, "simulator.port or SIMULATOR_PORT"
            ) from None
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.sim.start()
        log.info("simulator listening", url=self.base_url, now=self.sim.now().isoformat())
        if self.announce:
            from tsxbot.cli.sim_cmd import describe

            creds = self.config.credentials
            accounts = [f"{a.id} {a.name} ({a.kind}, {a.bracket_mode})" for a in self.config.accounts]
            print(
                describe(self.base_url, creds.user_name, creds.api_key, self.sim.now(), accounts), flush=True
            )

    async def stop(self) -> None:
        if self.sim is not None:
            await self.sim.stop()
        if self._runner is not None:
            await self._runner.cleanup()


def build_simulator(config: Config) -> SimulatorService:
    return SimulatorService(config.global_config.simulator, config.instruments)
