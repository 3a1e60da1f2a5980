"""The control panel's server. A person logs in with a key (``tsxbot.runtime.auth``: the same
keys and roles as the services' APIs); the panel checks the role the aggregator's API asks for
the same action (``tsxbot.aggregator.api.role_for``) and then forwards it to that API with the
internal key, naming who asked (``control panel (<role>)``) so the aggregator records it.

Bots are controlled as they always are, on the bus: a ``BotControl`` on ``bot:{id}:control``
(start, stop, pause, resume: an admin's; flatten: a trader's), and each bot's state is its latest
``BotStatus`` on ``bot:{id}:status``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from tsxbot.aggregator.api import role_for
from tsxbot.bus import MessageBus, Subscription
from tsxbot.bus.redis_bus import shown_url
from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.control_panel.logs import components, read_logs
from tsxbot.log import get_logger
from tsxbot.messages import BotCommand, BotControl, BotStatus, Envelope, channels, new_message_id
from tsxbot.runtime.auth import ROLE_KEY, SAFE_METHODS, Role
from tsxbot.runtime.http import BAD_BODY, decode_body, error_response, json_response
from tsxbot.strategies.params import ReloadError, StrategyParams, reload_params
from tsxbot.web.service import PageService, PageSpec

log = get_logger("tsxbot.control_panel")
FORWARD_PREFIX = "/api/aggregator"
SOURCE = "control-panel"
# The bot commands the panel sends, and the role each needs.
BOT_COMMANDS = {
    "start": (BotCommand.START, Role.ADMIN),
    "stop": (BotCommand.STOP, Role.ADMIN),
    "pause": (BotCommand.PAUSE, Role.ADMIN),
    "resume": (BotCommand.RESUME, Role.ADMIN),
    "flatten": (BotCommand.FLATTEN, Role.TRADER),
}
MAX_BODY = 16 * 1024


class ActionRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: str = ""


class ParamsRequest(msgspec.Struct, forbid_unknown_fields=True):
    """New values for some of a bot's strategy params (camelCase, as in its YAML)."""

    changes: dict[str, str | int | float | bool | None]


def param_fields(params: StrategyParams) -> list[dict[str, Any]]:
    """The form for a bot's typed params: name, kind (number, integer, boolean, string, choice),
    choices, whether it may be empty, bounds (``above``: an exclusive minimum), help, and the
    configured value."""
    schema = msgspec.json.schema(type(params))
    definition = schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    values = msgspec.to_builtins(params)
    fields = []
    for name, prop in definition["properties"].items():
        options = prop.get("anyOf", [prop])
        nullable = any(o.get("type") == "null" for o in options)
        main = next((o for o in options if o.get("type") != "null"), prop)
        kind = "choice" if "enum" in main else str(main.get("type", "string"))
        fields.append(
            {
                "name": name,
                "kind": kind,
                "choices": main.get("enum"),
                "nullable": nullable,
                "minimum": main.get("minimum"),
                "above": main.get("exclusiveMinimum"),
                "maximum": main.get("maximum"),
                "help": main.get("description", ""),
                "value": values.get(name),
            }
        )
    return fields


def required_role(request: web.Request) -> Role:
    if request.method in SAFE_METHODS:
        return Role.VIEWER
    if request.path.startswith(FORWARD_PREFIX + "/"):
        return role_for(request.method, request.path.removeprefix(FORWARD_PREFIX))
    if request.path.startswith("/api/bots/"):
        known = BOT_COMMANDS.get(request.path.rsplit("/", 1)[-1])
        return known[1] if known is not None else Role.ADMIN
    return Role.ADMIN


