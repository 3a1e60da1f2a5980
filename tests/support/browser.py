"""The browser tests' common parts: Debian's chromium (``make chromium``), a page logged in with a
key whose console errors are collected, waiting on a condition, ``run-all`` on free ports with
its simulator pinned, and the screenshots kept under ``test-artifacts/`` (linked from the README)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.processes import PINNED, Ports, clean_env, running, wait_http

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def launch(pw: Any) -> Any:
    """Debian's chromium, headless (a test fails, never skips, without it)."""
    if not CHROMIUM.exists():
        pytest.fail("the browser test needs Debian's chromium at /usr/bin/chromium (make chromium)")
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)


def wait(condition: Callable[[], bool], within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def logged_in(
    browser: Any,
    url: str,
    key: str,
    errors: list[str],
    *,
    width: int = 1300,
    height: int = 1100,
    prompts: list[str] | None = None,
) -> Any:
    """A new page at ``url`` logged in with ``key``: its console errors and uncaught exceptions go
    to ``errors``, confirmations (flatten) are accepted, and each prompt is answered with the next
    of ``prompts`` (a test appends the answer before the click that asks)."""
    answers = prompts if prompts is not None else []
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "dialog",
        lambda dialog: (
            dialog.accept(answers.pop(0)) if dialog.type == "prompt" and answers else dialog.accept()
        ),
    )
    page.goto(url + "/")
    page.wait_for_selector("#login-form", state="visible", timeout=20_000)
    page.fill("#login-key", key)
    page.click("#login-form button")
    page.wait_for_selector("#main", state="visible", timeout=10_000)
    return page


@contextlib.contextmanager
def run_all(tmp_path: Path, **keys: str) -> Iterator[tuple[Ports, subprocess.Popen[str]]]:
    """``tsxbot run-all`` on free ports (its simulator pinned), with ``keys`` as its environment
    (``TSXBOT_API_KEY`` ...), once its aggregator answers; always stopped."""
    ports = Ports.free()
    args = ["run-all", *ports.overrides(), *PINNED, "--set", f"system.logDir={tmp_path / 'logs'}"]
    with running(*args, cwd=tmp_path, env=clean_env(**keys)) as system:
        wait_http(f"http://127.0.0.1:{ports.aggregator_api}/health", system, within=90)
        yield ports, system


def keep(shot: Path, name: str) -> None:
    """The screenshot ``shot`` kept as ``test-artifacts/<name>`` (the README links it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)


def take_console_error(page: Any, errors: list[str], text: str, within_s: float = 10.0) -> str:
    """The page's console error that holds ``text``, waited for and taken out of ``errors``
    (chromium logs a refused request itself, a moment after the page has shown the refusal)."""
    deadline = time.monotonic() + within_s
    while True:
        found = next((e for e in errors if text in e), None)
        if found is not None:
            errors.remove(found)
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no console error with {text!r} within {within_s} s (errors: {errors})")
        page.wait_for_timeout(50)  # (Playwright delivers the page's events while it waits)
