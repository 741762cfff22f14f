"""The decision: outcome, urgency, every reason with its source, advice, and what produced it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from .explain import WhyNot
from .history import Context, history_matched
from .logic import holds, matched
from .outcomes import Outcome, Urgency, severity
from .pack import Rule, RulePack
from .report import Report


class _Frozen(BaseModel):
    """Immutable and strict: a decision is a record, and its field names are a public contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Frozen):
    """A rule that fired, with the answers that made it fire."""

    rule: str
    title: str
    outcome: Outcome
    urgency: Urgency | None = None
    patient: str
    clinician: str
    source: str
    matched: dict[str, Any]


class Note(_Frozen):
    """A sentence for the patient that a pack adds when its condition holds (insulin, a previous
    clot); it never changes the outcome."""

    note: str
    title: str
    patient: str
    clinician: str
    source: str
    matched: dict[str, Any]


class PackInfo(_Frozen):
    name: str
    version: str
    sha256: str


class EngineInfo(_Frozen):
    name: str
    version: str


class HistoryInfo(_Frozen):
    """Whether the patient's earlier checks were known; history rules fire only when they were."""

    available: bool
    earlier_checks: int | None = None


class Decision(_Frozen):
    """What to do after a session, and why. ``urgency`` is set only for seek_medical_review;
    ``advice`` only when the outcome is continue."""

    outcome: Outcome
    urgency: Urgency | None = None
    reasons: tuple[Reason, ...]
    advice: tuple[str, ...]
    rule_pack: PackInfo
    engine: EngineInfo
    history: HistoryInfo
    report: Report
    notes: tuple[Note, ...] = ()
    why_not: tuple[WhyNot, ...] | None = None
    """Only when asked for (``evaluate(..., explain=True)``): each more severe rule that did not
    fire, and the fewest answers that kept it from firing. For clinicians, never for patients."""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _reason(pack: RulePack, rule: Rule, context: Context) -> Reason:
    found = matched(rule.condition, context.answers) if rule.condition is not None else {}
    return Reason(
        rule=rule.id,
        title=rule.title,
        outcome=rule.outcome,
        urgency=rule.urgency,
        patient=rule.patient,
        clinician=rule.clinician,
        source=f"{pack.policy} {rule.policy_row}; {rule.reference}",
        matched={**found, **history_matched(rule.when, context)},
    )


def build_decision(
    pack: RulePack, report: Report, fired: set[str], engine: EngineInfo, context: Context
) -> Decision:
    """Combine the fired rules: the most severe outcome wins, most severe reasons first."""
    rules = [rule for rule in pack.rules if rule.id in fired]
    rules.sort(key=lambda r: -severity(r.outcome, r.urgency))  # stable: pack order within a tier
    top = rules[0] if rules else None
    outcome = top.outcome if top else "continue"
    urgency = top.urgency if top and outcome == "seek_medical_review" else None
    advice: tuple[str, ...] = ()
    if outcome == "continue":  # the no-alert sentence only when no continue row has advice
        advice = tuple(r.advice for r in rules if r.advice) or (pack.no_alert,)
    earlier = context.earlier
    return Decision(
        outcome=outcome,
        urgency=urgency,
        reasons=tuple(_reason(pack, r, context) for r in rules),
        advice=advice,
        rule_pack=PackInfo(name=pack.name, version=pack.version, sha256=pack.sha256),
        engine=engine,
        history=HistoryInfo(
            available=earlier is not None, earlier_checks=None if earlier is None else len(earlier)
        ),
        report=report,
        notes=tuple(
            Note(
                note=note.id,
                title=note.title,
                patient=note.patient,
                clinician=note.clinician,
                source=f"{pack.policy} {note.policy_row}; {note.reference}",
                matched=matched(note.condition, context.answers),
            )
            for note in pack.notes
            if holds(note.condition, context.answers)
        ),
    )
