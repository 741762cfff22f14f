"""The CLI run in process (click's runner), on three vignettes whose checks many log tests
record, and the log's golden files."""

from __future__ import annotations

from click.testing import CliRunner, Result

from tests.support import golden_files
from tests.support.helpers import VIGNETTE_DIR
from triage_cli.cli import main

P10 = str(VIGNETTE_DIR / "p10-chest-pain-ongoing.yaml")
P17 = str(VIGNETTE_DIR / "p17-fever.yaml")
P03 = str(VIGNETTE_DIR / "p03-doms-30h.yaml")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="triage")


def check_golden(name: str, text: str) -> None:
    """``text`` is what tests/support/golden/log/NAME.txt holds (tests/support/golden_files.py)."""
    golden_files.check_golden(f"log/{name}.txt", text)
