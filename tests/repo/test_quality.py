"""The repository stays clean for ruff (lint and format) and for mypy (strict), as configured in
pyproject.toml. The tools come with the test extra; each runs once, from the repository root,
with the interpreter running the tests, and writes no cache into the source tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.helpers import ROOT


def run_tool(*args: str, timeout: float) -> None:
    """Run ``python -m ARGS`` in the repository root; fail showing its output unless it exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"'{' '.join(args)}' exited with {result.returncode}:\n{result.stdout}{result.stderr}"
    )


def test_ruff_check_is_clean() -> None:
    run_tool("ruff", "check", "--no-cache", ".", timeout=120)


def test_ruff_format_leaves_nothing_to_change() -> None:
    run_tool("ruff", "format", "--check", "--no-cache", ".", timeout=120)


def test_mypy_is_clean(tmp_path: Path) -> None:
    run_tool("mypy", "--cache-dir", str(tmp_path / "mypy-cache"), timeout=600)
