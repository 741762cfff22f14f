"""The report contract: strict types, ranges, enums, required and conditional fields, every
problem at once, and YAML 1.1 surprises handled."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import triage
from tests.support.helpers import BASE, answers, examples, load_case, report, vignette_files
from triage.contract.reading import FIELDS, json_schema, read_report
from triage.contract.report import _any_conditional_problem, _conditional_problems
from triage.yamlio import parse_yaml


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(triage.ReportError) as info:
        triage.parse_report(data)
    return {p.field: str(p) for p in info.value.problems}


BAD = [
    ("unknown field", {"chest_pian": "none"}, "chest_pian", "did you mean 'chest_pain'?"),
    ("id is not a field", {"id": "x"}, "id", "is not a report field"),
    (
        "text for a score",
        {"pain_now": "5"},
        "pain_now",
        'got "5", expected a whole number from 0 to 10',
    ),
    ("float for a score", {"pain_now": 5.5}, "pain_now", "expected a whole number from 0 to 10"),
    ("bool for a score", {"pain_during": True}, "pain_during", "expected a whole number"),
    ("score above 10", {"pain_now": 11}, "pain_now", "got 11"),
    ("score below 0", {"pain_during": -1}, "pain_during", "got -1"),
    ("hours above 336", {"hours_since_session": 337}, "hours_since_session", "from 0 to 336"),
    ("negative hours", {"hours_since_session": -0.5}, "hours_since_session", "got -0.5"),
    (
        "infinite hours",
        {"hours_since_session": float("inf")},
        "hours_since_session",
        "from 0 to 336",
    ),
    ("week 0", {"program_week": 0}, "program_week", "from 1 to 520"),
    ("text for yes/no", {"confusion": "no"}, "confusion", "write true or false without quotes"),
    ("1 for yes/no", {"confusion": 1}, "confusion", "expected true or false"),
    ("value outside enum", {"chest_pain": "gone"}, "chest_pain", "one of none, resolved, ongoing"),
    ("misspelt choice", {"numbness": ["saddel"]}, "numbness", "did you mean 'saddle'?"),
    ("bare word for a set", {"numbness": "saddle"}, "numbness", "write a list: [saddle]"),
    ("misspelt bare word", {"numbness": "sadle"}, "numbness", "write a list: [saddle]"),
    ("answer twice", {"numbness": ["saddle", "saddle"]}, "numbness", "saddle more than once"),
    ("unknown condition", {"conditions": ["diabetes"]}, "conditions", "'diabetes_insulin'"),
    ("yes/no headache", {"headache": True}, "headache", "a bare yes/no is read as true/false"),
    (
        "describing without pain",
        {"pain_onset": "next_day"},
        "pain_onset",
        "must be left out unless there is pain",
    ),
    (
        "radiating without pain",
        {"radiating_pain": ["one_leg"]},
        "radiating_pain",
        "must be left out unless there is pain",
    ),
    ("fast without swelling", {"swelling_fast": True}, "swelling_fast", "unless there is swelling"),
    (
        "chest kind needed",
        {"chest_pain": "resolved"},
        "chest_pain_kind",
        "required when there was chest pain",
    ),
    (
        "chest kind without chest pain",
        {"chest_pain_kind": "tender"},
        "chest_pain_kind",
        "must be left out unless there was chest pain",
    ),
    (
        "region needed with pain",
        {"pain_now": 2, "pain_site": "muscle"},
        "pain_region",
        "required when there is pain",
    ),
    ("back is a region now", {"pain_now": 2, "pain_site": "back"}, "pain_site", "one of muscle"),
    ("yes/no for a choice", {"swelling": False}, "swelling", "a bare yes/no is read as true/false"),
    ("bad patient id", {"patient_id": "Jane Doe"}, "patient_id", "letters, digits"),
    ("long patient id", {"patient_id": "x" * 65}, "patient_id", "1 to 64"),
    ("naive time", {"reported_at": "2026-11-21T09:00:00"}, "reported_at", "with its offset"),
    ("unix time", {"reported_at": 0}, "reported_at", "got 0, expected an ISO-8601 date-time"),
    ("bytes time", {"reported_at": b"2026-11-21T09:00:00Z"}, "reported_at", "expected an ISO"),
    ("year 1", {"reported_at": "0001-01-01T00:00:00Z"}, "reported_at", "in 2000-2099"),
    ("year 9999", {"reported_at": "9999-12-31T23:59:59+00:00"}, "reported_at", "in 2000-2099"),
    ("fraction hours", {"hours_since_session": Fraction(1, 3)}, "hours_since_session", "number"),
    ("decimal hours", {"hours_since_session": Decimal("2")}, "hours_since_session", "number"),
    ("snap as text", {"snap_or_tear": "yes"}, "snap_or_tear", "expected true, false or unsure"),
    ("missing required", {"chest_pain": None}, "chest_pain", "is required; add 'chest_pain:'"),
    ("site needed with pain", {"pain_now": 2}, "pain_site", "required when there is pain"),
    ("site only with pain", {"pain_site": "joint"}, "pain_site", "must be left out"),
    (
        "trend needed at 24 h",
        {"hours_since_session": 24, "pain_now": 1, "pain_site": "muscle", "pain_region": "thigh"},
        "pain_trend",
        "required when hours_since_session is 24 or more",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "text"), [row[1:] for row in BAD], ids=[r[0] for r in BAD]
)
def test_bad_report_names_the_field_and_the_fix(changes: dict, field: str, text: str) -> None:
    found = problems(report(**changes))
    assert field in found
    assert text in found[field]


def test_every_problem_is_reported_at_once() -> None:
    data = report(pain_now="5", chest_pian="none", numbness="saddel", confusion=None)
    assert set(problems(data)) == {"pain_now", "chest_pian", "numbness", "confusion"}


def test_conditional_problems_come_with_field_problems() -> None:
    found = problems(report(pain_during=4, chest_pain="gone"))
    assert set(found) == {"pain_region", "pain_site", "chest_pain"}


@examples(2_000)
@given(answers(required=False))
def test_the_quick_conditional_check_finds_a_problem_exactly_when_there_is_one(
    data: dict[str, Any],
) -> None:
    """A valid report is let through by one compiled test (``_any_conditional_problem``):
    it must hold exactly when ``_conditional_problems`` finds a problem."""
    for values in (data, {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}):
        assert _any_conditional_problem(values) == bool(_conditional_problems(values))


def test_trend_not_needed_before_24h_or_without_pain_now() -> None:
    thigh = {"pain_site": "muscle", "pain_region": "thigh"}
    triage.parse_report(report(hours_since_session=23.9, pain_now=3, **thigh))
    triage.parse_report(report(hours_since_session=50, pain_during=3, **thigh))


def test_hours_are_kept_to_four_decimals() -> None:
    assert triage.parse_report(report(hours_since_session=23.99994)).hours_since_session == 23.9999
    assert triage.parse_report(report(hours_since_session=5e-324)).hours_since_session == 0


def test_hours_are_kept_rounded_down() -> None:
    """23.99996 h is under 24 h: kept as 23.9999, it asks for no trend, as the given value would."""
    thigh = {"pain_site": "muscle", "pain_region": "thigh", "pain_now": 2}
    kept = triage.parse_report(report(hours_since_session=23.99996, **thigh))
    assert kept.hours_since_session == 23.9999
    assert triage.parse_report(report(hours_since_session=0.29)).hours_since_session == 0.29
    assert triage.parse_report(report(hours_since_session=0.00009)).hours_since_session == 0


@given(st.floats(0, 336, allow_nan=False))
def test_kept_hours_meet_the_thresholds_the_given_hours_meet(hours: float) -> None:
    kept = triage.parse_report(report(hours_since_session=hours)).hours_since_session
    assert kept <= hours and hours - kept < 0.0001 + 1e-9
    assert kept == triage.parse_report(report(hours_since_session=kept)).hours_since_session
    for threshold in [*range(337), 0.5, 11.5, 23.5, 47.9]:
        assert (kept >= threshold) == (hours >= threshold), threshold


def test_report_is_immutable_and_normalised() -> None:
    parsed = triage.parse_report(report(hours_since_session=2))
    with pytest.raises(ValidationError):
        parsed.pain_now = 9  # type: ignore[misc]
    answers = parsed.answers()
    assert answers["hours_since_session"] == 2.0 and "pain_before" not in answers
    assert answers["reported_at"].endswith("Z")


# -- YAML 1.1 ----------------------------------------------------------------------------------


def yaml_report(snap: str) -> Any:
    lines = [
        f"{k}: {str(v).lower() if isinstance(v, bool) else v}"
        for k, v in BASE.items()
        if k != "snap_or_tear"
    ]
    return parse_yaml("\n".join([*lines, f"snap_or_tear: {snap}"]), "answers.yaml")


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("true", True),
        ("false", False),
        ("yes", True),
        ("no", False),
        ("No", False),
        ("unsure", "unsure"),
    ],
    ids=str,
)
def test_snap_or_tear_yaml_answers(written: str, read: Any) -> None:
    assert triage.parse_report(yaml_report(written)).snap_or_tear is read


@pytest.mark.parametrize("written", ["off", "on", "y", "n", '"yes"', "Unsure", "maybe"])
def test_snap_or_tear_ambiguous_yaml_is_rejected_with_a_message(written: str) -> None:
    found = problems(yaml_report(written))
    assert "snap_or_tear" in found and "expected true, false or unsure" in found["snap_or_tear"]


def test_yaml_numbers_are_decimal_and_dates_stay_text() -> None:
    data = parse_yaml("a: 010\nb: 08\nc: 2026-11-21T09:00:00+00:00\nd: 1.5\ne: ~\n", "x.yaml")
    assert data == {"a": 10, "b": 8, "c": "2026-11-21T09:00:00+00:00", "d": 1.5, "e": None}


def test_duplicate_keys_are_an_error_with_both_lines() -> None:
    with pytest.raises(triage.InputError) as info:
        parse_yaml("pain_now: 2\nchest_pain: none\npain_now: 8\n", "answers.yaml")
    assert str(info.value.problems[0]) == (
        "answers.yaml:3: key 'pain_now' is given twice (first on line 1); keep only one of them"
    )


def test_duplicate_json_keys_are_an_error(tmp_path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"pain_now": 2, "pain_now": 8}')
    with pytest.raises(triage.InputError, match="given twice"):
        read_report(str(path))


def test_report_problems_carry_the_line(tmp_path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(
        "\n".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in BASE.items())
        + "\nchest_pian: none\n"
    )
    with pytest.raises(triage.ReportError) as info:
        read_report(str(path))
    assert info.value.problems[0].line == len(BASE) + 1


# -- JSON Schema -------------------------------------------------------------------------------


SCHEMA = jsonschema.Draft202012Validator(json_schema())
"""The schema's validator, made once (jsonschema.validate checks the schema itself each call)."""


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_schema_describes_every_field_with_its_question() -> None:
    schema = json_schema()
    assert list(schema["properties"]) == list(FIELDS)
    assert set(schema["required"]) == {n for n, s in FIELDS.items() if s.required}
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop["description"] == FIELDS[name].ask.question


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_every_vignette_fits_the_schema(path) -> None:
    SCHEMA.validate(load_case(path)["report"])


