"""Canonical URLs, the code systems of the answers and of the decision, and the URLs of the
FHIR and SDC extensions the export uses: defined once.

Our canonical URLs are identifiers, not addresses: they live under ``CANONICAL``, a name in
the ``.invalid`` top-level domain (RFC 2606), which never resolves, so that no one mistakes it
for a server of ours. Each is versioned with the report contract (``CONTRACT_VERSION``): a
changed question or answer is a new contract version, hence a new Questionnaire version.
"""

from __future__ import annotations

from typing import Any

from ..contract.field_table import FIELDS
from ..contract.fields import CONTRACT_VERSION, FieldSpec
from ..evaluation.questionnaire import ITEMS, choices
from ..outcomes import OUTCOMES, URGENCIES

CANONICAL = "https://triage.invalid/fhir"
VERSION = CONTRACT_VERSION
QUESTIONNAIRE_ID = "post-session-check"
QUESTIONNAIRE_URL = f"{CANONICAL}/Questionnaire/{QUESTIONNAIRE_ID}"
PATIENT_ID_SYSTEM = f"{CANONICAL}/NamingSystem/patient-id"
"""The system of the ``Identifier`` that holds a report's ``patient_id``."""
LOG_ENTRY_SYSTEM = f"{CANONICAL}/NamingSystem/log-entry"
"""The system of the ``Identifier`` that holds a check's number in the triage log."""
OUTCOME_SYSTEM = f"{CANONICAL}/CodeSystem/outcome"
URGENCY_SYSTEM = f"{CANONICAL}/CodeSystem/urgency"
RULE_SYSTEM = f"{CANONICAL}/CodeSystem/rule"
"""Rule ids: versioned by the rule pack (``Coding.version`` is the pack's version)."""
RULE_PACK_SYSTEM = f"{CANONICAL}/CodeSystem/rule-pack"
ASSESSMENT_SYSTEM = f"{CANONICAL}/CodeSystem/assessment"

LOINC = "http://loinc.org"
PAIN_SCORE = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
"""LOINC's 0-10 numeric pain rating, for the pain scores."""
PAIN_SCORES = ("pain_during", "pain_now", "pain_before")
UCUM = "http://unitsofmeasure.org"

EXT = "http://hl7.org/fhir/StructureDefinition/"
MIN_VALUE = EXT + "minValue"
MAX_VALUE = EXT + "maxValue"
UNIT = EXT + "questionnaire-unit"
ITEM_CONTROL = EXT + "questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
OPTION_EXCLUSIVE = EXT + "questionnaire-optionExclusive"
ENABLE_WHEN_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)

NONE_CODE = "none"
NONE_DISPLAY = "None of these"
"""The exclusive answer of a set question: a repeating item has no other way to say "none"."""


def answers_system(field: str) -> str:
    """The code system of a choice field's answers."""
    return f"{CANONICAL}/CodeSystem/{field}"


def code_of(value: Any) -> str:
    """A contract value as a code: the value as the report writes it (true, unsure, knee)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == []:
        return NONE_CODE
    return str(value)


def answer_codes(spec: FieldSpec) -> list[tuple[Any, str, str]]:
    """(value, code, display) of each answer of a coded field, in the questionnaire's order;
    a set field ends with the exclusive 'none' (its value: the empty list)."""
    coded = [(value, code_of(value), label) for value, label in choices(spec)]
    if spec.kind == "set":
        assert NONE_CODE not in spec.choices, spec.name
        coded.append(([], NONE_CODE, NONE_DISPLAY))
    return coded


CODED_KINDS = ("choice", "yes_no_unsure", "set")
CODED_FIELDS = tuple(
    name for name, spec in FIELDS.items() if spec.kind in CODED_KINDS and name in ITEMS
)
"""The questionnaire's choice questions, each answered with codes of its own code system."""


def coding(field: str, value: Any) -> dict[str, Any]:
    """The ``Coding`` of one answer of a coded field."""
    spec = FIELDS[field]
    code = code_of(value)
    display = next(d for _, c, d in answer_codes(spec) if c == code)
    return {"system": answers_system(field), "code": code, "display": display}


def _concepts(rows: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"code": code, "display": display} for code, display in rows]


def _code_system(
    key: str, title: str, description: str, rows: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": key.replace("_", "-"),
        "url": f"{CANONICAL}/CodeSystem/{key}",
        "version": VERSION,
        "name": "".join(part.capitalize() for part in key.split("_")),
        "title": title,
        "status": "active",
        "publisher": "triage",
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(rows),
        "concept": _concepts(rows),
    }


def _level_rows(kind: str) -> list[tuple[str, str]]:
    if kind == "outcome":
        words = {
            "continue": "Continue",
            "reduce_load": "Reduce load",
            "seek_medical_review": "Seek medical review",
        }
        return [(outcome, words[outcome]) for outcome in OUTCOMES]
    words = {
        "routine": "Routine review: before the next session",
        "same_day": "Same day: contact the clinician today",
        "urgent": "Urgent: go to an emergency department now",
        "emergency": "Emergency: call the emergency number now",
    }
    return [(urgency, words[urgency]) for urgency in URGENCIES]


def code_system(key: str) -> dict[str, Any] | None:
    """The ``CodeSystem`` of a choice question's answers (by its field name), or of the
    decision's ``outcome`` or ``urgency``; None for any other name."""
    if key in ("outcome", "urgency"):
        return _code_system(
            key, f"Decision {key}", f"The {key} of a triage decision.", _level_rows(key)
        )
    if key not in CODED_FIELDS:
        return None
    spec = FIELDS[key]
    rows = [(code, display) for _, code, display in answer_codes(spec)]
    return _code_system(key, f"Answers: {spec.label}", spec.ask.question, rows)


def code_systems() -> list[dict[str, Any]]:
    """Every code system of ours."""
    found = [code_system(key) for key in (*CODED_FIELDS, "outcome", "urgency")]
    return [system for system in found if system is not None]


def collection(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Resources as a ``Bundle`` of type collection, each with its canonical as ``fullUrl``."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": r["url"], "resource": r} for r in resources],
    }
