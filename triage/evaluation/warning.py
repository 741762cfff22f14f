"""Early warnings: the rows a half-answered questionnaire already meets, whatever comes next.

After each answer the questionnaire asks ``early_warning`` whether the answers given so far meet
an emergency or urgent row *whatever the remaining answers are* (clinical.md section 6.4). The
conditions are evaluated in three-valued logic (``logic.truth``) with every answer still to come
unknown, so a warning is sound: every way of finishing the questionnaire is evaluated at least as
urgent (tests/unit/evaluation/test_warning.py proves it over generated partial answers). History
rules need the log and the whole report: only the single-report rules are considered.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from .._version import __version__
from ..errors import Problem
from ..logic import matched, truth
from ..outcomes import Outcome, Urgency, read_by_patient, severity
from ..pack.loading import default_pack
from ..pack.rules import Rule, RulePack
from .decision import ContactInfo, Note, PackInfo, Reason, contact_info
from .questionnaire import ITEMS
from .safety_net import safety_net

EVALUATOR = {"name": "early-warning", "version": __version__}
"""What decided a stopped-early check (the log's engine columns): the three-valued evaluation of
the pack's conditions in this module, not a rule engine."""


@dataclass(frozen=True)
class EarlyWarning:
    """The rows that partial answers meet whatever the answers still to come: ``urgency`` is the
    highest of them. ``reasons`` lists every alert row already met (same day and routine ones
    too), most severe first; ``unanswered`` the questions that were not asked, in asking
    order."""

    urgency: Urgency
    reasons: tuple[Reason, ...]
    answers: dict[str, Any]
    unanswered: tuple[str, ...]
    rule_pack: PackInfo
    notes: tuple[Note, ...] = ()
    interrupted: bool = False
    """Whether the patient stopped the questionnaire (Ctrl-C, end of input) rather than it
    stopping at a red flag."""
    engine: dict[str, str] = field(default_factory=lambda: dict(EVALUATOR))
    safety_net: tuple[str, ...] = ()
    """What the patient reads last: what to do if it gets worse (clinical.md section 7)."""
    contacts: ContactInfo = field(default_factory=ContactInfo)
    problems: tuple[Problem, ...] = ()
    """For answers given all at once (``triage.check``) that do not fit the contract: what was
    missing or refused. Those answers were left unknown."""

    outcome: ClassVar[Outcome] = "seek_medical_review"

    @property
    def severity(self) -> int:
        return severity(self.outcome, self.urgency)

    def to_dict(self) -> dict[str, Any]:
        """The stopped-early check as the log stores it (its ``decision_json``) and ``--json``
        prints it: a decision's keys, and ``stopped_early``."""
        found = {
            "stopped_early": True,
            "interrupted": self.interrupted,
            "outcome": self.outcome,
            "urgency": self.urgency,
            "reasons": [r.model_dump(mode="json", exclude_none=True) for r in self.reasons],
            "advice": [],
            "notes": [n.model_dump(mode="json") for n in self.notes],
            "rule_pack": self.rule_pack.model_dump(mode="json"),
            "engine": dict(self.engine),
            "unanswered": list(self.unanswered),
            "safety_net": list(self.safety_net),
            "contacts": self.contacts.model_dump(mode="json"),
            "report": dict(self.answers),
        }
        if self.problems:
            found["problems"] = [problem.to_dict() for problem in self.problems]
        return found

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EarlyWarning:
        """The warning ``to_dict`` gave (a stopped-early check read back from the log)."""
        return cls(
            urgency=data["urgency"],
            reasons=tuple(Reason.model_validate(r) for r in data["reasons"]),
            answers=dict(data["report"]),
            unanswered=tuple(data["unanswered"]),
            rule_pack=PackInfo.model_validate(data["rule_pack"]),
            notes=tuple(Note.model_validate(n) for n in data["notes"]),
            interrupted=data["interrupted"],
            engine=dict(data["engine"]),
            safety_net=tuple(data.get("safety_net", ())),
            contacts=ContactInfo.model_validate(data.get("contacts", {})),
            problems=tuple(Problem(**p) for p in data.get("problems", ())),
        )


def _single_report(rule: Rule) -> bool:
    return rule.condition is not None and not rule.history


def definite_rules(
    answers: Mapping[str, Any], unknown: Collection[str], pack: RulePack
) -> list[Rule]:
    """The pack's single-report alert rules (reduce load or medical review) that hold whatever
    the ``unknown`` answers turn out to be, most severe first."""
    found = [
        rule
        for rule in pack.rules
        if rule.outcome != "continue"
        and _single_report(rule)
        and truth(rule.condition, answers, unknown) is True  # type: ignore[arg-type]
    ]
    return sorted(found, key=lambda r: -severity(r.outcome, r.urgency))


def early_warning(
    answers: Mapping[str, Any],
    unknown: Collection[str],
    pack: RulePack | None = None,
    *,
    at_least: str = "urgent",
    interrupted: bool = False,
) -> EarlyWarning | None:
    """A warning when ``answers`` (some of a report's, the rest ``unknown``) already meet a
    medical-review row of urgency ``at_least`` or higher (by default: urgent or emergency,
    where the questionnaire stops); None otherwise. ``answers`` holds what the final report
    would hold: the answers given, the patient's profile and conditions, absent ones left out."""
    rules = pack if pack is not None else default_pack()
    known = {k: v for k, v in answers.items() if k not in unknown}
    met = definite_rules(known, unknown, rules)
    threshold = severity("seek_medical_review", at_least)
    if not met or severity(met[0].outcome, met[0].urgency) < threshold:
        return None
    urgency = cast(Urgency, met[0].urgency)
    shown = [rule for rule in met if read_by_patient("seek_medical_review", urgency, rule)]
    return EarlyWarning(
        urgency=urgency,
        reasons=tuple(_reason(rules, rule, known, unknown) for rule in met),
        answers=known,
        unanswered=tuple(name for name in ITEMS if name in unknown),
        rule_pack=PackInfo(name=rules.name, version=rules.version, sha256=rules.sha256),
        notes=tuple(
            Note.of(note, rules.source(note), matched(note.condition, known, unknown))
            for note in rules.notes
            if truth(note.condition, known, unknown) is True
        ),
        interrupted=interrupted,
        safety_net=safety_net("seek_medical_review", urgency, shown, rules.contacts),
        contacts=contact_info(rules.contacts),
    )


def _reason(
    pack: RulePack, rule: Rule, answers: Mapping[str, Any], unknown: Collection[str]
) -> Reason:
    assert rule.condition is not None
    return Reason.of(rule, pack.source(rule), matched(rule.condition, answers, unknown))
