"""The decision in words a patient understands (clinical.md section 6).

Returns styled lines, not text: the front end decides on colour. The first line always says
what to do; for an emergency it says to stop and call the emergency number now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .decision import Decision

Style = Literal["emergency", "urgent", "caution", "ok", "heading", "text", "note"]

EMERGENCY_BANNER = (
    "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW (for example 999, 112 or 911)."
)
URGENT_BANNER = "GO TO AN EMERGENCY DEPARTMENT NOW."

_HEADLINES: dict[tuple[str, str | None], tuple[Style, str, str]] = {
    ("seek_medical_review", "emergency"): (
        "emergency",
        EMERGENCY_BANNER,
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


def headline(decision: Decision) -> tuple[Style, str, str]:
    """The style, the first line and the instruction that goes with the outcome."""
    return _HEADLINES[(decision.outcome, decision.urgency)]


def render_decision(decision: Decision, *, show_source: bool = True) -> list[Line]:
    """The result screen: what to do first, then why, then the advice."""
    style, first, instruction = headline(decision)
    lines = [Line(style, first)]
    if instruction:
        lines.append(Line("text", instruction))
    alerts = [r for r in decision.reasons if r.outcome != "continue"]
    explanations = [r for r in decision.reasons if r.outcome == "continue"]
    shown = alerts if decision.outcome != "continue" else explanations
    if shown:
        lines += [Line("text", ""), Line("heading", "Why:")]
        lines += [Line("text", f"- {r.patient}", indent=2) for r in shown]
    if decision.notes:
        lines += [Line("text", ""), Line("heading", "Also:")]
        lines += [Line("text", f"- {n.patient}", indent=2) for n in decision.notes]
    if decision.advice:
        lines += [Line("text", ""), Line("heading", "Advice:")]
        lines += [Line("text", f"- {a}", indent=2) for a in decision.advice]
    if decision.outcome != "seek_medical_review":
        lines += [
            Line("text", ""),
            Line(
                "note",
                (
                    "If you develop chest pain, fainting, severe "
                    "breathlessness or confusion, call your emergency number."
                ),
            ),
        ]
    if show_source:
        pack, engine = decision.rule_pack, decision.engine
        lines.append(
            Line(
                "note",
                f"Rules: {pack.name} {pack.version} ({pack.sha256[:12]}), "
                f"engine {engine.name} {engine.version}.",
            )
        )
    return lines
