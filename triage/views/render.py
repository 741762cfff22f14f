"""The decision in words a patient understands (clinical.md section 6).

Returns styled lines, not text: the front end decides on colour. The first line always says
what to do; for an emergency it says to stop and call the emergency number now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from ..outcomes import read_by_patient
from ..wording import counted

if TYPE_CHECKING:
    from ..checking.compare import Change, Comparison
    from ..evaluation.decision import Decision, Note
    from ..evaluation.warning import EarlyWarning


Style = Literal["emergency", "urgent", "caution", "ok", "heading", "text", "note"]

EMERGENCY_BANNER = "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW (for example {})."
URGENT_BANNER = "GO TO AN EMERGENCY DEPARTMENT NOW."

_HEADLINES: dict[tuple[str, str | None], tuple[Style, str, str]] = {
    ("seek_medical_review", "emergency"): (
        "emergency",
        EMERGENCY_BANNER,  # with the clinic's examples of the number (the pack's contacts)
        "Do not drive yourself. Do not exercise again until a doctor has seen you.",
    ),
    ("seek_medical_review", "urgent"): (
        "emergency",
        URGENT_BANNER,
        "Do not drive yourself. If you cannot get there safely, call your emergency number.",
    ),
    ("seek_medical_review", "same_day"): (
        "urgent",
        "Contact your clinician today.",
        "Do not train again until you have been cleared.",
    ),
    ("seek_medical_review", "routine"): (
        "caution",
        "Contact your clinician before your next session.",
        "Tell them what you answered here; they may adjust your programme.",
    ),
    ("reduce_load", None): (
        "caution",
        "Reduce the load at your next session.",
        (
            "Use a lighter weight or fewer sets for the movement that hurt, and skip it if it "
            "still hurts. Go back to your current load once a session causes no more than 5/10 "
            "pain and the pain settles by the next morning."
        ),
    ),
    ("continue", None): ("ok", "Carry on with your programme.", ""),
}


@dataclass(frozen=True)
class Line:
    style: Style
    text: str
    indent: int = 0


def headline(decision: Decision | EarlyWarning) -> tuple[Style, str, str]:
    """The style, the first line and the instruction that goes with the outcome: a continue
    result that holds the load says so in its first line."""
    style, first, instruction = _HEADLINES[(decision.outcome, decision.urgency)]
    held = getattr(decision, "headline", None)  # a Decision's; a warning never continues
    return style, held or first.format(decision.contacts.emergency_examples), instruction


IF_STOPPED = (
    "If you have chest pain or pressure now, have fainted, are breathless at rest or confused, "
    "or have numbness around your groin or bottom, call your emergency number now."
)
"""What a patient who stopped the questions is told, whatever they had answered."""


def render_decision(
    decision: Decision, compared: Comparison | None = None, zone: tzinfo | None = None
) -> list[Line]:
    """The result screen: what to do first, then why (the reasons of the result's own level),
    the advice, a follow-up's change since the earlier check (``compared``, its time said in
    ``zone``: this computer's when None), and the safety net last. No rule ids, hashes or
    engine names: they are in the JSON, the log and the clinician's views."""
    style, first, instruction = headline(decision)
    lines = [Line(style, first)]
    if instruction:
        lines.append(Line("text", instruction))
    lines += _why(decision, decision.notes)
    if decision.advice:
        lines += [Line("text", ""), Line("heading", "Advice:")]
        lines += [Line("text", f"- {a}", indent=2) for a in decision.advice]
    if compared is not None:
        lines += comparison_lines(compared, zone=zone)
    return lines + _safety_net(decision.safety_net)


def _why(decision: Decision | EarlyWarning, notes: Sequence[Note]) -> list[Line]:
    """The reasons of the result's own level; the other alerts in a few words, for the
    clinician (clinical.md section 7)."""
    shown = [r for r in decision.reasons if read_by_patient(decision.outcome, decision.urgency, r)]
    others = [r.title for r in decision.reasons if r not in shown and r.outcome != "continue"]
    lines: list[Line] = []
    if shown:
        lines += [Line("text", ""), Line("heading", "Why:")]
        lines += [Line("text", f"- {r.patient}", indent=2) for r in shown]
    if others:
        lines.append(Line("note", f"Your clinician will also see: {'; '.join(others)}."))
    if notes:
        lines += [Line("text", ""), Line("heading", "Also:")]
        lines += [Line("text", f"- {n.patient}", indent=2) for n in notes]
    return lines


def comparison_lines(
    compared: Comparison, now: datetime | None = None, zone: tzinfo | None = None
) -> list[Line]:
    """A follow-up's change since the earlier check of its session, shown under the result:
    "Since your check on Monday at 09:10: pain now 6/10 -> 4/10 (better)." (when, in ``zone``
    or this computer's time zone, as the questionnaire says it; ``now`` is the current time by
    default)."""
    from ..evaluation.questionnaire import session_end

    if not compared.changes:
        return []
    when = session_end(compared.reported_at, now or datetime.now(timezone.utc), zone)
    changes = "; ".join(_change(change) for change in compared.changes)
    return [Line("text", ""), Line("text", f"Since your check {when}: {changes}.")]


_SHOWN = {"same": "about the same"}
"""Answers shown in other words in a comparison (the pain trend's "same")."""


def _shown(name: str, value: Any) -> str:
    if name == "pain_now":
        return f"{value}/10"
    return _SHOWN.get(str(value), str(value).replace("_", " "))


def _change(change: Change) -> str:
    before, after = _shown(change.field, change.before), _shown(change.field, change.after)
    if change.word == "the same":
        return f"{change.label} {after}, the same"
    if change.word == "changed":
        return f"{change.label} {before} -> {after}"
    return f"{change.label} {before} -> {after} ({change.word})"


def render_early_warning(warning: EarlyWarning) -> list[Line]:
    """The screen of a questionnaire stopped early: the emergency or urgent instruction first,
    at once, then why, and that the other questions are not needed now. For answers given
    all at once that were incomplete: what was missing or refused, after why."""
    style, first, instruction = headline(warning)
    lines = [Line(style, first), Line("text", instruction)]
    if warning.interrupted:
        lines.append(Line("text", "You stopped the questions, but your answers so far need this."))
    lines += _why(warning, warning.notes)
    problems = warning.problems
    if problems:
        lines += [
            Line("text", ""),
            Line("note", "Your answers are not complete, but those given already need this."),
            Line("heading", f"Missing or not readable ({counted(len(problems), 'answer')}):"),
        ]
        lines += [Line("text", f"- {problem}", indent=2) for problem in problems]
    elif not warning.interrupted:
        lines += [
            Line("text", ""),
            Line("note", "The other questions are not needed now: your answers so far are enough."),
        ]
    return lines + _safety_net(warning.safety_net)


def _safety_net(lines: Sequence[str]) -> list[Line]:
    """Read last, before the reference number: what to do if it gets worse."""
    if not lines:
        return []
    return [Line("text", ""), *(Line("note", line) for line in lines)]
