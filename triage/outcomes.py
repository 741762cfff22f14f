"""Outcomes and urgencies, from least to most severe (clinical.md section 3)."""

from __future__ import annotations

from typing import Literal

Outcome = Literal["continue", "reduce_load", "seek_medical_review"]
Urgency = Literal["routine", "same_day", "emergency"]

OUTCOMES: tuple[Outcome, ...] = ("continue", "reduce_load", "seek_medical_review")
URGENCIES: tuple[Urgency, ...] = ("routine", "same_day", "emergency")


def severity(outcome: str, urgency: str | None = None) -> int:
    """One number that orders every (outcome, urgency) pair: 0 continue ... 4 emergency."""
    rank = OUTCOMES.index(outcome)
    if outcome == "seek_medical_review":
        rank += URGENCIES.index(urgency)
    return rank


def describe(outcome: str, urgency: str | None = None) -> str:
    """'seek_medical_review (same_day)' or just the outcome."""
    return f"{outcome} ({urgency})" if urgency else outcome
