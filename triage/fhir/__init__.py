"""HL7 FHIR R4 for triage: the questionnaire as a ``Questionnaire``, a ``QuestionnaireResponse``
read as a report, and the decision as a ``RiskAssessment``. Plain JSON-ready dicts: no FHIR
library is needed at run time (the tests validate the output with one, and with HL7's JSON
Schema).

- ``codes``: canonical URLs, our code systems, and the FHIR and SDC extension URLs used;
- ``questionnaire``: the export, derived from the questionnaire the terminal asks;
- ``response``: a ``QuestionnaireResponse`` to answers (and a report to a response);
- ``assessment``: a decision as a ``RiskAssessment``.
"""

from __future__ import annotations

from ..contract.readers import register
from .assessment import risk_assessment
from .codes import QUESTIONNAIRE_URL, code_system, code_systems, collection
from .questionnaire import questionnaire
from .response import answers_from_response, is_response, questionnaire_response, reader

register("QuestionnaireResponse", reader)  # triage.check and --answers read responses with it

__all__ = [
    "QUESTIONNAIRE_URL",
    "answers_from_response",
    "code_system",
    "code_systems",
    "collection",
    "is_response",
    "questionnaire",
    "questionnaire_response",
    "risk_assessment",
]
