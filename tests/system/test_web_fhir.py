"""FHIR over HTTP against a real ``triage serve`` on 127.0.0.1: a QuestionnaireResponse posted
to the API is checked as the CLI checks it, the decision comes back as a RiskAssessment on
request, and the Questionnaire and CodeSystems are served; errors are OperationOutcomes."""

from __future__ import annotations

import copy

import pytest

import triage
from tests.support.fhir_support import assert_valid, schema_errors
from tests.support.helpers import report
from tests.support.web_support import Server
from triage.fhir import answers_from_response, code_system, questionnaire, questionnaire_response
from triage.log import TriageLog

FHIR_JSON = "application/fhir+json"
SNAP = report(
    patient_id="pt-fhir",
    snap_or_tear=True,
    pain_during=4,
    pain_now=3,
    pain_region="thigh",
    pain_site="muscle",
)


def test_a_questionnaire_response_is_checked_and_logged(server: Server) -> None:
    with server.api() as api:
        response = api.post("/check", json=questionnaire_response(SNAP))
    assert response.status_code == 200, response.text
    data = response.json()
    expected = triage.evaluate(SNAP)
    assert (data["outcome"], data["urgency"]) == (expected.outcome, expected.urgency)
    assert [r["rule"] for r in data["reasons"]] == [r.rule for r in expected.reasons]
    with TriageLog(server.db, create=False) as log:
        assert log.entry(data["log_entry"]).patient_id == "pt-fhir"


@pytest.mark.parametrize(
    ("query", "headers"),
    [({"format": "fhir"}, {}), ({}, {"Accept": FHIR_JSON})],
    ids=["format-fhir", "accept-header"],
)
def test_the_decision_as_a_risk_assessment_on_request(
    server: Server, query: dict[str, str], headers: dict[str, str]
) -> None:
    with server.api() as api:
        response = api.post(
            "/check", params=query, headers=headers, json=questionnaire_response(SNAP)
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    assessment = response.json()
    assert_valid(assessment)
    assert assessment["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "same_day"
    assert assessment["id"] == f"check-{assessment['identifier'][0]['value']}"
    contained = assessment["contained"][0]
    assert answers_from_response(contained)["snap_or_tear"] is True


def test_a_bad_response_is_an_operation_outcome_or_json_problems(server: Server) -> None:
    bad = questionnaire_response(SNAP)
    bad["questionnaire"] = bad["questionnaire"].replace("|3", "|9")
    with server.api() as api:
        as_json = api.post("/check", json=bad)
        as_fhir = api.post("/check", params={"format": "fhir"}, json=bad)
        unknown = api.post("/check", params={"format": "xml"}, json=bad)
    assert as_json.status_code == as_fhir.status_code == 422
    assert "names version '9'" in as_json.json()["problems"][0]["message"]
    outcome = as_fhir.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert schema_errors(outcome) == []
    assert "names version '9'" in outcome["issue"][0]["diagnostics"]
    assert unknown.status_code == 400


def test_the_questionnaire_and_code_systems_are_served(server: Server) -> None:
    with server.client() as client:
        headers = {"Authorization": f"Bearer {server.token}"}
        one = client.get("/fhir/Questionnaire/post-session-check", headers=headers)
        search = client.get(
            "/fhir/Questionnaire", params={"url": questionnaire()["url"] + "|3"}, headers=headers
        )
        none = client.get("/fhir/Questionnaire", params={"url": "http://x"}, headers=headers)
        system = client.get("/fhir/CodeSystem/pain-region", headers=headers)
        missing = client.get("/fhir/CodeSystem/nothing", headers=headers)
        anonymous = client.get("/fhir/Questionnaire")
    assert one.headers["content-type"] == FHIR_JSON
    assert one.json() == questionnaire()
    bundle = search.json()
    assert bundle["total"] == 1 and bundle["entry"][0]["resource"] == questionnaire()
    assert schema_errors(bundle) == []
    assert none.json()["total"] == 0
    assert system.json() == code_system("pain_region")
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"
    assert anonymous.status_code == 401
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    assert anonymous.headers["www-authenticate"] == "Bearer"


def test_a_response_with_answers_to_items_not_enabled_is_refused(server: Server) -> None:
    bad = copy.deepcopy(questionnaire_response(report(patient_id="pt-fhir")))
    bad["item"].append(
        {"linkId": "pain-group", "item": [{"linkId": "pain_now", "answer": [{"valueInteger": 9}]}]}
    )
    with server.api() as api:
        response = api.post("/check", json=bad)
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["item"] == "pain-group"
    assert "item 'pain' is answered no" in problem["message"]
