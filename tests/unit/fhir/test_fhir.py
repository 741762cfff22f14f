"""FHIR R4: the Questionnaire derived from the questionnaire the terminal asks, the
QuestionnaireResponse read as a report (every public vignette round-trips to the same
decision; bad responses give located problems, golden files in tests/support/golden/fhir/), and the
decision as a RiskAssessment; each validated with fhir.resources and HL7's R4 JSON Schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import triage
from tests.support.fhir_support import assert_valid, library_model, schema_errors
from tests.support.golden_files import check_golden
from tests.support.helpers import ROOT, examples, load_case, report, vignette_files
from triage.contract.field_table import FIELDS
from triage.contract.fields import CONTRACT_VERSION
from triage.errors import (
    EvaluationError,
    NotFoundError,
    Problem,
    ReportError,
    TriageError,
    UnavailableError,
    UsageError,
)
from triage.evaluation.questionnaire import GATES, ITEMS, NOT_ASKED
from triage.fhir import (
    QUESTIONNAIRE_URL,
    answers_from_response,
    code_systems,
    codes,
    questionnaire,
    questionnaire_response,
    risk_assessment,
)
from triage.fhir.questionnaire import enable_when, fhirpath
from triage.logic import All, AnyOf, Not
from triage.logic import Test as FieldTest
from triage_cli.cli import main

PUBLIC = [p for p in vignette_files() if p.parent.name == "vignettes-v3"]
GOLDEN = ROOT / "tests" / "support" / "golden" / "fhir"


def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found += [item, *walk(item.get("item", []))]
    return found


def by_link(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in walk(resource["item"])}


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=stdin)


# -- the Questionnaire ---------------------------------------------------------------------------


def test_the_questionnaire_is_valid_r4() -> None:
    resource = questionnaire()
    assert_valid(resource)
    assert (resource["url"], resource["version"], resource["status"]) == (
        QUESTIONNAIRE_URL,
        CONTRACT_VERSION,
        "active",
    )


def test_its_questions_are_the_terminals_in_the_same_order() -> None:
    items = by_link(questionnaire())
    questions = [k for k, v in items.items() if v["type"] not in ("group", "display")]
    assert [q for q in questions if q not in GATES] == list(ITEMS)
    assert set(GATES) <= set(questions)
    assert not set(NOT_ASKED) & set(items)
    for name in ITEMS:
        assert items[name]["text"] == FIELDS[name].ask.question
        if FIELDS[name].ask.help:
            assert items[f"{name}.help"]["text"] == FIELDS[name].ask.help


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("patient_id", "string"),
        ("hours_since_session", "decimal"),
        ("pain_now", "integer"),
        ("new_load", "boolean"),
        ("swelling", "choice"),
        ("snap_or_tear", "choice"),
        ("numbness", "choice"),
    ],
    ids=lambda v: str(v),
)
def test_item_types(field: str, kind: str) -> None:
    assert by_link(questionnaire())[field]["type"] == kind


def test_required_follows_the_questionnaire() -> None:
    items = by_link(questionnaire())
    for name, (_, item) in ITEMS.items():
        assert items[name].get("required", False) == (not item.optional), name
    assert items["chest_pain_kind"]["required"] is True  # needed whenever it is enabled
    assert "required" not in items["program_week"]


def test_set_fields_repeat_with_an_exclusive_none() -> None:
    item = by_link(questionnaire())["numbness"]
    assert item["repeats"] is True
    codes_ = [o["valueCoding"]["code"] for o in item["answerOption"]]
    assert codes_ == [*FIELDS["numbness"].choices, "none"]
    none = item["answerOption"][-1]
    assert none["extension"] == [{"url": codes.OPTION_EXCLUSIVE, "valueBoolean": True}]


def test_choices_are_codings_of_our_versioned_code_systems() -> None:
    item = by_link(questionnaire())["pain_region"]
    first = item["answerOption"][0]["valueCoding"]
    assert first == {
        "system": "https://triage.invalid/fhir/CodeSystem/pain_region",
        "code": "head",
        "display": FIELDS["pain_region"].ask.labels["head"],
    }
    systems = {s["url"]: s for s in code_systems()}
    for name in codes.CODED_FIELDS:
        options = by_link(questionnaire())[name]["answerOption"]
        system = systems[codes.answers_system(name)]
        assert system["version"] == CONTRACT_VERSION
        assert [c["code"] for c in system["concept"]] == [o["valueCoding"]["code"] for o in options]


def test_every_code_system_is_valid_r4() -> None:
    for system in code_systems():
        assert_valid(system)


def test_scores_have_limits_and_the_pain_scores_loinc() -> None:
    items = by_link(questionnaire())
    for name in ("pain_during", "pain_now", "pain_before"):
        assert items[name]["code"] == [codes.PAIN_SCORE]
        assert {"url": codes.MIN_VALUE, "valueInteger": 0} in items[name]["extension"]
        assert {"url": codes.MAX_VALUE, "valueInteger": 10} in items[name]["extension"]
    assert "code" not in items["session_rpe"]
    assert {"url": codes.MAX_VALUE, "valueInteger": 10} in items["session_rpe"]["extension"]
    assert {"url": codes.MAX_VALUE, "valueDecimal": 336.0} in items["hours_since_session"][
        "extension"
    ]


def test_gates_are_a_boolean_then_a_group_it_enables() -> None:
    items = by_link(questionnaire())
    for key, gate in GATES.items():
        assert items[key]["type"] == "boolean" and items[key]["required"] is True
        group = items[f"{key}-group"]
        assert group["type"] == "group"
        assert group["enableWhen"] == [{"question": key, "operator": "=", "answerBoolean": True}]
        inside = {i["linkId"] for i in walk(group["item"])}
        assert set(gate.fields()) <= inside
    assert "injury" in {i["linkId"] for i in items["pain-group"]["item"]}


def test_conditional_questions_use_enable_when() -> None:
    items = by_link(questionnaire())
    pain = items["pain_region"]
    assert pain["enableBehavior"] == "any"
    assert pain["enableWhen"] == [
        {"question": "pain_during", "operator": ">", "answerInteger": 0},
        {"question": "pain_now", "operator": ">", "answerInteger": 0},
    ]
    trend = items["pain_trend"]
    assert trend["enableBehavior"] == "all"
    assert trend["enableWhen"][0] == {
        "question": "hours_since_session",
        "operator": ">=",
        "answerDecimal": 24.0,
    }
    assert items["chest_pain_kind"]["enableWhen"] == [
        {
            "question": "chest_pain",
            "operator": "!=",
            "answerCoding": {"system": codes.answers_system("chest_pain"), "code": "none"},
        },
    ]
    assert "enableBehavior" not in items["swelling_fast"]
    expressions = [
        i
        for i in items.values()
        if "extension" in i
        and any(e["url"] == codes.ENABLE_WHEN_EXPRESSION for e in i["extension"])
    ]
    assert expressions == []  # contract v2 needs no FHIRPath


def test_what_enable_when_cannot_say_becomes_an_sdc_expression() -> None:
    mixed = All(
        (
            FieldTest("pain_now", "ge", 4),
            AnyOf((FieldTest("swelling", "eq", "marked"), FieldTest("numbness", "has", "one_leg"))),
        )
    )
    enabling = enable_when(mixed)
    assert "enableWhen" not in enabling
    (extension,) = enabling["extension"]
    assert extension["url"] == codes.ENABLE_WHEN_EXPRESSION
    assert extension["valueExpression"] == {
        "language": "text/fhirpath",
        "expression": "(%resource.repeat(item).where(linkId = 'pain_now').answer.value"
        ".where($this >= 4).exists() and "
        "(%resource.repeat(item).where(linkId = 'swelling').answer.value.code"
        ".where($this = 'marked').exists() or "
        "%resource.repeat(item).where(linkId = 'numbness').answer.value.code"
        ".where($this = 'one_leg').exists()))",
    }
    assert fhirpath(Not(FieldTest("unwell", "eq", True))) == (
        "(%resource.repeat(item).where(linkId = 'unwell').answer.value"
        ".where($this = true).exists()).not()"
    )


def test_the_library_alone_accepts_a_bogus_status_but_the_schema_does_not() -> None:
    bogus = {**questionnaire(), "status": "bogus"}
    assert library_model(bogus).status == "bogus"
    assert schema_errors(bogus) == [
        "status: 'bogus' is not one of ['draft', 'active', 'retired', 'unknown']"
    ]
    with pytest.raises(ValidationError):
        library_model({**questionnaire(), "itme": []})


def test_triage_questions_fhir_prints_it() -> None:
    result = run("questions", "--fhir")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == questionnaire()
    bundle = json.loads(run("questions", "--fhir", "--code-systems").stdout)
    assert [e["resource"] for e in bundle["entry"]] == code_systems()
    assert schema_errors(bundle) == []
    assert run("questions", "--code-systems").exit_code == 2


# -- QuestionnaireResponse -----------------------------------------------------------------------


def _not_asked(case_report: dict[str, Any]) -> dict[str, Any]:
    """What the questionnaire does not ask, as the patient's record in the log gives it."""
    return {k: v for k, v in case_report.items() if k in ("profile", "age", "conditions")}


