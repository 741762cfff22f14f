"""Golden files: a user-facing message compared with the file that holds it exactly, and the
example runs a page shows compared with the real runs.

``TRIAGE_REGOLD=1 pytest ...`` rewrites the files (or the lines of a page), on purpose only; this
module alone reads it (tests/unit/rules/test_pack_errors.py checks). The words a dependency chooses
(the YAML parser's or JSON decoder's description of a syntax error, SQLite's reason for not opening
a file) are compared as a placeholder on both sides: a new release of PyYAML or SQLite may word
them differently, and what the test pins is ours (the file, the line, what happened and the fix
around them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from tests.support.helpers import ROOT

GOLDEN = ROOT / "tests" / "support" / "golden"

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


REGOLD = "TRIAGE_REGOLD"
"""The environment variable that makes a run rewrite the golden files, on purpose only."""


def regenerating() -> bool:
    """Whether this run rewrites the golden files (TRIAGE_REGOLD=1)."""
    return bool(os.environ.get(REGOLD))


def check_golden(path: Path | str, actual: str) -> None:
    """``actual`` is what the golden file ``path`` (relative to tests/support/golden) holds, but
    for the words a dependency chooses; TRIAGE_REGOLD=1 rewrites the file."""
    golden = GOLDEN / path
    if regenerating():
        golden.write_text(actual)
    assert without_dependency_words(actual) == without_dependency_words(golden.read_text())


def check_shown(
    page: Path,
    shown: list[str],
    actual: list[str],
    agree: Callable[[list[str], list[str]], bool],
    *,
    rewritable: bool = True,
) -> None:
    """The lines ``shown``, a part of the file ``page``, ``agree`` with the ``actual`` ones;
    TRIAGE_REGOLD=1 puts ``actual`` in their place instead (found by their text: an earlier
    rewrite moves the lines), unless they are not ``rewritable`` (lines with patterns a person
    wrote are left to a person)."""
    if regenerating() and rewritable:
        old, new = "\n".join(shown) + "\n", "\n".join(actual) + "\n"
        page.write_text(page.read_text().replace(old, new, 1))
        return
    assert agree(shown, actual), "\n".join(actual)
