"""The hand-kept ``tsxbot/_core.pyi`` says exactly what the extension has: every class, function
and argument, checked by mypy's stubtest against the installed module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# pyo3 adds ``__all__`` to the module; PEP 800 ``disjoint_base`` markers are not worth the noise.
ALLOWLIST = "tsxbot._core.__all__\n"


@pytest.mark.slow
def test_core_stub_matches_the_extension(tmp_path: Path) -> None:
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text(ALLOWLIST)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "tsxbot._core",
            "--ignore-disjoint-bases",
            "--allowlist",
            str(allowlist),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
