"""A validated rule pack: its rules and notes, each with where it was written. Loading builds
these (``loading.py``); the engines, the decision and the explanations read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..logic import Condition, to_data
from ..outcomes import OUTCOMES
from .conditions import when_to_data
from .history import HistoryTest, When


@dataclass(frozen=True)
class Contacts:
    """Whom the patient is told to call, in the clinic's own words (``contacts`` in pack.yaml):
    the emergency number's examples, and the service to call when the clinician cannot be
    reached in time (clinical.md section 7)."""

    emergency_examples: str = "999, 112 or 911"
    urgent_care: str = "an urgent-care service"

    def to_data(self) -> dict[str, str]:
        return {"emergency_examples": self.emergency_examples, "urgent_care": self.urgent_care}


@dataclass(frozen=True)
class Rule:
    """One validated rule, with where it was written."""

    id: str
    title: str
    outcome: str
    urgency: str | None
    when: When
    patient: str
    clinician: str
    advice: str | None
    policy_row: str
    reference: str
    file: str
    line: int
    worse_if: str | None = None
    """What to do if it gets worse, for this rule's patient (the safety net, clinical.md 7)."""
    headline: str | None = None
    """A continue rule's first line, when it holds the load (clinical.md section 4, v3)."""

    @property
    def condition(self) -> Condition | None:
        """The condition on this report (None: the rule looks only at earlier checks)."""
        return self.when.condition

    @property
    def history(self) -> tuple[HistoryTest, ...]:
        return self.when.history

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "outcome": self.outcome,
            "urgency": self.urgency,
            "when": when_to_data(self.when),
            "patient": self.patient,
            "clinician": self.clinician,
            "advice": self.advice,
            "worse_if": self.worse_if,
            "headline": self.headline,
            "source": {"policy": self.policy_row, "reference": self.reference},
        }
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class Note:
    """A sentence added to what the patient reads when its condition holds (clinical.md section
    5: insulin, a previous clot). A note never changes the outcome: it is not a rule."""

    id: str
    title: str
    condition: Condition
    patient: str
    clinician: str
    policy_row: str
    reference: str
    file: str
    line: int

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "when": to_data(self.condition),
            "patient": self.patient,
            "clinician": self.clinician,
            "source": {"policy": self.policy_row, "reference": self.reference},
        }


@dataclass(frozen=True)
class RulePack:
    """A validated rule pack. ``sha256`` hashes its canonical content, not its formatting."""

    name: str
    version: str
    policy: str
    no_alert: str
    rules: tuple[Rule, ...]
    sha256: str
    path: str
    notes: tuple[Note, ...] = ()
    follow_up: dict[str, float] = field(default_factory=dict)
    """Hours within which an outcome expects a later check of the patient, by level key
    ('same_day', 'routine'): the clinician's worklist shows a follow-up due but not received."""
    contacts: Contacts = field(default_factory=Contacts)
    rows: tuple[str, ...] = ()
    """The policy's rows as pack.yaml lists them (empty when it does not). Not in the hash: the
    list changes no decision."""

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def source(self, item: Rule | Note) -> str:
        """Where a rule or note comes from, as a decision cites it: policy, row, reference."""
        return f"{self.policy} {item.policy_row}; {item.reference}"

    @cached_property
    def history_days(self) -> float:
        """How many days of earlier checks the rules look at (0: none of them does). Worked
        out once per pack (a check asks twice; the rules never change)."""
        return max((r.when.window_days for r in self.rules), default=0)

    def summary(self) -> str:
        counts = {o: sum(r.outcome == o for r in self.rules) for o in OUTCOMES}
        by_outcome = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        return (
            f"{self.name} {self.version}: {len(self.rules)} rules ({by_outcome}); "
            f"sha256 {self.sha256[:12]}"
        )
