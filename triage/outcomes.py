"""Outcomes and urgencies, from least to most severe (clinical.md section 3), defined once.

Every (outcome, urgency) pair is a ``Level``: its rank, the words a clinician reads, the style
the screens give it, the exit status of ``triage check --exit-code`` and the flag that marks it
unreviewed in ``triage log list``. Everything else derives from ``LEVELS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Outcome = Literal["continue", "reduce_load", "seek_medical_review"]
Urgency = Literal["routine", "same_day", "urgent", "emergency"]

OUTCOMES: tuple[Outcome, ...] = ("continue", "reduce_load", "seek_medical_review")
URGENCIES: tuple[Urgency, ...] = ("routine", "same_day", "urgent", "emergency")


@dataclass(frozen=True)
class Level:
    outcome: Outcome
    urgency: Urgency | None
    words: str
    style: str
    exit_code: int
    flag: str = ""

    @property
    def key(self) -> str:
        """One word naming the level: its urgency, or its outcome ('reduce_load')."""
        return self.urgency or self.outcome


LEVELS: tuple[Level, ...] = (
    Level("continue", None, "continue", "ok", 0),
    Level("reduce_load", None, "reduce load", "caution", 3),
    Level("seek_medical_review", "routine", "routine review", "caution", 4),
    Level("seek_medical_review", "same_day", "same day", "urgent", 5, "!"),
    Level("seek_medical_review", "urgent", "URGENT: ED now", "emergency", 7, "!!"),
    Level("seek_medical_review", "emergency", "EMERGENCY", "emergency", 6, "!!"),
)
"""Least to most severe. Exit statuses are stable: 'urgent' came in policy v2 with status 7."""

KEYS = tuple(lv.key for lv in LEVELS)
_BY_KEY = {lv.key: lv for lv in LEVELS}
_BY_PAIR = {(level.outcome, level.urgency): level for level in LEVELS}


def level(outcome: str, urgency: str | None = None) -> Level:
    """The level of an outcome; KeyError for a pair no version of triage writes."""
    return _BY_PAIR[(outcome, urgency)]  # type: ignore[index]


def by_key(key: str) -> Level:
    """The level a ``Level.key`` names ('same_day', 'reduce_load'); KeyError for none."""
    return _BY_KEY[key]


def severity(outcome: str, urgency: str | None = None) -> int:
    """One number that orders every (outcome, urgency) pair: 0 continue ... 5 emergency."""
    return LEVELS.index(level(outcome, urgency))


def describe(outcome: str, urgency: str | None = None) -> str:
    """'seek_medical_review (same_day)' or just the outcome."""
    return f"{outcome} ({urgency})" if urgency else outcome


OVERRIDE_REASONS: dict[str, str] = {
    "less_urgent": "Less urgent than decided (assessed: not needed at this level)",
    "more_urgent": "More urgent than decided",
    "answers_wrong": "The answers were mistaken or misunderstood",
    "known_cause": "Explained by a known condition or the care plan",
    "other": "Other (say why in the note)",
}
"""The coded reasons a clinician gives when overriding a decision, with their words."""

CONTACT_OUTCOMES: dict[str, str] = {
    "reached": "Reached the patient",
    "no_answer": "Tried to reach the patient: no answer",
    "advised_to_attend": "Advised the patient to attend (emergency department, GP or clinic)",
    "attended_ed": "The patient attended the emergency department",
    "other": "Other (say what in the note)",
}
"""What came of a clinician's contact with the patient about a check, with its words."""


class Leveled(Protocol):
    """A rule, or a reason of a decision: both have an outcome and an urgency."""

    @property
    def outcome(self) -> str: ...

    @property
    def urgency(self) -> str | None: ...


def read_by_patient(outcome: str, urgency: str | None, reason: Leveled) -> bool:
    """Whether the patient reads ``reason`` under a result of ``outcome`` and ``urgency``:
    under an emergency or urgent result the emergency and urgent reasons; under same day or
    routine every medical-review reason; otherwise the reasons of the outcome itself. The others
    stay in the decision, for the clinician."""
    if outcome == "seek_medical_review" and urgency in ("emergency", "urgent"):
        return reason.urgency in ("emergency", "urgent")
    return reason.outcome == outcome
