"""Builds the connection manager from the config: where TopStepX is (the embedded simulator or the
real gateway), whose credentials, and the internal API key."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from tsxbot.bus import MessageBus
from tsxbot.config import Config
from tsxbot.config.secrets import SECRET_ENV_VARS, Secret
from tsxbot.connection_manager.service import ConnectionManager, Endpoints
from tsxbot.log import get_logger

log = get_logger("tsxbot.connection_manager")
API_KEY_FILE = Path(".tsxbot") / "internal-api-key"


class MissingCredentialsError(RuntimeError):
    pass


def endpoints_for(config: Config, simulator_url: str | None = None) -> Endpoints:
    """The simulator's address and demo login when ``topstepx.target`` is ``simulator`` (its
    bound address when it runs in this process); the configured TopStepX URLs and the
    credentials from the environment when it is ``live``."""
    tx = config.global_config.topstepx
    if tx.target == "simulator":
        sim = config.global_config.simulator
        host = "127.0.0.1" if sim.host in ("0.0.0.0", "::") else sim.host
        base = simulator_url or f"http://{host}:{sim.port}"
        return Endpoints(
            api_url=base,
            user_hub_url=f"{base}/hubs/user",
            market_hub_url=f"{base}/hubs/market",
            username=Secret(sim.credentials.user_name),
            api_key=Secret(sim.credentials.api_key),
        )
    username, api_key = config.secrets.topstepx_username, config.secrets.topstepx_api_key
    if not username or not api_key:
        names = " / ".join(SECRET_ENV_VARS["topstepx_username"][:1] + SECRET_ENV_VARS["topstepx_api_key"][:1])
        raise MissingCredentialsError(
            f"topstepx.target is live but the TopStepX credentials are not set: export {names}"
        )
    return Endpoints(
        api_url=tx.api_url,
        user_hub_url=tx.user_hub_url,
        market_hub_url=tx.market_hub_url,
        username=username,
        api_key=api_key,
    )


def internal_api_key_source(config: Config, key_file: Path = API_KEY_FILE) -> str:
    """Where ``internal_api_key`` will come from, in the words ``tsxbot config check`` prints."""
    if config.secrets.internal_api_key:
        return "(from TSXBOT_API_KEY)"
    if key_file.is_file() and len(key_file.read_text().strip()) >= 16:
        return f"(from {key_file})"
    return f"(generated at first start: {key_file})"


def internal_api_key(config: Config, key_file: Path = API_KEY_FILE) -> Secret:
    """``TSXBOT_API_KEY``; else the key in ``.tsxbot/internal-api-key`` (so the services started
    from one directory share it); else a new random key written there. The file is kept readable
    by its owner only; the key is never printed or logged."""
    if config.secrets.internal_api_key:
        return config.secrets.internal_api_key
    if key_file.is_file():
        os.chmod(key_file, 0o600)
        existing = key_file.read_text().strip()
        if len(existing) >= 16:
            return Secret(existing)
    key = secrets.token_urlsafe(24)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(key_file, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    log.warning("TSXBOT_API_KEY is not set: generated an internal API key", stored_in=str(key_file.resolve()))
    return Secret(key)


def build_connection_manager(
    config: Config,
    bus: MessageBus,
    simulator_url: Callable[[], str] | None = None,
    simulator_clock: Callable[[], dt.datetime] | None = None,
) -> ConnectionManager:
    """``simulator_url``: the embedded simulator's address, known once it listens (port 0);
    ``simulator_clock``: its time (which a start time or a speed can move away from now)."""
    endpoints_for(config)  # refuse a live target without credentials now, not at start
    if simulator_url is None:
        return ConnectionManager(
            config, bus, endpoints_for(config), internal_api_key(config), clock=simulator_clock
        )
    url = simulator_url
    return ConnectionManager(
        config, bus, lambda: endpoints_for(config, url()), internal_api_key(config), clock=simulator_clock
    )