@pytest.mark.parametrize("path", PUBLIC, ids=[p.stem for p in PUBLIC])
def test_every_public_vignette_round_trips_to_the_same_decision(path: Path) -> None:
    case = load_case(path)
    plain = triage.parse_report(case["report"])
    response = questionnaire_response(plain)
    assert_valid(response)
    answers = answers_from_response(json.loads(json.dumps(response)), path.name)
    again = triage.parse_report({**answers, **_not_asked(case["report"])})
    lost = {k: v for k, v in plain.answers().items() if k not in again.answers()}
    assert again.answers() == {k: v for k, v in plain.answers().items() if k not in lost}
    # only what the questionnaire does not ask then (p31: the trend before 24 hours)
    assert all(not ITEMS[name][1].applies(again.answers()) for name in lost), lost
    first, second = triage.evaluate(plain), triage.evaluate(again)
    assert (second.outcome, second.urgency) == (first.outcome, first.urgency)
    assert [r.rule for r in second.reasons] == [r.rule for r in first.reasons]
    expected = case["expected"]
    assert (second.outcome, second.urgency) == (expected["outcome"], expected.get("urgency"))


def test_hours_just_under_a_threshold_ask_what_the_questionnaire_asks() -> None:
    """23.99996 h does not enable the trend question, and the report keeps it under 24 h."""
    thigh = {"pain_now": 2, "pain_site": "muscle", "pain_region": "thigh"}
    response = questionnaire_response(
        triage.parse_report(report(hours_since_session=23.9, **thigh))
    )
    hours = next(i for i in walk(response["item"]) if i["linkId"] == "hours_since_session")
    hours["answer"] = [{"valueDecimal": 23.99996}]
    answers = answers_from_response(response)
    assert "pain_trend" not in answers
    assert triage.parse_report(answers).hours_since_session == 23.9999


