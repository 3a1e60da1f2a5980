"""What an optimisation leaves: the best parameters as a ready bot YAML, and the study's charts
(optimisation history, parameter importances, parallel coordinates; plotly, through
``optuna.visualization``) in one self-contained HTML file."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import msgspec
import optuna
import yaml

from tsxbot.config.loader import BotSettings
from tsxbot.optimize.study import settings_with

__all__ = ["best_yaml", "write_study_html"]


def best_yaml(settings: BotSettings, best: dict[str, Any]) -> str:
    """The bot's whole config with ``best`` in its strategy params, as YAML the loader reads."""
    tuned = settings_with(settings, best)
    data = msgspec.to_builtins(tuned.config)
    assert isinstance(data, dict)
    data["strategy"]["params"] = msgspec.to_builtins(tuned.params)
    header = "# Best parameters found by tsxbot optimize: " + ", ".join(f"{k}={v}" for k, v in best.items())
    return header + "\n" + yaml.safe_dump(data, sort_keys=False)


def write_study_html(study: optuna.Study, path: Path) -> None:
    from optuna import visualization as vis

    parts: list[str] = []
    charts = (
        ("Optimisation history", vis.plot_optimization_history),
        ("Parameter importances", vis.plot_param_importances),
        ("Parallel coordinates", vis.plot_parallel_coordinate),
    )
    for title, plot in charts:
        try:
            figure = plot(study)
        except (ValueError, RuntimeError) as exc:  # e.g. importances need two complete trials
            parts.append(f"<h2>{title}</h2><p>not drawn: {html.escape(str(exc))}</p>")
            continue
        parts.append(
            f"<h2>{title}</h2>"
            + figure.to_html(full_html=False, include_plotlyjs=not any("<script" in p for p in parts))
        )
    path.write_text(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(study.study_name)}"
        f"</title></head><body><h1>Study {html.escape(study.study_name)}</h1>{''.join(parts)}</body></html>",
        encoding="utf-8",
    )
