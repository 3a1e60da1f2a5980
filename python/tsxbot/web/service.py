"""What the page servers (the control panel, manual trading) share: the page's application
(``page_application``: security headers, login, roles, the page and its files), its HTTP server
on the configured endpoint (host and port overridable, 0 for a free port), the client to the
services' APIs, and the order they start and stop in around the page's own bus feeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import web

from tsxbot.config import Config
from tsxbot.config.global_config import Endpoint, ServicesConfig
from tsxbot.config.secrets import Secret
from tsxbot.runtime import Service
from tsxbot.runtime.auth import Role, reload_keys_on_sighup
from tsxbot.runtime.http import HttpServer
from tsxbot.web import page_application
from tsxbot.web.forward import ServiceClient


@dataclass(frozen=True)
class PageSpec:
    """What makes a page server that page: ``static/<page>.html`` and its script, its name in the
    logs, where it is served, the role each request needs, and the largest request body."""

    page: str
    title: str
    endpoint: Callable[[ServicesConfig], Endpoint]
    required_role: Callable[[web.Request], Role]
    max_body: int = 16 * 1024


class PageService(Service):
    """A page's server (its ``spec``). A subclass adds its routes to ``self.app`` in its
    ``__init__``, and starts and stops what feeds it (bus subscriptions) in ``start_feeds`` /
    ``stop_feeds``: before the page is served and after it no longer is."""

    spec: ClassVar[PageSpec]

    def __init__(
        self,
        config: Config,
        api_key: Secret,
        aggregator_url: Callable[[], str],
        connection_manager_url: Callable[[], str],
        *,
        host: str | None,
        port: int | None,
    ) -> None:
        super().__init__()
        spec = self.spec
        self.config = config
        self.aggregator_url = aggregator_url
        self.connection_manager_url = connection_manager_url
        self.app, self.auth = page_application(api_key, spec.page, spec.required_role, spec.max_body)
        endpoint = spec.endpoint(config.global_config.services)
        self.server = HttpServer(
            self.app,
            endpoint.host if host is None else host,
            endpoint.port if port is None else port,
            spec.title,
        )
        self.client = ServiceClient(api_key, spec.title)

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.client.start()
        await self.start_feeds()
        reload_keys_on_sighup()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        await self.stop_feeds()
        await self.client.stop()

    async def start_feeds(self) -> None:
        """What feeds the page (nothing by default)."""

    async def stop_feeds(self) -> None:
        """Stops what ``start_feeds`` started; also after a partial start."""
