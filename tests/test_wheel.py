"""The release wheel installs into a fresh venv with nothing else from this repo, and the
built-in strategies and example configs work from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def find_or_build_wheel(tmp: Path) -> Path:
    """``make test`` builds ``dist/tsxbot-*.whl`` first; elsewhere, build one (release) here."""
    wheels = sorted((REPO / "dist").glob("tsxbot-*.whl"))
    if wheels:
        return wheels[-1]
    subprocess.run(
        [sys.executable, "-m", "maturin", "build", "--release", "--out", str(tmp)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return next(tmp.glob("tsxbot-*.whl"))


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    wheel = find_or_build_wheel(tmp_path)
    assert "abi3" in wheel.name  # one wheel for every CPython >= 3.11
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "tsxbot/_core.abi3.so",
        "tsxbot/_core.pyi",
        "tsxbot/py.typed",
        "tsxbot/defaults/global.yaml",
        "tsxbot/defaults/instruments.yaml",
        "tsxbot/defaults/bots/bot_1.yaml",
        "tsxbot/strategies/params.py",
        "tsxbot/journal/migrations/env.py",
        "tsxbot/journal/migrations/versions/0001_orders_and_fills.py",
        "tsxbot/journal/migrations/versions/0002_trades_and_audit.py",
        "tsxbot/journal/migrations/versions/0003_account_history.py",
        "tsxbot/web/static/dashboard.html",
        "tsxbot/web/static/dashboard.js",
        "tsxbot/web/static/control.html",
        "tsxbot/web/static/control.js",
        "tsxbot/web/static/manual.html",
        "tsxbot/web/static/manual.js",
        "tsxbot/web/static/common.js",
        "tsxbot/web/static/style.css",
        "tsxbot/web/static/vendor/lightweight-charts.standalone.production.js",
        "tsxbot/web/static/vendor/LICENSE-lightweight-charts",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    # A fresh venv without pip of its own: this interpreter's pip installs the wheel and its
    # dependencies into it (``--python``), without byte-compiling them (imports compile what they
    # use); ensurepip and compiling every installed module took most of this test's time.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-compile", str(wheel)], check=True, timeout=600)

    elsewhere = tmp_path / "elsewhere"  # no config/ here, no repo on the path
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOPSTEP", "TSXBOT", "REDIS", "PYTHON"))}
    tsxbot = str(venv / "bin" / "tsxbot")
    version = subprocess.run([tsxbot, "--version"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    check = subprocess.run(
        [tsxbot, "config", "check"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stderr
    assert "configuration OK: 3 bots" in check.stdout
    assert "/site-packages/tsxbot/defaults" in check.stdout
    probe = subprocess.run(
        [
            python,
            "-c",
            "import tsxbot, tsxbot.strategies.params as p; from tsxbot.ticks import TickSize; "
            "print(tsxbot.__file__, sorted(p.BUILTIN_STRATEGY_PARAMS), TickSize(0.25).to_ticks(5000.5))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr
    assert str(venv) in probe.stdout
    assert "['EMA_CROSS', 'ORB_RUBBER_BAND', 'PDH_PDL'] 20002" in probe.stdout
    # The journal's migrations ship in the wheel: a new journal in the working directory, at head.
    journal = subprocess.run(
        [
            python,
            "-c",
            "from tsxbot.journal import DEFAULT_URL, open_journal, current_revision; "
            "print(current_revision(open_journal(DEFAULT_URL)))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert journal.returncode == 0, journal.stderr
    # The newest migration in the source tree is the journal's version once the wheel made it.
    versions = REPO / "python" / "tsxbot" / "journal" / "migrations" / "versions"
    assert journal.stdout.strip() == max(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert (elsewhere / "tsxbot-journal.db").exists()
