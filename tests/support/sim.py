"""A real simulator for tests: ``SimulatorService`` on a free port, an httpx client, and
helpers to log in and to drive the admin API."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tsxbot.config import DEFAULTS_DIR, Config, load_config
from tsxbot.config.secrets import Secret
from tsxbot.connection_manager.service import Endpoints
from tsxbot.sim import Simulator, SimulatorService

# A Tuesday, 09:30 CT: the regular session's open (busy, liquid).
START = "2026-11-24T15:30:00Z"
ES = "CON.F.US.EP.Z26"
MES = "CON.F.US.MES.Z26"
NQ = "CON.F.US.ENQ.Z26"
COMBINE = 1001
PRACTICE = 1002


# The gateway's side: quick retries and reconnects, so fault tests take fractions of a second.
FAST_GATEWAY = [
    "topstepx.gateway.reconnectDelaysSeconds=[0.05, 0.2, 0.5]",
    "topstepx.gateway.retryBaseSeconds=0.05",
    "topstepx.gateway.retryCapSeconds=0.5",
    "topstepx.gateway.hubKeepaliveSeconds=1",
    "topstepx.gateway.requestTimeoutSeconds=3",
]


def sim_config(*overrides: str) -> Config:
    return load_config(
        DEFAULTS_DIR,
        overrides=[
            "simulator.port=0",
            f"simulator.startTime={START}",
            "simulator.hub.keepAliveInterval=1",
            *FAST_GATEWAY,
            *overrides,
        ],
        env={},
    )


def offline_sim(*overrides: str) -> Simulator:
    """A simulator without a server (the exchange and market only), clock paused."""
    config = sim_config("simulator.paused=true", *overrides)
    return Simulator(config.global_config.simulator, config.instruments)


class SimHandle:
    def __init__(self, service: SimulatorService, http: httpx.AsyncClient, config: Config) -> None:
        self.service = service
        self.http = http
        self.config = config
        self.token = ""
        creds = config.global_config.simulator.credentials
        self.username = Secret(creds.user_name)
        self.api_key = Secret(creds.api_key)
        self.account_id = COMBINE

    def now(self) -> dt.datetime:
        """The simulator's clock (what clients must use with a pinned start time)."""
        return self.sim.now()

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            api_url=self.base_url,
            user_hub_url=f"{self.base_url}/hubs/user",
            market_hub_url=f"{self.base_url}/hubs/market",
            username=self.username,
            api_key=self.api_key,
        )

    async def clear_faults(self) -> None:
        (await self.http.delete("/admin/faults")).raise_for_status()

    @property
    def sim(self) -> Simulator:
        assert self.service.sim is not None
        return self.service.sim

    @property
    def base_url(self) -> str:
        return self.service.base_url

    def hub_url(self, hub: str, *, token: bool = True) -> str:
        url = f"{self.base_url}/hubs/{hub}"
        return f"{url}?access_token={self.token}" if token else url

    async def login(self) -> str:
        response = await self.http.post("/api/Auth/loginKey", json={"userName": "demo", "apiKey": "demo"})
        assert response.status_code == 200
        self.token = str(response.json()["token"])
        return self.token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def api(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST to /api/<path> with the token; asserts HTTP 200 and returns the JSON body."""
        response = await self.http.post(
            f"/api/{path}", json=body if body is not None else {}, headers=self.headers
        )
        assert response.status_code == 200, (response.status_code, response.text)
        data: dict[str, Any] = response.json()
        return data

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(f"/admin/{path}", json=body or {})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def state(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self.http.get("/admin/state")).json()
        return data

    async def place(self, **fields: Any) -> dict[str, Any]:
        body = {"accountId": COMBINE, "contractId": ES, "type": 2, "side": 0, "size": 1, **fields}
        return await self.api("Order/place", body)


@contextlib.asynccontextmanager
async def running_sim(*overrides: str, login: bool = True) -> AsyncIterator[SimHandle]:
    config = sim_config(*overrides)
    service = SimulatorService(config.global_config.simulator, config.instruments)
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=10.0) as http:
            handle = SimHandle(service, http, config)
            if login:
                await handle.login()
            yield handle
    finally:
        await service.stop()
