"""The decision: outcome, urgency, every reason with its source, advice, and what produced it."""

from __future__ import annotations

import functools
import json
from typing import Any, TypeVar

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


# A decision is built from what the library made itself: the pack's rules and notes (validated
# when the pack was loaded), a validated report and the answers it holds. It is put together
# without validating it again (``_made``), with exactly the values, types and fields set that
# validation would give (tests/unit/evaluation/test_decision_made.py holds the two together);
# what comes from outside (a decision read back from the log, an embedder's data) is still
# validated.

_Model = TypeVar("_Model", bound=BaseModel)
_set_dict = object.__setattr__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _made(cls: type[_Model], values: dict[str, Any], fields_set: set[str] | None = None) -> _Model:
    """``cls.model_construct(**values)`` without its look-ups of aliases and defaults: ``values``
    holds every field of ``cls``, in its order; ``fields_set`` those given (default: all)."""
    model = cls.__new__(cls)
    _set_dict(model, "__dict__", values)
    _set_fields_set(model, set(values) if fields_set is None else fields_set)
    _set_extra(model, None)  # extra="forbid", and no private attributes
    _set_private(model, None)
    return model


def _reason(compiled_rule: CompiledRule, context: Context) -> Reason:
    """A rule that fired as a reason (``Reason.of``, not validated again)."""
    rule, matched = compiled_rule.rule, compiled_rule.matched
    found = matched(context.answers) if matched is not None else {}
    if rule.history:
        found.update(history_matched(rule.when, context))
    return _made(Reason, {**compiled_rule.reason, "matched": found})


def _note(compiled_note: CompiledNote, context: Context) -> Note:
    """A note that holds (``Note.of``, not validated again)."""
    note = compiled_note.note
    values = {
        "note": note.id,
        "title": note.title,
        "patient": note.patient,
        "clinician": note.clinician,
        "source": compiled_note.source,
        "matched": compiled_note.matched(context.answers),
    }
    return _made(Note, values)


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
    values = {
        "outcome": outcome,
        "urgency": urgency,
        "reasons": tuple(_reason(r, context) for r in ranked),
        "advice": advice,
        "rule_pack": pack_info(pack.name, pack.version, pack.sha256),
        "engine": engine,
        "history": history_info(earlier is not None, None if earlier is None else len(earlier)),
        "report": report,
        "notes": tuple(_note(note, context) for note in code.notes(context.answers)),
        "headline": headline,
        "safety_net": safety_net(outcome, urgency, shown, pack.contacts),
        "contacts": contact_info(pack.contacts),
    }
    given = set(values)  # why_not is added only when asked for (``evaluate(explain=True)``)
    values["why_not"] = None
    return _made(Decision, values, given)


@functools.cache
def contact_info(contacts: Contacts) -> ContactInfo:
    return ContactInfo(**contacts.to_data())


# -- a decision as plain data, between processes -----------------------------------------------
#
# ``evaluate_many``'s workers send their decisions to the parent as plain data (tuples, dicts,
# strings): unpickling a model costs a call of its ``__setstate__`` per object, and the parent
# spent more time unpickling decisions than the workers spent making them. The parent rebuilds
# each decision from it, without validating it again (the worker built it: ``build_decision``),
# with the same values, types and fields set.

Plain = tuple[Any, ...]


def to_plain(decision: Decision) -> Plain:
    """``decision`` as plain data, for ``from_plain``."""
    values = decision.__dict__
    return (
        values["outcome"],
        values["urgency"],
        tuple(_state(reason) for reason in values["reasons"]),
        values["advice"],
        _state(values["rule_pack"]),
        _state(values["engine"]),
        _state(values["history"]),
        _state(values["report"]),
        tuple(_state(note) for note in values["notes"]),
        values["headline"],
        values["safety_net"],
        _state(values["contacts"]),
        values["why_not"],
        decision.__pydantic_fields_set__,
    )


def from_plain(data: Plain) -> Decision:
    """The decision ``to_plain`` made ``data`` of."""
    (outcome, urgency, reasons, advice, pack, engine, history, report, notes, headline, net,
     contacts, why_not, given) = data  # fmt: skip
    values = {
        "outcome": outcome,
        "urgency": urgency,
        "reasons": tuple([_made(Reason, *reason) for reason in reasons]),
        "advice": advice,
        "rule_pack": _shared(PackInfo, pack),
        "engine": _shared(EngineInfo, engine),
        "history": _shared(HistoryInfo, history),
        "report": _made(Report, *report),
        "notes": tuple([_made(Note, *note) for note in notes]),
        "headline": headline,
        "safety_net": net,
        "contacts": _shared(ContactInfo, contacts),
        "why_not": why_not,
    }
    return _made(Decision, values, given)


_State = tuple[dict[str, Any], "set[str] | None"]


def _state(model: BaseModel) -> _State:
    """A model's fields, and those set when not all of them are (``_made``'s default)."""
    if model.__pydantic_extra__ or model.__pydantic_private__:  # none of ours has any
        raise TypeError(f"{type(model).__name__} has extra or private data")
    values, given = model.__dict__, model.__pydantic_fields_set__
    return values, (None if len(given) == len(values) else given)


def _shared(cls: type[_Model], state: _State) -> _Model:
    """A small model that many decisions hold the same (the pack, the engine): made once per
    content, as one decision's are shared by all of a worker's (pickle keeps one of each)."""
    values, given = state
    key = (cls, tuple(values.items()), None if given is None else frozenset(given))
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) >= 4096:
            _SHARED.clear()
        found = _SHARED[key] = _made(cls, values, given)
    return found  # type: ignore[return-value]


_SHARED: dict[Any, BaseModel] = {}