class ControlPanel(PageService):
    name = "control-panel"
    spec = PageSpec(
        "control", "control panel", lambda services: services.control_panel, required_role, MAX_BODY
    )

    def __init__(
        self,
        config: Config,
        api_key: Secret,
        aggregator_url: Callable[[], str],
        connection_manager_url: Callable[[], str],
        *,
        bus: MessageBus | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(config, api_key, aggregator_url, connection_manager_url, host=host, port=port)
        self.bus = bus
        self.bot_status: dict[str, BotStatus] = {}
        self._subscription: Subscription | None = None
        self._consumer: asyncio.Task[None] | None = None
        app = self.app
        app.router.add_get("/api/overview", self.overview)
        app.router.add_get("/api/config", self.resolved_config)
        app.router.add_get("/api/logs", self.logs)
        for action in ("halt", "resume", "flatten"):
            app.router.add_post(f"{FORWARD_PREFIX}/{action}", self.forward)
        app.router.add_post(FORWARD_PREFIX + "/bots/{bot_id}/pause", self.forward)
        app.router.add_post(FORWARD_PREFIX + "/bots/{bot_id}/resume", self.forward)
        app.router.add_get("/api/bots/{bot_id}/params", self.params_form)
        if bus is not None:
            app.router.add_post("/api/bots/{bot_id}/params", self.reload)  # before the commands' route
            app.router.add_post("/api/bots/{bot_id}/{command}", self.bot_command)

    async def start_feeds(self) -> None:
        bots = [b.id for b in self.config.enabled_bots]
        if self.bus is not None and bots:
            self._subscription = await self.bus.subscribe([channels.bot_status(b) for b in bots])
            self._consumer = asyncio.create_task(self._consume(self._subscription), name="control-panel-bots")

    async def stop_feeds(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._consumer
            self._consumer = None
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.close()
            self._subscription = None

    async def _consume(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, BotStatus):
                self.bot_status[payload.bot_id] = payload

    # --- reads ------------------------------------------------------------------------------------

    async def overview(self, _request: web.Request) -> web.Response:
        agg, cm = self.aggregator_url(), self.connection_manager_url()
        (agg_health, agg_h), (cm_health, cm_h), (_, status), (_, bots) = await asyncio.gather(
            self.client.get(f"{agg}/health"),
            self.client.get(f"{cm}/health"),
            self.client.get(f"{agg}/status"),
            self.client.get(f"{agg}/bots"),
        )
        services = [
            _service("aggregator", agg, agg_health, agg_h),
            _service("connection manager", cm, cm_health, cm_h),
            {
                "name": "control panel",
                "url": f"http://{self.server.host}:{self.server.port}",
                "ok": True,
                "detail": "",
            },
        ]
        status_body = status if isinstance(status, dict) else {}
        return json_response(
            {
                "services": services,
                "tradingState": status_body.get("tradingState", "UNKNOWN"),
                "why": status_body.get("why", {}),
                "bots": [self._bot_row(b) for b in bots.get("bots", [])] if isinstance(bots, dict) else [],
                "botControl": self.bus is not None,
            }
        )

    def _bot_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The aggregator's view of a bot, with the bot's own state (its latest status)."""
        status = self.bot_status.get(str(row.get("botId")))
        return {
            **row,
            "state": status.state.value if status is not None else None,
            "message": status.message if status is not None else None,
        }

    async def resolved_config(self, _request: web.Request) -> web.Response:
        shown = self.config.to_display()  # secrets masked
        bus = shown.get("global", {}).get("bus", {})
        if isinstance(bus.get("redisUrl"), str):
            bus["redisUrl"] = shown_url(bus["redisUrl"])  # and a Redis password
        return json_response(shown)

    async def logs(self, request: web.Request) -> web.Response:
        log_dir = Path(self.config.global_config.system.log_dir)
        query = request.query
        try:
            limit = int(query.get("limit", "200"))
            entries = await asyncio.to_thread(
                read_logs, log_dir, query.get("level", "info"), query.get("component") or None, limit
            )
        except ValueError as exc:
            return error_response(400, str(exc))
        return json_response({"components": components(log_dir), "entries": entries})

    # --- actions ----------------------------------------------------------------------------------

    async def forward(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = decode_body(raw or b"{}", ActionRequest)
        except BAD_BODY as exc:
            return error_response(400, f"invalid request body: {exc}")
        if len(body.reason) > 1000:
            return error_response(400, "reason: at most 1000 characters")
        role = request[ROLE_KEY]
        path = request.path.removeprefix(FORWARD_PREFIX)
        requested = {"requestedBy": f"control panel ({role.label})", "reason": body.reason}
        response = await self.client.post(self.aggregator_url() + path, requested, "aggregator")
        log.info("control action", path=path, role=role.label, status=response.status)
        return response

    def _bot(self, bot_id: str) -> StrategyParams | None:
        return next((b.params for b in self.config.enabled_bots if b.id == bot_id), None)

    async def _send(self, request: web.Request, control: BotControl) -> web.Response:
        assert self.bus is not None
        try:
            await self.bus.publish(channels.bot_control(control.bot_id), Envelope.wrap(control, SOURCE))
        except Exception as exc:  # the bus is down: say so, nothing was sent
            return error_response(
                503, f"the bus did not take the command ({type(exc).__name__}): nothing was sent"
            )
        log.info(
            "bot command sent",
            bot=control.bot_id,
            command=control.command.value,
            role=request[ROLE_KEY].label,
        )
        return json_response(
            {"botId": control.bot_id, "command": control.command.value, "commandId": control.command_id}, 202
        )

    async def bot_command(self, request: web.Request) -> web.Response:
        bot_id, name = request.match_info["bot_id"], request.match_info["command"]
        known = BOT_COMMANDS.get(name)
        if known is None:
            return error_response(404, f"unknown bot command {name!r}: one of {', '.join(BOT_COMMANDS)}")
        if self._bot(bot_id) is None:
            return error_response(404, f"unknown bot {bot_id!r}")
        return await self._send(
            request, BotControl(command_id=new_message_id(), bot_id=bot_id, command=known[0])
        )

    async def params_form(self, request: web.Request) -> web.Response:
        params = self._bot(request.match_info["bot_id"])
        if params is None:
            return error_response(404, f"unknown bot {request.match_info['bot_id']!r}")
        return json_response({"botId": request.match_info["bot_id"], "fields": param_fields(params)})

    async def reload(self, request: web.Request) -> web.Response:
        """Checks the changes with the config's own validation (its messages), then sends RELOAD;
        refused changes send nothing. The bot checks them again against its live params."""
        bot_id = request.match_info["bot_id"]
        params = self._bot(bot_id)
        if params is None:
            return error_response(404, f"unknown bot {bot_id!r}")
        try:
            body = decode_body(await request.read(), ParamsRequest)
        except BAD_BODY as exc:
            return error_response(400, f'send {{"changes": {{"name": value}}}}: {exc}')
        if not body.changes:
            return error_response(400, "no changes")
        try:
            reload_params(params, body.changes)
        except ReloadError as exc:
            return error_response(400, str(exc))
        control = BotControl(
            command_id=new_message_id(), bot_id=bot_id, command=BotCommand.RELOAD, params=dict(body.changes)
        )
        return await self._send(request, control)


def _service(name: str, url: str, status: int | None, body: Any) -> dict[str, Any]:
    if status is None:
        return {"name": name, "url": url, "ok": False, "detail": str(body)}
    detail = body.get("reason", body.get("status", "")) if isinstance(body, dict) else str(body)
    return {"name": name, "url": url, "ok": status == 200, "detail": str(detail)}
