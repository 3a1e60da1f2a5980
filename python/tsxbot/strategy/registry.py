"""Strategies by name: the built-ins by type name, a user's by dotted path.

``strategy.type: EMA_CROSS`` names a built-in; ``strategy.type: mypackage.module:MyStrategy``
imports ``mypackage.module`` (from ``sys.path``, plus the ``strategyPaths`` of ``global.yaml``)
and takes its ``MyStrategy``, a ``tsxbot.strategy.Strategy`` subclass whose ``params_type`` (a
``StrategyParams`` subclass) types ``strategy.params``. The config loader validates those params
at load with the same walk and messages as the built-ins'.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tsxbot.strategies.params import BUILTIN_STRATEGY_PARAMS, StrategyParams

if TYPE_CHECKING:
    from tsxbot.strategy.base import Strategy

__all__ = ["BUILTIN_STRATEGIES", "StrategyLoadError", "add_strategy_paths", "load_strategy", "params_type"]

BUILTIN_STRATEGIES: dict[str, str] = {
    "PDH_PDL": "tsxbot.strategies.pdh_pdl:PdhPdl",
    "EMA_CROSS": "tsxbot.strategies.ema_cross:EmaCross",
    "ORB_RUBBER_BAND": "tsxbot.strategies.orb_rubber_band:OrbRubberBand",
}


class StrategyLoadError(ValueError):
    """A ``strategy.type`` that names no strategy; the message says why."""


def add_strategy_paths(paths: Iterable[str]) -> None:
    """Directories searched for users' strategy modules (``strategyPaths``), first."""
    for path in reversed(list(paths)):
        if path not in sys.path:
            sys.path.insert(0, path)


def load_strategy(type_name: str) -> type[Strategy[Any]]:
    """The strategy class ``type_name`` names; ``StrategyLoadError`` when there is none."""
    from tsxbot.strategy.base import Strategy

    path = BUILTIN_STRATEGIES.get(type_name, type_name)
    if ":" not in path:
        raise StrategyLoadError(
            f"unknown strategy {type_name!r} (strategies: {', '.join(BUILTIN_STRATEGIES)}; "
            "or your own as module.path:ClassName)"
        )
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyLoadError(f"cannot import strategy module {module_name!r}: {exc}") from exc
    except Exception as exc:  # the user's module raised while importing: report it, never crash
        raise StrategyLoadError(
            f"strategy module {module_name!r} raised while importing: {type(exc).__name__}: {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise StrategyLoadError(f"module {module_name!r} has no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StrategyLoadError(f"{path} is not a tsxbot.strategy.Strategy subclass")
    params = getattr(cls, "params_type", None)
    if not (isinstance(params, type) and issubclass(params, StrategyParams)):
        raise StrategyLoadError(f"{path}.params_type is not a tsxbot.strategy.StrategyParams subclass")
    return cls


def params_type(type_name: str) -> type[StrategyParams]:
    """The params struct of ``type_name`` (a built-in's without importing its module)."""
    builtin = BUILTIN_STRATEGY_PARAMS.get(type_name)
    if builtin is not None:
        return builtin
    params: type[StrategyParams] = load_strategy(type_name).params_type
    return params
