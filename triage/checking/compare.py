"""A follow-up compared with the patient's earlier check of the same session: what changed.

The worst pain during the session is a fact of the session, the same in every check of it; what
can change since is compared: the pain now, and the pain trend, swelling and weakness when both
checks give them (swelling and weakness only when either check has some: no news is not shown).
Pure functions: ``check`` gives them the earlier checks it read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..contract.field_table import FIELDS

if TYPE_CHECKING:
    from ..contract.report import Report
    from ..pack.history import Earlier

COMPARED = ("pain_now", "pain_trend", "swelling", "weakness")
"""What a follow-up compares with the earlier check, in this order."""

LABELS = {
    "pain_now": "pain now",
    "pain_trend": "pain trend",
    "swelling": "swelling",
    "weakness": "weakness",
}

Word = Literal["better", "worse", "the same", "changed"]


@dataclass(frozen=True)
class Change:
    """One answer in both checks: before (the earlier check's), after (this one's), and whether
    that is better, worse or the same (``changed`` when the answers have no order)."""

    field: str
    label: str
    before: Any
    after: Any
    word: Word

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after, "word": self.word}


@dataclass(frozen=True)
class Comparison:
    """A follow-up compared with the earlier check of the same session reported at
    ``reported_at``: each answer both give, in ``COMPARED`` order."""

    reported_at: datetime
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reported_at": self.reported_at.isoformat(),
            "changes": [change.to_dict() for change in self.changes],
        }


def compare(earlier: Mapping[str, Any], now: Mapping[str, Any]) -> tuple[Change, ...]:
    """The answers of ``COMPARED`` that both checks give, earlier against now (but no swelling
    or weakness that neither has)."""
    changes = []
    for name in COMPARED:
        before, after = earlier.get(name), now.get(name)
        if before is None or after is None or before == after == "none" != name:
            continue
        changes.append(Change(name, LABELS[name], before, after, word(name, before, after)))
    return tuple(changes)


def word(name: str, before: Any, after: Any) -> Word:
    """Whether ``after`` is better, worse or the same as ``before``, by the order of worse
    answers the contract gives the field (``Ask.worse``)."""
    if before == after:
        return "the same"
    worse = FIELDS[name].ask.worse
    if worse == "higher":
        return "worse" if after > before else "better"
    if isinstance(worse, tuple):
        for chain in worse:
            if before in chain and after in chain:
                return "worse" if chain.index(after) > chain.index(before) else "better"
    return "changed"


def compared_with(earlier: Iterable[Earlier], report: Report) -> Comparison | None:
    """``report`` compared with the most recent earlier check of its session (among
    ``earlier``) that gives an answer to compare; None when there is none."""
    before = report.reported_at
    same = [e for e in earlier if e.session_id == report.session_id and e.reported_at < before]
    answers = report.answers()
    for check in sorted(same, key=lambda e: e.reported_at, reverse=True):
        changes = compare(check.answers, answers)
        if changes:
            return Comparison(check.reported_at, changes)
    return None