JSON_BAD = [
    row for row in BAD if not isinstance(row[1].get("hours_since_session"), (Fraction, Decimal))
]
"""Every bad report that JSON can carry (JSON has no fractions or decimals)."""


@pytest.mark.parametrize(
    ("changes", "field", "text"), [row[1:] for row in JSON_BAD], ids=[r[0] for r in JSON_BAD]
)
def test_schema_rejects_what_the_model_rejects(changes: dict, field: str, text: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        SCHEMA.validate(report(**changes))


@examples(400)
@given(
    during=st.integers(0, 10),
    now=st.integers(0, 10),
    hours=st.sampled_from([0, 12, 23.5, 24, 48]),
    site=st.sampled_from([None, "joint"]),
    trend=st.sampled_from([None, "same"]),
)
def test_schema_and_validation_agree_on_the_conditional_requirements(
    during: int, now: int, hours: float, site: str | None, trend: str | None
) -> None:
    """Both derive from report.REQUIREMENTS: a drift in either shows here."""
    data = report(
        pain_during=during, pain_now=now, hours_since_session=hours, pain_site=site,
        pain_region=site and "knee", pain_trend=trend,
    )  # fmt: skip
    try:
        triage.parse_report(data)
        valid = True
    except triage.ReportError:
        valid = False
    assert SCHEMA.is_valid(data) is valid


def _candidates(name: str) -> list[Any]:
    """Values for one field, good and bad, that JSON can carry."""
    spec = FIELDS[name]
    if spec.kind == "integer":
        return [0, 3, 10, -1, 11, 3.0, 3.5, "3", True, None]
    if spec.kind == "number":
        return [0, 12.5, 336, 336.5, -1, "12", False, None]
    if spec.kind == "set":
        return [[], list(spec.choices[:2]), [spec.choices[0]] * 2, ["bogus"], spec.choices[0]]
    if spec.kind in ("choice", "yes_no_unsure"):
        return [*spec.choices, "bogus", None, 1]
    if spec.kind == "yes_no":
        return [True, False, "yes", 1, None]
    if spec.kind == "datetime":
        return [
            "2026-11-21T09:30:00Z",
            "2026-11-21T09:30:00.123+01:00",
            "2026-11-21T09:30",
            "2026-11-21T09:30:00",
            "1999-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            0,
        ]
    return ["pt-1", "has space", "x" * 65, 7]


@examples(1_500)
@given(st.data())
def test_schema_and_validation_agree_on_generated_values(data: st.DataObject) -> None:
    """pain_now 3.0, a reported_at without an offset, a repeated set answer: the JSON Schema
    (what an integrating application validates against) and the contract decide alike."""
    report_data = dict(BASE)
    for name in data.draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=3, unique=True)):
        value = data.draw(st.sampled_from(_candidates(name)))
        if value is None:
            report_data.pop(name, None)
        else:
            report_data[name] = value
    try:
        triage.parse_report(report_data)
        valid = True
    except triage.ReportError:
        valid = False
    schema_says = SCHEMA.is_valid(report_data)
    assert schema_says is valid, report_data
