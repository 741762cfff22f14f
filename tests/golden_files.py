"""Golden files: a user-facing message compared with the file that holds it exactly.

``TRIAGE_REGOLD=1 pytest ...`` rewrites the files, on purpose only. The words a dependency
chooses (the YAML parser's or JSON decoder's description of a syntax error, SQLite's reason for
not opening a file) are compared as a placeholder on both sides: a new release of PyYAML or
SQLite may word them differently, and what the test pins is ours (the file, the line, what
happened and the fix around them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.helpers import ROOT

GOLDEN = ROOT / "tests" / "golden"

DEPENDENCY_WORDS = [
    (re.compile(r"(not valid YAML: ).+?(; check the)"), r"\1<the YAML parser's words>\2"),
    (re.compile(r"(not valid JSON: ).+?( \(column \d+\))"), r"\1<the JSON decoder's words>\2"),
    (re.compile(r"(is not a triage log) \(.+\)$", re.M), r"\1 (<SQLite's words>)"),
]
"""Each: a pattern around a dependency's words, and what stands for them."""


def without_dependency_words(text: str) -> str:
    for pattern, placeholder in DEPENDENCY_WORDS:
        text = pattern.sub(placeholder, text)
    return text


def check_golden(path: Path | str, actual: str) -> None:
    """``actual`` is what the golden file ``path`` (relative to tests/golden) holds, but for the
    words a dependency chooses; TRIAGE_REGOLD=1 rewrites the file."""
    golden = GOLDEN / path
    if os.environ.get("TRIAGE_REGOLD"):
        golden.write_text(actual)
    assert without_dependency_words(actual) == without_dependency_words(golden.read_text())
