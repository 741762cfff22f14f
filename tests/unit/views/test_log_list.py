"""``triage log list`` in a terminal of any width (issue 25, point 7): at 80 columns no line is
wider than the terminal, no column is broken over two lines, and the top reason is shown whole
under its row rather than cut to a few words; wide terminals keep one line per check."""

from __future__ import annotations

import pytest

from triage.log import EntrySummary
from triage.views.log import entry_table

REASON = "Chest pain that has not gone (not only sore to touch)"


def summary(entry_id: int, verdict: str | None, reason: str = REASON) -> EntrySummary:
    return EntrySummary(
        entry_id, "2026-12-07T10:00:00.000000Z", "2026-12-07T09:58:00.000000Z", "margaret70",
        "s-1", "seek_medical_review", "emergency", reason, verdict,  # type: ignore[arg-type]
    )  # fmt: skip


ENTRIES = [summary(12, "overridden"), summary(11, "accepted"), summary(10, None, "x " * 120)]


@pytest.mark.parametrize("width", [76, 80, 99])
def test_a_narrow_terminal_puts_each_reason_whole_under_its_row(width: int) -> None:
    lines = [line.text for line in entry_table(ENTRIES, None, width)]
    assert max(len(line) for line in lines) <= width
    assert lines[0].split() == ["id", "answered", "(UTC)", "patient", "outcome", "reviewed"]
    assert lines[1].split()[-1] == "overridden" and lines[3].split()[-1] == "accepted"
    assert lines[2].strip() == REASON  # whole, on the line below its row
    assert lines[6].startswith(" " * 10) and lines[7].endswith("…")  # at most two lines
    assert lines[-1] == "3 entries, 1 urgent and unreviewed (!! emergency or urgent, ! same day)."


def test_a_wide_terminal_keeps_one_line_per_check() -> None:
    lines = [line.text for line in entry_table(ENTRIES, None, 140)]
    assert lines[0].endswith("reviewed    top reason") and len(lines) == 5
    assert lines[1].endswith(f"overridden  {REASON}")
    assert lines[3].endswith("…") and max(len(line) for line in lines) <= 140
