"""The decision: outcome, urgency, every reason with its source, advice, and what produced it."""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..contract.report import Report
from ..outcomes import Outcome, Urgency, read_by_patient
from ..pack.compiled import CompiledNote, CompiledRule, compiled, reason_fields
from ..pack.explain import WhyNot
from ..pack.history import Context, history_matched
from ..pack.rules import Contacts, Rule, RulePack
from ..pack.rules import Note as PackNote
from .safety_net import safety_net


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

    @classmethod
    def of(cls, rule: Rule, source: str, matched: dict[str, Any]) -> Reason:
        """``rule`` as a reason, with the answers that made it fire."""
        return cls.model_validate({**reason_fields(rule, source), "matched": matched})


class Note(_Frozen):
    """A sentence for the patient that a pack adds when its condition holds (insulin, a previous
    clot); it never changes the outcome."""

    note: str
    title: str
    patient: str
    clinician: str
    source: str
    matched: dict[str, Any]

    @classmethod
    def of(cls, note: PackNote, source: str, matched: dict[str, Any]) -> Note:
        """The pack's ``note`` as said to the patient, with the answers that made it hold."""
        return cls(
            note=note.id,
            title=note.title,
            patient=note.patient,
            clinician=note.clinician,
            source=source,
            matched=matched,
        )


class PackInfo(_Frozen):
    name: str
    version: str
    sha256: str


class ContactInfo(_Frozen):
    """The clinic's words for whom to call (the pack's ``contacts``), as the patient read them."""

    emergency_examples: str = Contacts.emergency_examples
    urgent_care: str = Contacts.urgent_care


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
    headline: str | None = None
    """A continue result's first line when a continue row holds the load (clinical.md 4)."""
    safety_net: tuple[str, ...] = ()
    """What the patient reads last: what to do if it gets worse (clinical.md section 7)."""
    contacts: ContactInfo = ContactInfo()
    why_not: tuple[WhyNot, ...] | None = None
    """Only when asked for (``evaluate(..., explain=True)``): each more severe rule that did not
    fire, and the fewest answers that kept it from firing. For clinicians, never for patients."""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _reason(compiled_rule: CompiledRule, context: Context) -> dict[str, Any]:
    """A reason as data: ``Decision`` validates it into a ``Reason`` with the rest of the
    decision, in one call."""
    rule, matched = compiled_rule.rule, compiled_rule.matched
    found = matched(context.answers) if matched is not None else {}
    if rule.history:
        found.update(history_matched(rule.when, context))
    return {**compiled_rule.reason, "matched": found}


def _note(compiled_note: CompiledNote, context: Context) -> Note:
    return Note.of(compiled_note.note, compiled_note.source, compiled_note.matched(context.answers))


@functools.cache
def pack_info(name: str, version: str, sha256: str) -> PackInfo:
    return PackInfo(name=name, version=version, sha256=sha256)


@functools.cache
def history_info(available: bool, earlier_checks: int | None) -> HistoryInfo:
    return HistoryInfo(available=available, earlier_checks=earlier_checks)


@functools.cache
def engine_info(name: str, version: str) -> EngineInfo:
    return EngineInfo(name=name, version=version)


def build_decision(
    pack: RulePack, report: Report, fired: set[str], engine: EngineInfo, context: Context
) -> Decision:
    """Combine the fired rules: the most severe outcome wins, most severe reasons first."""
    code = compiled(pack)
    ranked = code.ranked(fired)
    top = ranked[0].rule if ranked else None
    outcome = top.outcome if top else "continue"
    urgency = top.urgency if top and outcome == "seek_medical_review" else None
    advice: tuple[str, ...] = ()
    if outcome == "continue":  # the no-alert sentence only when no continue row has advice
        advice = tuple(r.rule.advice for r in ranked if r.rule.advice) or (pack.no_alert,)
    shown = [r.rule for r in ranked if read_by_patient(outcome, urgency, r.rule)]
    headline = next((rule.headline for rule in shown if rule.headline), None)
    earlier = context.earlier
    return Decision(
        outcome=outcome,
        urgency=urgency,
        reasons=[_reason(r, context) for r in ranked],  # validated into Reasons here
        advice=advice,
        rule_pack=pack_info(pack.name, pack.version, pack.sha256),
        engine=engine,
        history=history_info(earlier is not None, None if earlier is None else len(earlier)),
        report=report,
        notes=tuple(_note(note, context) for note in code.notes(context.answers)),
        headline=headline,
        safety_net=safety_net(outcome, urgency, shown, pack.contacts),
        contacts=contact_info(pack.contacts),
    )


@functools.cache
def contact_info(contacts: Contacts) -> ContactInfo:
    return ContactInfo(**contacts.to_data())
