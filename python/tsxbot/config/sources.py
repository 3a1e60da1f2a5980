"""Raw config layers and where each value came from: YAML files (with line numbers), the
environment (and ``.env``), and ``--set`` overrides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tsxbot.config.errors import Origin
from tsxbot.config.validate import KeyPath, format_path, is_secret_like


class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loader without sexagesimal numbers, so ``15:00`` stays the text "15:00"
    instead of becoming the integer 900, and without implicit timestamps, so a date or a time
    stays text for its field to read (``simulator.startTime`` is ``auto``, ``now`` or a time)."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


@dataclass
class Layer:
    """A raw tree plus the origin of each key path in it."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[KeyPath, Origin] = field(default_factory=dict)
    problems: list[tuple[Origin, str, str]] = field(default_factory=list)

    def origin_of(self, path: KeyPath, default: Origin) -> Origin:
        """The origin of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.origins.get(path[:end])
            if found is not None:
                return found
        return default

    def set(self, path: KeyPath, value: Any, origin: Origin) -> None:
        node: Any = self.data
        for i, key in enumerate(path[:-1]):
            child = node.get(key) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                if child is not None:
                    self.problems.append(
                        (
                            origin,
                            format_path(path[: i + 1]),
                            f"cannot set {format_path(path)}: this key is not a section",
                        )
                    )
                    return
                child = {}
                node[key] = child
            node = child
        node[path[-1]] = value
        # The new value replaces whatever was below it.
        for old in [p for p in self.origins if p[: len(path)] == path]:
            del self.origins[old]
        self.origins[path] = origin


def parse_scalar(text: str) -> Any:
    """A value given on the command line or in the environment, read as YAML (``true``, ``5``,
    ``[a, b]``); anything that is not valid YAML is kept as text."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text


def load_yaml(path: Path, label: str) -> Layer:
    """Reads a YAML file into a Layer; syntax errors and duplicate keys become problems."""
    layer = Layer()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        layer.problems.append((Origin(label), "(file)", f"cannot read the file: {exc.strerror}"))
        return layer
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        layer.problems.append((Origin(label, line), "(file)", f"invalid YAML: {problem}"))
        return layer
    finally:
        loader.dispose()
    if data is None or node is None:
        return layer
    if not isinstance(data, dict):
        layer.problems.append(
            (
                Origin(label, 1),
                "(file)",
                f"expected a mapping of keys at the top of the file, got {type(data).__name__}",
            )
        )
        return layer
    layer.data = data
    _record_lines(node, (), label, layer)
    return layer


def _record_lines(node: yaml.Node, path: KeyPath, label: str, layer: Layer) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                layer.problems.append(
                    (
                        Origin(label, line),
                        format_path((*path, key)),
                        f"key appears twice (also on line {seen[key]}); only one is used",
                    )
                )
            seen[key] = line
            layer.origins[(*path, key)] = Origin(label, line)
            _record_lines(value_node, (*path, key), label, layer)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            layer.origins[(*path, i)] = Origin(label, item.start_mark.line + 1)
            _record_lines(item, (*path, i), label, layer)


# Environment variables that set a key of global.yaml (they win over the file).
ENV_SETTINGS: dict[str, KeyPath] = {
    "TSXBOT_ENVIRONMENT": ("system", "environment"),
    "TSXBOT_LOG_LEVEL": ("system", "logLevel"),
    "TSXBOT_LOG_DIR": ("system", "logDir"),
    "TSXBOT_BUS": ("bus", "backend"),
    "REDIS_URL": ("bus", "redisUrl"),
    "TSXBOT_TARGET": ("topstepx", "target"),
    "TOPSTEPX_API_URL": ("topstepx", "apiUrl"),
    "TOPSTEPX_USER_HUB_URL": ("topstepx", "userHubUrl"),
    "TOPSTEPX_MARKET_HUB_URL": ("topstepx", "marketHubUrl"),
    "TOPSTEPX_ACCOUNT_ID": ("topstepx", "accountId"),
    "SIMULATOR_PORT": ("simulator", "port"),
    "CONNECTION_MANAGER_PORT": ("services", "connectionManager", "port"),
    "AGGREGATOR_API_PORT": ("services", "aggregator", "apiPort"),
    "AGGREGATOR_MONITORING_PORT": ("services", "aggregator", "monitoringPort"),
    "MANUAL_TRADING_PORT": ("services", "manualTrading", "port"),
    "CONTROL_PANEL_PORT": ("services", "controlPanel", "port"),
    "START_TRADING_AGGREGATOR": ("features", "startTradingAggregator"),
    "ENABLE_MONITORING": ("features", "enableMonitoring"),
    "ENABLE_REDIS_METRICS": ("features", "enableRedisMetrics"),
}


def apply_environment(layer: Layer, env: Mapping[str, str]) -> None:
    for name, path in ENV_SETTINGS.items():
        if env.get(name):
            layer.set(path, parse_scalar(env[name]), Origin(f"environment {name}"))
    # The spec's REDIS_HOST / REDIS_PORT, when REDIS_URL is not given.
    if not env.get("REDIS_URL") and (env.get("REDIS_HOST") or env.get("REDIS_PORT")):
        host = env.get("REDIS_HOST") or "127.0.0.1"
        port = env.get("REDIS_PORT") or "6379"
        layer.set(
            ("bus", "redisUrl"), f"redis://{host}:{port}/0", Origin("environment REDIS_HOST/REDIS_PORT")
        )


@dataclass(frozen=True)
class Override:
    """One ``--set key.path=value``."""

    path: KeyPath
    value: Any
    text: str

    @property
    def origin(self) -> Origin:
        return override_origin(self.text)


def _shown(text: str) -> str:
    """``--set`` text as it may be printed: the value of a secret-looking key masked."""
    key, sep, _ = text.partition("=")
    return f"{key}=****" if sep and is_secret_like(key) else text


def override_origin(text: str) -> Origin:
    """Where a problem with this ``--set`` is reported (its value masked when secret-looking)."""
    return Origin(f"--set {_shown(text)}")


def parse_override(text: str) -> Override:
    """Raises ValueError saying what is wrong (without repeating the text: the problem is
    reported at ``override_origin(text)``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError("expected key.path=value, e.g. bots.bot_1.risk.maxDailyLoss=300")
    parts = tuple(p for p in key.strip().split("."))
    if any(not p for p in parts):
        raise ValueError(f"empty part in key path {key.strip()!r}")
    return Override(parts, parse_scalar(value.strip()), text)
