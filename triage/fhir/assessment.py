"""A decision as a FHIR R4 ``RiskAssessment`` (``triage check --format fhir``).

Why ``RiskAssessment`` and not ``GuidanceResponse``: a triage decision is an assessment of one
patient at one time, made by a stated method from stated data, predicting what the patient
needs, with what to do about it. ``RiskAssessment`` has an element for each of these
(``subject``, ``occurrenceDateTime``, ``method``, ``basis``, ``prediction`` with its
``rationale``, ``mitigation``). ``GuidanceResponse`` is the envelope of an answer to a
guidance request: it needs the canonical of a published ``PlanDefinition`` or ``Library`` as
its ``module``, and would carry the outcome only through a contained ``Parameters`` or
``RequestGroup``. CDS Hooks, where a request/response envelope matters, has its own cards.

The mapping:

- ``prediction[0].outcome``: the outcome, coded; ``qualitativeRisk``: the urgency, coded (its
  binding in R4 is an example one); ``rationale``: the reasons, in the patient's words;
- ``reasonCode``: each rule that fired (its id, title, and the clinician's text);
- ``mitigation``: what the patient is told to do, then the advice, then the safety net;
- ``method``: the rule pack's name and version, with its sha256 and the engine in the text;
- ``basis``: the answers, as a contained ``QuestionnaireResponse``;
- ``note``: the pack's notes for the patient, and whether the history was known.

A check stopped early (``EarlyWarning``: answers that already need an emergency or urgent
review, whatever the missing ones are) is written the same way, with the answers given as an
``in-progress`` response, and a note saying what was missing or refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..evaluation.warning import EarlyWarning
from ..views.render import headline
from . import codes
from .response import partial_response, questionnaire_response

if TYPE_CHECKING:
    from ..evaluation.decision import Decision

OUTCOME_WORDS = {
    "continue": "Continue",
    "reduce_load": "Reduce load",
    "seek_medical_review": "Seek medical review",
}


def risk_assessment(
    decision: Decision | EarlyWarning, entry_id: int | None = None
) -> dict[str, Any]:
    """The decision (or a check stopped early) as a ``RiskAssessment``; ``entry_id``, the
    check's number in the triage log, becomes its ``id`` and ``identifier``."""
    answers, response, engine, advice, last_note = _parts(decision)
    pack = decision.rule_pack
    _, first, instruction = headline(decision)
    found: dict[str, Any] = {"resourceType": "RiskAssessment"}
    if entry_id is not None:
        found["id"] = f"check-{entry_id}"
        found["identifier"] = [{"system": codes.LOG_ENTRY_SYSTEM, "value": str(entry_id)}]
    found.update(
        {
            "contained": [{**response, "id": "response"}],
            "status": "final",
            "code": {
                "coding": [
                    {
                        "system": codes.ASSESSMENT_SYSTEM,
                        "code": "post-session-check",
                        "display": "Safety check after a resistance-training session",
                    }
                ]
            },
            **_subject_and_time(answers),
            "method": {
                "coding": [
                    {
                        "system": codes.RULE_PACK_SYSTEM,
                        "version": pack.version,
                        "code": pack.name,
                        "display": f"{pack.name} {pack.version}",
                    }
                ],
                "text": f"rule pack {pack.name} {pack.version} (sha256 {pack.sha256}), "
                f"evaluated by {engine['name']} {engine['version']}",
            },
            "basis": [{"reference": "#response", "display": "The patient's answers"}],
            "prediction": [_prediction(decision, first)],
        }
    )
    if decision.reasons:
        found["reasonCode"] = [_reason(decision, index) for index in range(len(decision.reasons))]
    mitigation = (first, instruction, *advice, *decision.safety_net)
    found["mitigation"] = "\n".join(t for t in mitigation if t)
    notes = [note.patient for note in decision.notes] + ([last_note] if last_note else [])
    if notes:
        found["note"] = [{"text": text} for text in notes]
    return found


def _subject_and_time(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Who and when, as far as the answers say (a check stopped early may not say)."""
    found: dict[str, Any] = {}
    if "patient_id" in answers:
        patient = {"system": codes.PATIENT_ID_SYSTEM, "value": answers["patient_id"]}
        found["subject"] = {"identifier": patient}
    if "reported_at" in answers:
        found["occurrenceDateTime"] = answers["reported_at"]
    return found


def _parts(
    decision: Decision | EarlyWarning,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Sequence[str], str | None]:
    """The answers, the response they make, the engine, the advice and the last note."""
    if isinstance(decision, EarlyWarning):
        note = "Stopped early: the answers given already need this, whatever the others are."
        if decision.problems:
            missing = "; ".join(str(problem) for problem in decision.problems)
            note += f" Missing or not readable: {missing}."
        answers = decision.answers
        return answers, partial_response(answers), decision.engine, (), note
    unknown = "Made without the patient's earlier checks: the history rules did not run."
    response = questionnaire_response(decision.report)
    engine = decision.engine.model_dump()
    last = None if decision.history.available else unknown
    return decision.report.answers(), response, engine, decision.advice, last


def _prediction(decision: Decision | EarlyWarning, first: str) -> dict[str, Any]:
    outcome = {
        "system": codes.OUTCOME_SYSTEM,
        "code": decision.outcome,
        "display": OUTCOME_WORDS[decision.outcome],
    }
    prediction: dict[str, Any] = {"outcome": {"coding": [outcome], "text": first}}
    if decision.urgency is not None:
        urgency = codes.code_system("urgency")
        assert urgency is not None
        display = next(c["display"] for c in urgency["concept"] if c["code"] == decision.urgency)
        prediction["qualitativeRisk"] = {
            "coding": [
                {"system": codes.URGENCY_SYSTEM, "code": decision.urgency, "display": display}
            ]
        }
    if decision.reasons:
        prediction["rationale"] = "\n".join(reason.patient for reason in decision.reasons)
    return prediction


def _reason(decision: Decision | EarlyWarning, index: int) -> dict[str, Any]:
    reason = decision.reasons[index]
    rule = {
        "system": codes.RULE_SYSTEM,
        "version": decision.rule_pack.version,
        "code": reason.rule,
        "display": reason.title,
    }
    return {"coding": [rule], "text": reason.clinician}