def test_a_gate_answered_no_stands_for_its_answers() -> None:
    response = questionnaire_response(report(patient_id="pt-1"))
    assert [i["linkId"] for i in response["item"]][-3:] == ["heart", "since", "pain"]
    answers = answers_from_response(response)
    assert answers["chest_pain"] == "none" and answers["numbness"] == []
    assert answers["pain_now"] == 0 and answers["groin_lump"] is False


def test_the_subject_fills_or_must_match_the_patient() -> None:
    response = questionnaire_response(report(patient_id="pt-1"))
    response["item"] = response["item"][1:]
    assert answers_from_response(response)["patient_id"] == "pt-1"
    other = copy.deepcopy(response)
    other["subject"]["identifier"]["value"] = "pt-2"
    other["item"].insert(0, {"linkId": "patient_id", "answer": [{"valueString": "pt-1"}]})
    with pytest.raises(triage.ReportError) as error:
        answers_from_response(other)
    assert error.value.problems[0].item == "patient_id"


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_bad_responses_golden_messages(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    result = run("check", "--answers", f"{name}.json", "--no-log")
    assert result.exit_code == 1
    check_golden(f"fhir/{name}.txt", result.stderr)
    assert "Traceback" not in result.stderr


def test_every_problem_is_located_by_link_id_in_json_and_fhir() -> None:
    path = str(GOLDEN / "codes-and-types.json")
    as_json = json.loads(run("check", "--answers", path, "--no-log", "--json").stdout)
    items = [p.get("item") for p in as_json["problems"]]
    assert {"pain_region", "pain_site", "pain_now", "numbness", "chest_pian"} <= set(items)
    outcome = json.loads(run("check", "--answers", path, "--no-log", "--format", "fhir").stdout)
    assert outcome["resourceType"] == "OperationOutcome"
    assert len(outcome["issue"]) == len(as_json["problems"])
    assert schema_errors(outcome) == []
    assert {"QuestionnaireResponse.repeat(item).where(linkId = 'pain_region')"} <= {
        e for issue in outcome["issue"] for e in issue.get("expression", [])
    }


def _in_pain_group(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"linkId": "pain", "answer": [{"valueBoolean": True}]},
        {"linkId": "pain-group", "item": [item]},
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"resourceType": "Patient"}, "is a FHIR Patient, not a report"),
        ({"item": "nothing"}, "'item' must be a list"),
        ({"item": [{"answer": []}]}, "an item without a 'linkId'"),
        (
            {"item": [{"linkId": "heart-group", "answer": [{"valueBoolean": True}]}]},
            "is a group: it takes no answer",
        ),
        (
            {
                "item": _in_pain_group(
                    {"linkId": "pain_now", "answer": [{"valueInteger": 1}, {"valueInteger": 2}]}
                )
            },
            "has 2 answers; it takes one",
        ),
        (
            {"item": _in_pain_group({"linkId": "pain_now", "answer": [{"valueInteger": True}]})},
            "does not fit its type",
        ),
        ({"item": [{"linkId": "patient_id.help"}]}, "is a text to show"),
        ({"questionnaire": "http://example.org/Questionnaire/phq-9|1"}, "not triage's"),
    ],
    ids=[
        "other-resource",
        "items-not-a-list",
        "no-link-id",
        "group-answer",
        "two-answers",
        "wrong-type",
        "display",
        "other-questionnaire",
    ],
)
def test_malformed_responses_are_refused_with_a_message(change: dict, message: str) -> None:
    response = {**questionnaire_response(report(patient_id="pt-1")), **change}
    result = run("check", "--answers", "-", "--no-log", stdin=json.dumps(response))
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _places(value, (*path, index))
    return found


