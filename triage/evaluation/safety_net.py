"""The safety net the patient reads last, decided once for every interface (clinical.md section
7): what to do if it gets worse, and, for same day and routine results, if the clinician cannot
be reached in time. Which reasons the patient reads is ``outcomes.read_by_patient``."""

from __future__ import annotations

from collections.abc import Iterable

from ..pack.rules import Contacts, Rule

IF_WORSE = (
    "If you get chest pain, fainting, severe breathlessness or confusion, call your emergency "
    "number now."
)
_BY_URGENCY = {
    "emergency": (
        "While you wait for help, do not exercise, eat or drive; if you feel worse, call your "
        "emergency number again.",
    ),
    "urgent": (
        "If you get chest pain, fainting, severe breathlessness or confusion on the way, call "
        "your emergency number now.",
    ),
    "same_day": (
        IF_WORSE,
        "If you cannot speak to a clinician today, contact {urgent_care} today.",
    ),
    "routine": (IF_WORSE, "If it gets worse before then, contact your clinician sooner."),
}


def safety_net(
    outcome: str, urgency: str | None, shown: Iterable[Rule], contacts: Contacts
) -> tuple[str, ...]:
    """The lines read last: the shown rules' own (``worse_if``), each once, then the general
    ones of the result's level, in the clinic's words (``contacts``)."""
    own = [rule.worse_if for rule in shown if rule.worse_if]
    general = _BY_URGENCY.get(urgency or "", (IF_WORSE,))
    lines = [*own, *(line.format(urgent_care=contacts.urgent_care) for line in general)]
    return tuple(dict.fromkeys(lines))
