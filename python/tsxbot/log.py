"""Logging: structlog, JSON lines in ``<logDir>/<component>/<date>.log`` (UTC date, rotated by
size and by day, old files pruned), a console renderer for people, and a redactor that masks
tokens and keys wherever they appear.

A process that hosts several components (``run-all``) passes ``routes``: logger-name prefixes
to components, so each component's records go to its own directory (and carry its name), as
they would from its own process."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog

REDACTED = "***"
# Libraries whose INFO records are connection chatter: shown only when the level is DEBUG.
CHATTY_LIBRARIES = ("httpx", "pysignalr", "websockets")
_SENSITIVE_KEY = re.compile(
    r"(token|api[_-]?key|apikey|password|secret|authorization|credential|access[_-]?token)", re.I
)
_SENSITIVE_TEXT = (
    # JWTs (ProjectX session tokens).
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Tokens in URLs (SignalR hubs take ?access_token=...).
    (re.compile(r"(access_token=)[^&\s\"']+", re.I), r"\1" + REDACTED),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1" + REDACTED),
)
# One pass that finds whether any of the patterns above could match: most log text holds none, so
# the substitutions run only on the rare string that needs them (a bot logs on every entry).
_MAYBE_SENSITIVE_TEXT = re.compile(r"eyJ|access_token=|bearer\s", re.I)


@functools.lru_cache(maxsize=4096)
def _is_sensitive_key(key: str) -> bool:
    return _SENSITIVE_KEY.search(key) is not None


class Redactor:
    """A structlog processor: masks sensitive keys, JWT-like strings, bearer and URL tokens, and
    any value registered with ``add_secret`` (the configured API keys), at any depth."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add_secret(self, value: str) -> None:
        if len(value) >= 4:  # masking very short strings would garble ordinary text
            self._secrets.add(value)

    def clean_text(self, text: str) -> str:
        if _MAYBE_SENSITIVE_TEXT.search(text):
            for pattern, repl in _SENSITIVE_TEXT:
                text = pattern.sub(repl, text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.clean_text(value)
        if isinstance(value, dict):
            return {
                k: (
                    REDACTED
                    if isinstance(k, str) and _is_sensitive_key(k) and v is not None
                    else self.clean(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return type(value)(self.clean(v) for v in value)
        return value

    def __call__(
        self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            value = event_dict[key]
            if _is_sensitive_key(key) and value is not None:
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self.clean(value)
        return event_dict


REDACTOR = Redactor()


class DailyFileHandler(logging.Handler):
    """Writes ``<dir>/<YYYY-MM-DD>.log`` (UTC). A file that reaches ``max_bytes`` continues in
    ``<date>.1.log``, ``<date>.2.log``...; files older than ``retention_days`` are deleted."""

    def __init__(
        self, directory: Path, *, max_bytes: int = 50 * 1024 * 1024, retention_days: int = 14
    ) -> None:
        super().__init__()
        self.directory = directory
        self.max_bytes = max_bytes
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._stream: TextIO | None = None
        self._date: dt.date | None = None
        self._part = 0
        self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def current_path(self) -> Path | None:
        return self._path(self._date, self._part) if self._date else None

    def _path(self, date: dt.date, part: int) -> Path:
        suffix = f".{part}" if part else ""
        return self.directory / f"{date.isoformat()}{suffix}.log"

    def _open(self, date: dt.date) -> TextIO:
        if self._stream is not None:
            self._stream.close()
        if date != self._date:
            self._date, self._part = date, 0
            # Continue after the highest part already written today (restarts append).
            while self._path(date, self._part + 1).exists():
                self._part += 1
            self._prune(date)
        self._stream = self._path(date, self._part).open("a", encoding="utf-8")
        return self._stream

    def _prune(self, today: dt.date) -> None:
        cutoff = today - dt.timedelta(days=self.retention_days)
        for path in self.directory.glob("*.log"):
            try:
                day = dt.date.fromisoformat(path.name[:10])
            except ValueError:
                continue
            if day < cutoff:
                path.unlink(missing_ok=True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            today = dt.datetime.fromtimestamp(record.created, dt.UTC).date()
            with self._lock:
                stream = self._stream
                if stream is None or today != self._date:
                    stream = self._open(today)
                elif stream.tell() + len(line) > self.max_bytes and stream.tell() > 0:
                    self._part += 1
                    stream = self._open(today)
                stream.write(line)
                stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
        super().close()


class ComponentRouter:
    """The component of a logger: the one routed from the longest prefix of its name, else the
    process's own component."""

    def __init__(self, default: str, routes: Mapping[str, str] | None = None) -> None:
        self.default = default
        self._routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))
        self._cache: dict[str, str] = {}

    def component_of(self, logger_name: str | None) -> str:
        name = logger_name or ""
        found = self._cache.get(name)
        if found is None:
            found = next(
                (c for prefix, c in self._routes if name == prefix or name.startswith(prefix + ".")),
                self.default,
            )
            self._cache[name] = found
        return found

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        """structlog processor: names the record's component."""
        event_dict["component"] = self.component_of(event_dict.get("logger"))
        return event_dict


class RoutingFileHandler(logging.Handler):
    """One ``DailyFileHandler`` per component, ``<logDir>/<component>/``, chosen by the router."""

    def __init__(self, log_dir: Path, router: ComponentRouter, **options: Any) -> None:
        super().__init__()
        self._log_dir = log_dir
        self._router = router
        self._options = options
        self._handlers: dict[str, DailyFileHandler] = {}
        self._lock = threading.Lock()

    def handler_for(self, component: str) -> DailyFileHandler:
        with self._lock:
            handler = self._handlers.get(component)
            if handler is None:
                handler = DailyFileHandler(self._log_dir / component, **self._options)
                handler.setFormatter(self.formatter)
                self._handlers[component] = handler
            return handler

    def emit(self, record: logging.LogRecord) -> None:
        self.handler_for(self._router.component_of(record.name)).emit(record)

    def close(self) -> None:
        with self._lock:
            for handler in self._handlers.values():
                handler.close()
        super().close()


def configure_logging(
    component: str,
    *,
    level: str = "INFO",
    log_dir: str | Path | None = "logs",
    console: Literal["console", "json"] | None = "console",
    console_stream: TextIO | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    retention_days: int = 14,
    secrets: Iterable[str] = (),
    routes: Mapping[str, str] | None = None,
) -> None:
    """Sets up logging for one component (``connectionmanager``, ``tradingbot_bot_1``, ...), or
    for several in one process with ``routes`` (logger-name prefix -> component).
    Calling it again replaces the previous set-up."""
    for secret in secrets:
        REDACTOR.add_secret(secret)
    router = ComponentRouter(component, routes)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        router,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        REDACTOR,
    ]
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level.upper())
    # httpx logs every request at INFO (the gateway makes several a minute), pysignalr and
    # websockets every connection step ("State change", "Performing negotiation"): only when
    # debugging. The gateway logs what matters of them (hub connected, disconnected: why).
    chatter = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for noisy in CHATTY_LIBRARIES:
        logging.getLogger(noisy).setLevel(chatter)

    if log_dir is not None:
        file_handler = RoutingFileHandler(
            Path(log_dir), router, max_bytes=max_bytes, retention_days=retention_days
        )
        file_handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(),
                ],
            )
        )
        root.addHandler(file_handler)
    if console is not None:
        renderer: Any = (
            structlog.processors.JSONRenderer()
            if console == "json"
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        stream_handler = logging.StreamHandler(console_stream or sys.stderr)
        stream_handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            )
        )
        root.addHandler(stream_handler)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(component=component)


def get_logger(name: str | None = None, **context: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger.bind(**context) if context else logger


def after_queued_work(emit: Callable[..., Any], event: str, **fields: Any) -> None:
    """Writes a log line (``emit``: a logger's ``info``, ``warning``...) after the work already
    queued on the event loop, not in the current turn: a line costs a few tenths of a ms, and an
    order's publish waiting to go out (a fill, a command) goes first. Outside a loop: now."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        emit(event, **fields)
        return
    loop.call_soon(functools.partial(emit, event, **fields))