@examples(1200)
@given(st.data())
def test_any_damaged_response_is_read_or_refused_with_a_message(data: st.DataObject) -> None:
    """Whatever replaces any part of a valid response, reading it either gives answers that fit
    the contract or raises ReportError: never another exception."""
    response = questionnaire_response(
        report(
            patient_id="pt-1", headache="usual", pain_now=2, pain_region="knee", pain_site="joint"
        )
    )
    place = data.draw(st.sampled_from(_places(response)[1:]))
    target = response
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = data.draw(JSON)
    try:
        answers = answers_from_response(response)
    except triage.ReportError as error:
        problems = error.problems
    else:
        problems = []
        triage.parse_report(answers)
    assert all(p.message for p in problems)


# -- the decision --------------------------------------------------------------------------------


def test_the_decision_as_a_risk_assessment() -> None:
    decision = triage.evaluate(triage.parse_report(load_case(PUBLIC[5])["report"]))
    assessment = risk_assessment(decision, 42)
    assert_valid(assessment)
    assert assessment["id"] == "check-42"
    assert assessment["basis"] == [{"reference": "#response", "display": "The patient's answers"}]
    (contained,) = assessment["contained"]
    assert answers_from_response(contained) == answers_from_response(
        questionnaire_response(decision.report)
    )
    (prediction,) = assessment["prediction"]
    assert prediction["outcome"]["coding"][0]["code"] == decision.outcome
    assert prediction["qualitativeRisk"]["coding"][0] == {
        "system": codes.URGENCY_SYSTEM,
        "code": decision.urgency,
        "display": "Same day: contact the clinician today",
    }
    assert prediction["rationale"].split("\n") == [r.patient for r in decision.reasons]
    assert [c["coding"][0]["code"] for c in assessment["reasonCode"]] == [
        r.rule for r in decision.reasons
    ]
    method = assessment["method"]
    assert method["coding"][0]["code"] == decision.rule_pack.name
    assert method["coding"][0]["version"] == decision.rule_pack.version
    assert decision.rule_pack.sha256 in method["text"]
    assert assessment["mitigation"].startswith("Contact your clinician today.")


def test_a_continue_decision_has_its_advice_as_mitigation() -> None:
    decision = triage.evaluate(report(patient_id="pt-1", reps_in_reserve=3))
    assessment = risk_assessment(decision)
    assert_valid(assessment)
    assert "id" not in assessment
    assert "qualitativeRisk" not in assessment["prediction"][0]
    assert all(advice in assessment["mitigation"] for advice in decision.advice)


def test_triage_check_format_fhir(tmp_path: Path) -> None:
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(questionnaire_response(load_case(PUBLIC[9])["report"])))
    db = str(tmp_path / "log.db")
    result = run("check", "--answers", str(path), "--db", db, "--format", "fhir")
    assert result.exit_code == 0, result.output
    assessment = json.loads(result.stdout)
    assert_valid(assessment)
    assert assessment["identifier"][0]["value"] == "1"
    assert assessment["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "emergency"
    plain = json.loads(run("check", "--answers", str(path), "--no-log", "--json").stdout)
    assert plain["urgency"] == "emergency"
    assert run("check", "--format", "fhir").exit_code == 2


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UnavailableError("the log is restarting"), 503, "transient"),
        (ReportError([Problem("is missing", field="fainting")]), 422, "invalid"),
        (UsageError("no such format"), 400, "invalid"),
        (NotFoundError("there is no entry 9"), 404, "not-found"),
        (EvaluationError("the engine failed"), 500, "exception"),
        ("sign in first", 401, "login"),
        ("the body is too large", 413, "too-long"),
        ("the server failed", 500, "exception"),
    ],
)
def test_one_builder_gives_each_error_its_fhir_issue_type(
    error: TriageError | str, status: int, code: str
) -> None:
    """The CLI (no status) and the web (with one) give a library error the same issue type."""
    from triage.fhir.outcome import operation_outcome

    assert [i["code"] for i in operation_outcome(error, status)["issue"]] == [code]
    if not isinstance(error, str):
        assert operation_outcome(error)["issue"][0]["code"] == code
