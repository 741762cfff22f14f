"""Patient records: a clinician sets a patient's profile, age and conditions once; they are
appended to the log's one hash chain, and every check of that patient gets them filled in (an
answer given explicitly wins)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import triage
from tests.support.backends import rows, tamper
from tests.support.cli_runs import check_golden, run
from tests.support.log_v2 import RULES, SCHEMA_7_LOG, fired, load_log, v2_pack, v2_report
from triage.checking.check import with_patient_record
from triage.contract.report import Report
from triage.errors import StorageError, UsageError
from triage.log import KEEP, PatientRecord, TriageLog
from triage.log.chain import CURRENT_FORM, record_hash
from triage.views.log import patient_data

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)


@pytest.fixture
def pack(tmp_path: Path) -> triage.RulePack:
    return v2_pack(tmp_path / "pack")


@pytest.fixture
def log(private_log: Path) -> Iterator[TriageLog]:
    with TriageLog(private_log) as opened:
        yield opened


def stored(
    path: Path | str, sql: str = "SELECT * FROM patients ORDER BY id"
) -> list[dict[str, Any]]:
    return rows(path, sql)


# -- the library: set, read, change ------------------------------------------------------------


def test_a_record_is_set_and_read_back(log: TriageLog) -> None:
    record = log.set_patient(
        "pt-1", profile="older_adult", conditions=["previous_clot", "blood_thinners"], by="Dr Ada"
    )
    assert record == log.patient("pt-1")
    assert (record.profile, record.conditions, record.set_by, record.note) == (
        "older_adult",
        ("blood_thinners", "previous_clot"),  # the contract's order, whatever order given
        "Dr Ada",
        "",
    )
    assert log.patient("pt-2") is None and log.patient_history("pt-2") == []


def test_conditions_are_stored_as_a_canonical_list(log: TriageLog, private_log: Path) -> None:
    log.set_patient("pt-1", conditions={"previous_clot", "heart_disease"}, by="Dr Ada")
    [row] = stored(private_log)
    assert row["conditions_json"] == '["heart_disease","previous_clot"]'
    assert row["profile"] is None


def test_changing_only_the_profile_keeps_the_conditions_and_the_reverse(log: TriageLog) -> None:
    log.set_patient("pt-1", profile="athlete", conditions=["heart_disease"], by="Dr Ada")
    log.set_patient("pt-1", profile="older_adult", by="Dr Bo")
    assert log.patient("pt-1").conditions == ("heart_disease",)  # type: ignore[union-attr]
    log.set_patient("pt-1", conditions=["diabetes_insulin"], by="Dr Bo")
    current = log.patient("pt-1")
    assert current is not None
    assert (current.profile, current.conditions) == ("older_adult", ("diabetes_insulin",))


def test_none_clears_the_profile_and_an_empty_list_the_conditions(log: TriageLog) -> None:
    log.set_patient("pt-1", profile="athlete", conditions=["heart_disease"], by="Dr Ada")
    log.set_patient("pt-1", profile=None, by="Dr Ada")
    assert log.patient("pt-1").profile is None  # type: ignore[union-attr]
    assert log.patient("pt-1").conditions == ("heart_disease",)  # type: ignore[union-attr]
    log.set_patient("pt-1", conditions=[], by="Dr Ada")
    current = log.patient("pt-1")
    assert current is not None and (current.profile, current.conditions) == (None, ())


def test_keep_is_the_default_and_may_be_given(log: TriageLog) -> None:
    log.set_patient("pt-1", profile="athlete", conditions=["heart_disease"], by="Dr Ada")
    log.set_patient("pt-1", profile=KEEP, conditions=["blood_thinners"], by="Dr Ada")
    current = log.patient("pt-1")
    assert current is not None and current.profile == "athlete"


def test_the_history_holds_every_change_oldest_first(log: TriageLog) -> None:
    log.set_patient("pt-1", profile="athlete", by="Dr Ada", note="First visit.")
    log.set_patient("pt-2", profile="older_adult", by="Dr Ada")
    log.set_patient("pt-1", conditions=["heart_disease"], by="Dr Bo")
    history = log.patient_history("pt-1")
    assert [(r.set_by, r.profile, r.conditions, r.note) for r in history] == [
        ("Dr Ada", "athlete", (), "First visit."),
        ("Dr Bo", "athlete", ("heart_disease",), ""),
    ]
    assert history[-1] == log.patient("pt-1")
    assert history[0].set_at <= history[1].set_at


def test_a_record_gives_the_answers_it_fills_in() -> None:
    record = PatientRecord(1, "pt-1", None, ("heart_disease",), "t", "Dr Ada", "")
    assert record.answers() == {"conditions": ["heart_disease"]}
    with_profile = PatientRecord(1, "pt-1", "athlete", (), "t", "Dr Ada", "")
    assert with_profile.answers() == {"profile": "athlete", "conditions": []}
    with_age = PatientRecord(1, "pt-1", None, (), "t", "Dr Ada", "", age=72)
    assert with_age.answers() == {"age": 72, "conditions": []}


# -- the age -------------------------------------------------------------------------------------


def test_an_age_is_set_kept_and_cleared(log: TriageLog, private_log: Path) -> None:
    first = log.set_patient("pt-1", profile="older_adult", age=72, by="Dr Ada")
    assert (first.profile, first.age, first.conditions) == ("older_adult", 72, ())
    log.set_patient("pt-1", conditions=["osteoporosis"], by="Dr Bo")  # the age is kept
    kept = log.patient("pt-1")
    assert kept is not None and (kept.profile, kept.age) == ("older_adult", 72)
    log.set_patient("pt-1", age=73, by="Dr Bo")  # and the rest is kept when only it changes
    changed_age = log.patient("pt-1")
    assert changed_age is not None
    assert (changed_age.profile, changed_age.age, changed_age.conditions) == (
        "older_adult",
        73,
        ("osteoporosis",),
    )
    log.set_patient("pt-1", age=KEEP, profile=None, by="Dr Bo")
    assert log.patient("pt-1").age == 73  # type: ignore[union-attr]
    cleared = log.set_patient("pt-1", age=None, by="Dr Bo")
    assert (cleared.profile, cleared.age, cleared.conditions) == (None, None, ("osteoporosis",))
    assert [r["age"] for r in stored(private_log)] == [72, 72, 73, 73, None]
    assert [r.age for r in log.patient_history("pt-1")] == [72, 72, 73, 73, None]
    result = log.verify()
    assert result.ok and result.patients == 5, result.first_bad


@pytest.mark.parametrize(("given", "kept"), [(5, 5), (120, 120), (72.0, 72)])
def test_ages_the_contract_accepts_are_stored_as_whole_years(
    log: TriageLog, private_log: Path, given: Any, kept: int
) -> None:
    record = log.set_patient("pt-1", age=given, by="Dr Ada")
    assert record.age == kept and type(record.age) is int
    [row] = stored(private_log)
    assert row["age"] == kept and type(row["age"]) is int
    assert record_hash("patient", row) == row["hash"] and row["form"] == CURRENT_FORM


@pytest.mark.parametrize(
    ("age", "got", "fix"),
    [
        (4, "4", "give the age in whole years, from 5 to 120, or None for none"),
        (121, "121", "give the age in whole years, from 5 to 120, or None for none"),
        (15.5, "15.5", "give the age in whole years, from 5 to 120, or None for none"),
        ("15", '"15"', "give the age as a number, not text: 15"),
        (True, "true", "give the age in whole years, from 5 to 120, or None for none"),
        (-1, "-1", "give the age in whole years, from 5 to 120, or None for none"),
        ([72], "[72]", "give the age in whole years, from 5 to 120, or None for none"),
    ],
    ids=["4", "121", "15.5", "text", "bool", "negative", "list"],
)
def test_ages_the_contract_refuses_are_refused_and_nothing_is_stored(
    log: TriageLog, private_log: Path, age: Any, got: str, fix: str
) -> None:
    log.set_patient("pt-1", age=40, by="Dr Ada")
    with pytest.raises(UsageError) as info:
        log.set_patient("pt-1", age=age, by="Dr Ada")
    assert str(info.value) == f"field 'age': got {got}, expected a whole number from 5 to 120"
    assert info.value.fix == fix
    assert [r["age"] for r in stored(private_log)] == [40]


def test_what_changed_names_the_age(log: TriageLog) -> None:
    log.set_patient("pt-1", profile="athlete", by="Dr Ada")
    log.set_patient("pt-1", age=17, by="Dr Ada")
    log.set_patient("pt-1", profile="older_adult", age=70, conditions=["osteoporosis"], by="Dr Bo")
    log.set_patient("pt-1", age=None, by="Dr Bo")
    log.set_patient("pt-1", age=KEEP, profile="older_adult", by="Dr Bo")
    data = patient_data("pt-1", log.patient_history("pt-1"))
    assert [h["changed"] for h in data["history"]] == [
        ["profile"],
        ["age"],
        ["profile", "age", "conditions"],
        ["age"],
        [],
    ]
    assert [h["age"] for h in data["history"]] == [None, 17, 70, None, None]
    assert list(data["current"]) == [
        "id", "patient_id", "profile", "age", "conditions", "set_at", "set_by", "note"
    ]  # fmt: skip


AGE_RULE = """\
  - id: probe.under-18
    title: Under 18
    outcome: seek_medical_review
    urgency: routine
    when:
      age: {below: 18}
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
"""


@pytest.fixture
def age_pack(tmp_path: Path) -> triage.RulePack:
    """The probe pack and a rule on the age, as R13 reads it."""
    folder = tmp_path / "age-pack"
    folder.mkdir()
    (folder / "pack.yaml").write_text("name: probe-age\nversion: 3.0.0\npolicy: p\nno_alert: n\n")
    (folder / "rules.yaml").write_text(RULES + AGE_RULE)
    return triage.load_pack(folder)


@pytest.mark.parametrize("engine", ["reference", "durable-rules"])
def test_a_check_gets_the_age_of_the_record(log: TriageLog, age_pack, engine: str) -> None:
    pytest.importorskip("durable") if engine == "durable-rules" else None
    record = log.set_patient("pt-1", age=16, conditions=["blood_thinners"], by="Dr Ada")
    result = triage.check(v2_report(patient_id="pt-1"), log=log, pack=age_pack, engine=engine)
    assert result.patient_record == record and result.decision.report.age == 16
    assert fired(result.decision) == {"probe.blood-thinners", "probe.under-18"}
    assert result.entry is not None
    assert log.entry(result.entry.id).report["age"] == 16
    log.set_patient("pt-1", age=None, by="Dr Ada")
    again = triage.check(v2_report(patient_id="pt-1"), log=log, pack=age_pack, engine=engine)
    assert again.entry is not None and "age" not in log.entry(again.entry.id).report
    assert fired(again.decision) == {"probe.blood-thinners"}


@pytest.mark.parametrize(
    ("given", "age"),
    [({}, 72), ({"age": 30}, 30), ({"age": None}, None), ({"profile": "athlete"}, 72)],
    ids=["none-given", "age", "null-age", "profile-only"],
)
@pytest.mark.parametrize("as_report", [False, True], ids=["mapping", "report"])
def test_an_age_given_explicitly_wins(
    given: dict[str, Any], age: int | None, as_report: bool
) -> None:
    record = PatientRecord(1, "pt-1", "older_adult", ("osteoporosis",), "t", "Dr Ada", "", age=72)
    answers: dict[str, Any] | Report = {**v2_report(patient_id="pt-1"), **given}
    if as_report:
        answers = triage.parse_report(answers)
    filled = triage.parse_report(with_patient_record(answers, record))
    assert filled.age == age and list(filled.conditions) == ["osteoporosis"]


def test_an_age_given_by_an_embedding_app_wins_in_a_whole_check(log: TriageLog, age_pack) -> None:
    log.set_patient("pt-1", age=16, by="Dr Ada")
    answers = v2_report(patient_id="pt-1", age=40)
    result = triage.check(answers, log=log, pack=age_pack, engine="reference")
    assert result.decision.report.age == 40 and fired(result.decision) == set()
    assert log.patient("pt-1").age == 16  # type: ignore[union-attr]  # the record is unchanged


def test_an_age_the_report_refuses_is_refused_with_the_record_there_too(
    log: TriageLog, age_pack
) -> None:
    log.set_patient("pt-1", age=16, by="Dr Ada")
    with pytest.raises(triage.ReportError, match="age"):
        triage.check(v2_report(patient_id="pt-1", age="15"), log=log, pack=age_pack)


# -- a log written before the age ---------------------------------------------------------------


@pytest.mark.sqlite_only
def test_records_written_before_the_age_migrate_and_verify(tmp_path: Path, age_pack) -> None:
    """A log of schema 7 (patient records of form 3, no age column), as triage wrote it."""
    path = load_log(SCHEMA_7_LOG, tmp_path / "schema-7.db")
    with TriageLog(path, create=False) as log:
        before = log.verify()
        assert before.ok and (before.entries, before.reviews, before.patients) == (8, 3, 3)
        old = log.patient("pt-rec")
        assert old is not None and (old.profile, old.age, old.conditions) == (
            None,
            None,
            ("blood_thinners",),
        )
        assert [r.age for r in log.patient_history("pt-rec")] == [None, None]
        new = log.set_patient("pt-rec", age=16, by="Dr Cy")
        assert (new.age, new.conditions) == (16, ("blood_thinners",))  # the rest is kept
        result = triage.check(v2_report(patient_id="pt-rec"), log=log, pack=age_pack)
        assert result.decision.report.age == 16 and "probe.under-18" in fired(result.decision)
        after = log.verify()
    assert after.ok and (after.entries, after.reviews, after.patients) == (9, 3, 4)
    forms = [(r["id"], r["form"], r["age"]) for r in stored(path)]
    assert forms == [(1, 3, None), (2, 3, None), (3, 3, None), (4, CURRENT_FORM, 16)]
    verified = run("log", "verify", "--db", str(path))
    assert verified.exit_code == 0, verified.output
    assert "9 entries, 3 reviews and 4 patient records; the hash chain is intact" in verified.stdout


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        (
            "UPDATE patients SET age = 40 WHERE id = 2",
            "patient record 2 (record 13) was written before its age was recorded, yet holds 40",
        ),
        (
            "UPDATE patients SET age = 17 WHERE id = 4",
            "patient record 4 (record 15) does not match its hash",
        ),
        (
            "UPDATE patients SET form = 3 WHERE id = 4",
            "patient record 4 (record 15) does not match its hash",
        ),
    ],
    ids=["old-record-given-an-age", "new-record-age", "new-record-form"],
)
def test_an_age_edited_into_the_log_is_detected(tmp_path: Path, sql: str, bad: str) -> None:
    path = load_log(SCHEMA_7_LOG, tmp_path / "schema-7.db")
    with TriageLog(path, create=False) as log:
        log.set_patient("pt-other", age=30, by="Dr Cy")
        assert log.verify().ok
    tamper(path, sql)
    with TriageLog(path, create=False) as log:
        result = log.verify()
    assert not result.ok and str(result.first_bad).startswith(bad), result.first_bad


# -- the library: refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message", "fix"),
    [
        (
            {"conditions": ["blod_thinners"]},
            "field 'conditions': holds \"blod_thinners\", which is not one of heart_disease, "
            "high_blood_pressure, diabetes_insulin, blood_thinners, previous_clot",
            "did you mean 'blood_thinners'?",
        ),
        (
            {"conditions": ["hart_disease", "x"]},
            'field \'conditions\': holds "hart_disease" and "x", which are not among',
            "for \"hart_disease\", did you mean 'heart_disease'?",
        ),
        (
            {"conditions": "blood_thinners"},
            "field 'conditions': got \"blood_thinners\", expected a list of different answers",
            "write a list: [blood_thinners]",
        ),
        (
            {"conditions": ["heart_disease", "heart_disease"]},
            "field 'conditions': lists heart_disease more than once",
            "list each condition once",
        ),
        (
            {"conditions": [True]},
            "field 'conditions': holds true, which is not one of",
            "give only the conditions listed",
        ),
        (
            {"profile": "athelete"},
            "field 'profile': got \"athelete\", expected one of athlete, adult_with_pain, "
            "older_adult",
            "did you mean 'athlete'?",
        ),
        (
            {"profile": ""},
            "field 'profile': got \"\", expected one of",
            "give one of the profiles listed",
        ),
        (
            {},
            "a patient record is set with a profile, an age, conditions or some of them",
            "give the profile",
        ),
    ],
    ids=[
        "unknown-condition",
        "two-unknown",
        "bare-string",
        "repeated",
        "not-text",
        "unknown-profile",
        "empty-profile",
        "nothing",
    ],
)
def test_values_outside_the_contract_are_refused_and_nothing_is_stored(
    log: TriageLog, private_log: Path, given: dict[str, Any], message: str, fix: str
) -> None:
    with pytest.raises(UsageError) as info:
        log.set_patient("pt-1", by="Dr Ada", **given)
    assert str(info.value).startswith(message) and (info.value.fix or "").startswith(fix)
    assert stored(private_log) == []


@pytest.mark.parametrize("patient", ["pt 1", "", "p" * 65, "pt-\x1b[2J"])
def test_a_patient_id_the_contract_would_refuse_is_refused(log: TriageLog, patient: str) -> None:
    with pytest.raises(UsageError, match=r"field 'patient_id': got .*, expected 1 to 64 letters"):
        log.set_patient(patient, profile="athlete", by="Dr Ada")


@pytest.mark.parametrize(
    ("field", "by", "note"),
    [
        ("set_by", "Dr \x1b[2JAda", ""),
        ("set_by", "Dr Ada\r", ""),
        ("note", "Dr Ada", "two\nlines"),
        ("note", "Dr Ada", "osc \x1b]8;;http://x\x07link"),
        ("note", "Dr Ada", "c1 \x9b0m"),
    ],
    ids=["by-csi", "by-cr", "note-newline", "note-osc", "note-c1"],
)
def test_control_characters_in_who_and_the_note_are_refused(
    log: TriageLog, private_log: Path, field: str, by: str, note: str
) -> None:
    with pytest.raises(UsageError) as info:
        log.set_patient("pt-1", profile="athlete", by=by, note=note)
    assert str(info.value).startswith(f"field '{field}' contains a control character")
    assert stored(private_log) == []


def test_who_set_it_is_required_and_not_utf8_is_refused(log: TriageLog) -> None:
    with pytest.raises(UsageError, match="needs the name of who set it"):
        log.set_patient("pt-1", profile="athlete", by="  ")
    with pytest.raises(UsageError, match="field 'note' is not valid UTF-8 text"):
        log.set_patient("pt-1", profile="athlete", by="Dr Ada", note="\udce9t\udce9")


# -- the chain -----------------------------------------------------------------------------------


def test_records_join_the_one_chain_and_verify(log: TriageLog, private_log: Path, pack) -> None:
    triage.check(v2_report(patient_id="pt-1"), log=log, pack=pack, engine="reference")
    log.set_patient("pt-1", profile="athlete", by="Dr Ada")
    log.review(1, by="Dr Ada", verdict="accepted")
    log.set_patient("pt-1", conditions=["heart_disease"], by="Dr Ada")
    rows = stored(private_log)
    assert [r["seq"] for r in rows] == [2, 4] and [r["form"] for r in rows] == [CURRENT_FORM] * 2
    [review] = stored(private_log, "SELECT * FROM reviews")
    assert rows[0]["prev_hash"] == stored(private_log, "SELECT hash FROM entries")[0]["hash"]
    assert rows[1]["prev_hash"] == review["hash"]
    assert all(record_hash("patient", row) == row["hash"] for row in rows)
    result = log.verify()
    assert result.ok and (result.entries, result.reviews, result.patients) == (1, 1, 2)


@pytest.fixture
def chained(private_log: Path, tmp_path: Path) -> Path:
    """Patient records 1 and 2 with an entry between and after them."""
    with TriageLog(private_log) as log:
        log.set_patient("pt-1", profile="athlete", conditions=["heart_disease"], by="Dr Ada")
        log.record(triage.evaluate(v2_report(), pack=v2_pack(tmp_path / "p")))
        log.set_patient("pt-1", profile="older_adult", age=70, by="Dr Bo", note="Turned 70.")
        log.record(triage.evaluate(v2_report(), pack=v2_pack(tmp_path / "p")))
        assert log.verify().ok
    return private_log


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        (
            "UPDATE patients SET profile = NULL WHERE id = 2",
            "patient record 2 (record 3) does not match its hash: it was edited outside triage",
        ),
        (
            "UPDATE patients SET conditions_json = '[]' WHERE id = 1",
            "patient record 1 (record 1) does not match its hash",
        ),
        (
            "UPDATE patients SET set_by = 'Dr Eve' WHERE id = 2",
            "patient record 2 (record 3) does not match its hash",
        ),
        (
            "UPDATE patients SET note = '' WHERE id = 2",
            "patient record 2 (record 3) does not match its hash",
        ),
        (
            "UPDATE patients SET patient_id = 'pt-2' WHERE id = 1",
            "patient record 1 (record 1) does not match its hash",
        ),
        (
            "UPDATE patients SET age = 40 WHERE id = 2",
            "patient record 2 (record 3) does not match its hash",
        ),
        (
            "UPDATE patients SET form = 3 WHERE id = 2",
            "patient record 2 (record 3) does not match its hash",
        ),
        (
            "UPDATE patients SET form = 1 WHERE id = 1",
            "patient record 1 (record 1) names canonical form 1, older than patient records",
        ),
        (
            "UPDATE patients SET form = 9 WHERE id = 1",
            "patient record 1 (record 1) names canonical form 9, which this log's schema does "
            "not have",
        ),
        ("DELETE FROM patients WHERE id = 2", "record 3 is missing before entry 2 (record 4)"),
    ],
    ids=[
        "profile",
        "conditions",
        "who",
        "note",
        "patient",
        "age",
        "form-3",
        "form-1",
        "form-9",
        "deleted",
    ],
)
def test_an_edit_to_a_patient_record_is_detected(chained: Path, sql: str, bad: str) -> None:
    tamper(chained, sql)
    with TriageLog(chained, create=False) as log:
        result = log.verify()
    assert not result.ok and str(result.first_bad).startswith(bad), result.first_bad


def test_a_damaged_record_is_a_storage_error_naming_it(chained: Path) -> None:
    tamper(chained, "UPDATE patients SET conditions_json = '[\"gout\"]' WHERE id = 2")
    with TriageLog(chained, create=False) as log, pytest.raises(StorageError) as info:
        log.patient("pt-1")
    assert "patient record 2 in" in str(info.value) and "cannot be read" in str(info.value)
    assert "triage log verify" in (info.value.fix or "")


# -- every check of the patient gets them --------------------------------------------------------


def test_a_check_gets_the_record_filled_in_and_shows_it(log: TriageLog, pack) -> None:
    record = log.set_patient(
        "pt-1", profile="older_adult", conditions=["blood_thinners"], by="Dr Ada"
    )
    result = triage.check(v2_report(patient_id="pt-1"), log=log, pack=pack, engine="reference")
    report = result.decision.report.answers()
    assert (report["profile"], report["conditions"]) == ("older_adult", ["blood_thinners"])
    assert fired(result.decision) == {"probe.blood-thinners", "probe.older-adult"}
    assert result.patient_record == record
    assert result.entry is not None
    entry = log.entry(result.entry.id)
    assert entry.report["conditions"] == ["blood_thinners"]
    assert entry.decision["report"]["profile"] == "older_adult"


@pytest.mark.parametrize(
    ("given", "profile", "conditions"),
    [
        ({}, "older_adult", ["blood_thinners"]),
        ({"profile": "athlete"}, "athlete", ["blood_thinners"]),
        ({"conditions": ["heart_disease"]}, "older_adult", ["heart_disease"]),
        ({"conditions": []}, "older_adult", []),
        ({"profile": None}, None, ["blood_thinners"]),
        ({"profile": "athlete", "conditions": []}, "athlete", []),
    ],
    ids=["none-given", "profile", "conditions", "empty-conditions", "null-profile", "both"],
)
@pytest.mark.parametrize("as_report", [False, True], ids=["mapping", "report"])
def test_an_answer_given_explicitly_wins(
    given: dict[str, Any], profile: str | None, conditions: list[str], as_report: bool
) -> None:
    record = PatientRecord(1, "pt-1", "older_adult", ("blood_thinners",), "t", "Dr Ada", "")
    answers: dict[str, Any] | Report = {**v2_report(patient_id="pt-1"), **given}
    if as_report:
        answers = triage.parse_report(answers)
    filled = triage.parse_report(with_patient_record(answers, record))
    assert (filled.profile, list(filled.conditions)) == (profile, conditions)


def test_explicit_answers_win_in_a_whole_check(log: TriageLog, pack) -> None:
    log.set_patient("pt-1", profile="older_adult", conditions=["blood_thinners"], by="Dr Ada")
    answers = v2_report(patient_id="pt-1", profile="athlete", conditions=[])
    result = triage.check(answers, log=log, pack=pack, engine="reference")
    assert fired(result.decision) == set()
    assert "conditions" not in result.decision.report.answers()  # an empty set is left out
    assert result.decision.report.profile == "athlete"


def test_answers_are_untouched_without_a_record() -> None:
    answers = v2_report()
    assert with_patient_record(answers, None) is answers
    record = PatientRecord(1, "pt-v2", None, (), "t", "Dr Ada", "")
    given = v2_report(conditions=[])
    assert with_patient_record(given, record) is given  # nothing to fill
    assert with_patient_record(["not", "a", "mapping"], record) == ["not", "a", "mapping"]  # type: ignore[arg-type]


def test_a_record_applies_to_later_checks_only(log: TriageLog, pack) -> None:
    first = triage.check(v2_report(patient_id="pt-1"), log=log, pack=pack, engine="reference")
    log.set_patient("pt-1", conditions=["blood_thinners"], by="Dr Ada")
    second = triage.check(v2_report(patient_id="pt-1"), log=log, pack=pack, engine="reference")
    assert first.entry is not None and second.entry is not None
    assert "conditions" not in log.entry(first.entry.id).report
    assert log.entry(second.entry.id).report["conditions"] == ["blood_thinners"]


def test_another_patients_record_is_never_used(log: TriageLog, pack) -> None:
    log.set_patient("pt-1", conditions=["blood_thinners"], by="Dr Ada")
    result = triage.check(v2_report(patient_id="PT-1"), log=log, pack=pack, engine="reference")
    assert result.patient_record is None and fired(result.decision) == set()


@pytest.mark.parametrize("engine", ["reference", "durable-rules"])
def test_both_engines_see_the_filled_answers(log: TriageLog, pack, engine: str) -> None:
    pytest.importorskip("durable") if engine == "durable-rules" else None
    log.set_patient("pt-1", profile="older_adult", conditions=["blood_thinners"], by="Dr Ada")
    result = triage.check(v2_report(patient_id="pt-1"), log=log, pack=pack, engine=engine)
    assert fired(result.decision) == {"probe.blood-thinners", "probe.older-adult"}


def test_a_check_without_recording_still_gets_the_record(private_log: Path, pack) -> None:
    with TriageLog(private_log) as log:
        log.set_patient("pt-1", conditions=["blood_thinners"], by="Dr Ada")
    result = triage.check(
        v2_report(patient_id="pt-1"), log=private_log, pack=pack, engine="reference", record=False
    )
    assert fired(result.decision) == {"probe.blood-thinners"} and not result.logged


def test_a_follow_up_gets_the_record_too(log: TriageLog, pack) -> None:
    triage.check(v2_report(patient_id="pt-1"), log=log, pack=pack, engine="reference")
    log.set_patient("pt-1", profile="older_adult", by="Dr Ada")
    answers = v2_report(patient_id="pt-1", hours_since_session=None)
    result = triage.check(answers, log=log, pack=pack, engine="reference", follow_up=True)
    assert result.session is not None and result.decision.report.profile == "older_adult"


def test_a_damaged_record_gives_no_decision(chained: Path, pack) -> None:
    """Its conditions may be what makes the answers urgent (issue 21): fail closed."""
    tamper(chained, "UPDATE patients SET conditions_json = 'not json' WHERE id = 2")
    before = len(rows(chained, "SELECT id FROM entries"))
    with pytest.raises(triage.UnavailableError) as raised:
        triage.check(v2_report(patient_id="pt-1"), log=chained, pack=pack, engine="reference")
    assert "patient record 2" in str(raised.value)
    assert len(rows(chained, "SELECT id FROM entries")) == before


# -- the command line ----------------------------------------------------------------------------

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")


def shown(text: str, path: Path) -> str:
    """Output with the log's path and the times replaced, for goldens."""
    return TIME.sub("<time>", text.replace(str(path), "LOG"))


def patient_set(path: Path, patient: str, *args: str) -> Result:
    return run("patient", "set", patient, *args, "--db", str(path))


def set_twice(path: Path) -> None:
    first = run(
        "patient", "set", "pt-0042", "--profile", "older_adult", "--condition", "blood_thinners",
        "--by", "Dr Ada", "--note", "From the referral letter.", "--db", str(path),
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    second = run(
        "patient", "set", "pt-0042", "--condition", "blood_thinners", "--condition",
        "previous_clot", "--by", "Dr Bo", "--db", str(path),
    )  # fmt: skip
    assert second.exit_code == 0, second.output


def test_set_starts_a_log_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    result = patient_set(path, "pt-0042", "--profile", "athlete", "--by", "Dr Ada")
    assert result.exit_code == 0 and path.exists()
    check_golden("patient-set", shown(result.stdout, path))
    check_golden("patient-set-new-log", shown(result.stderr, path))


def test_set_names_a_close_patient_when_the_id_has_no_checks(tmp_path: Path, pack) -> None:
    path = tmp_path / "log.db"
    triage.check(v2_report(patient_id="pt-0042"), log=path, pack=pack, engine="reference")
    result = patient_set(path, "pt-0024", "--profile", "athlete", "--by", "Dr Ada")
    assert result.exit_code == 0
    assert result.stderr == "The log has no checks of pt-0024 yet (did you mean pt-0042?).\n"
    again = patient_set(path, "pt-0042", "--profile", "athlete", "--by", "Dr Ada")
    assert again.exit_code == 0 and again.stderr == ""


def test_show_lists_the_current_record_and_every_change(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    assert patient_set(path, "pt-0042", "--age", "72", "--by", "Dr Bo").exit_code == 0
    assert patient_set(path, "pt-0042", "--no-profile", "--by", "Dr Bo").exit_code == 0
    result = run("patient", "show", "pt-0042", "--db", str(path))
    assert result.exit_code == 0
    check_golden("patient-show", shown(result.stdout, path))


def test_show_as_json(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    data = json.loads(run("patient", "show", "pt-0042", "--json", "--db", str(path)).stdout)
    assert data["current"]["conditions"] == ["blood_thinners", "previous_clot"]
    assert [(h["set_by"], h["changed"]) for h in data["history"]] == [
        ("Dr Ada", ["profile", "conditions"]),
        ("Dr Bo", ["conditions"]),
    ]
    assert data["current"] == {k: v for k, v in data["history"][-1].items() if k != "changed"}


def test_show_a_patient_with_checks_and_no_record(tmp_path: Path, pack) -> None:
    path = tmp_path / "log.db"
    triage.check(v2_report(patient_id="pt-7"), log=path, pack=pack, engine="reference")
    result = run("patient", "show", "pt-7", "--db", str(path))
    assert result.exit_code == 0
    assert result.stdout.startswith("No patient record for pt-7: their checks use only")
    data = json.loads(run("patient", "show", "pt-7", "--json", "--db", str(path)).stdout)
    assert data == {"patient_id": "pt-7", "current": None, "history": []}


def test_show_an_unknown_patient_suggests_close_ids(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    result = run("patient", "show", "PT-0042", "--db", str(path))
    assert result.exit_code == 1
    check_golden("patient-unknown", shown(result.stderr, path))


def test_show_never_starts_a_log(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    result = run("patient", "show", "pt-1", "--db", str(path))
    assert result.exit_code == 1 and not path.exists()
    assert "there is no triage log at" in result.stderr


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        (["--condition", "blod_thinners"], "patient-unknown-condition"),
        (["--profile", "older"], "patient-unknown-profile"),
        (["--profile", "athlete", "--by", "Dr \x1b[2JAda"], "patient-by-control"),
    ],
    ids=["condition", "profile", "by-control"],
)
def test_set_refusals_are_clean_and_start_no_log(
    tmp_path: Path, args: list[str], golden: str
) -> None:
    path = tmp_path / "new.db"
    result = run("patient", "set", "pt-1", "--by", "Dr Ada", *args, "--db", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not path.exists()
    check_golden(golden, result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --profile, --age, --condition, --no-profile, --no-age or --no-conditions"),
        (["--profile", "athlete", "--no-profile"], "give either --profile or --no-profile"),
        (["--age", "72", "--no-age"], "give either --age or --no-age"),
        (
            ["--condition", "heart_disease", "--no-conditions"],
            "give either --condition or --no-conditions",
        ),
    ],
    ids=["nothing", "profile-twice", "age-twice", "conditions-twice"],
)
def test_set_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("patient", "set", "pt-1", *args, "--db", str(tmp_path / "log.db"))
    assert result.exit_code == 2 and message in result.stderr


def test_no_conditions_clears_them(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    assert patient_set(path, "pt-0042", "--no-conditions", "--by", "Dr Bo").exit_code == 0
    with TriageLog(path, create=False) as log:
        current = log.patient("pt-0042")
    assert current is not None and (current.profile, current.conditions) == ("older_adult", ())


def test_age_is_set_kept_and_cleared_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    result = patient_set(path, "pt-0042", "--age", "72", "--by", "Dr Bo")
    assert result.exit_code == 0, result.output
    assert "  Profile:    older_adult\n  Age:        72\n" in result.stdout
    assert patient_set(path, "pt-0042", "--profile", "athlete", "--by", "Dr Bo").exit_code == 0
    with TriageLog(path, create=False) as log:
        assert log.patient("pt-0042").age == 72  # type: ignore[union-attr]
    cleared = patient_set(path, "pt-0042", "--no-age", "--by", "Dr Bo")
    assert cleared.exit_code == 0 and "  Age:        none\n" in cleared.stdout
    shown_now = run("patient", "show", "pt-0042", "--db", str(path)).stdout
    assert ": age 72\n" in shown_now and ": age cleared\n" in shown_now
    data = json.loads(run("patient", "show", "pt-0042", "--json", "--db", str(path)).stdout)
    assert [h["age"] for h in data["history"]] == [None, None, 72, 72, None]
    assert data["current"]["age"] is None and data["history"][2]["changed"] == ["age"]


@pytest.mark.parametrize("age", ["5", "120", " 40 ", "+40", "72.0"])
def test_ages_the_contract_accepts_from_the_command_line(tmp_path: Path, age: str) -> None:
    path = tmp_path / "log.db"
    result = patient_set(path, "pt-1", "--age", age, "--by", "Dr Ada")
    assert result.exit_code == 0, result.output
    with TriageLog(path, create=False) as log:
        assert log.patient("pt-1").age == int(float(age))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (
            "4",
            "error: field 'age': got 4, expected a whole number from 5 to 120\n  give the age "
            "in whole years, from 5 to 120, or None for none\n",
        ),
        ("121", "error: field 'age': got 121, expected a whole number from 5 to 120\n"),
        ("15.5", "error: field 'age': got 15.5, expected a whole number from 5 to 120\n"),
        ("fifteen", "error: field 'age': got \"fifteen\", expected a whole number from 5 to 120\n"),
        ("", "error: field 'age': got \"\", expected a whole number from 5 to 120\n"),
        ("nan", "error: field 'age': got \"nan\", expected a whole number from 5 to 120\n"),
    ],
    ids=["4", "121", "15.5", "word", "empty", "nan"],
)
def test_ages_the_contract_refuses_from_the_command_line(
    tmp_path: Path, age: str, message: str
) -> None:
    path = tmp_path / "new.db"
    result = patient_set(path, "pt-1", "--age", age, "--by", "Dr Ada")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(message) and not path.exists()


def test_by_defaults_to_the_login_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ada")
    path = tmp_path / "log.db"
    assert run("patient", "set", "pt-1", "--profile", "athlete", "--db", str(path)).exit_code == 0
    with TriageLog(path, create=False) as log:
        assert log.patient("pt-1").set_by == "ada"  # type: ignore[union-attr]


def test_help_lists_the_values_from_the_contract() -> None:
    result = run("patient", "set", "--help")
    assert "Profiles: athlete, adult_with_pain, older_adult." in result.stdout
    assert "Age: a whole number from 5 to 120 (years)." in result.stdout
    assert "previous_clot, osteoporosis." in result.stdout


def test_a_cli_check_of_the_patient_shows_what_was_used(tmp_path: Path, pack) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(v2_report(patient_id="pt-0042")))
    result = run(
        "check", "--answers", str(answers), "--rules", str(pack.path), "--engine", "reference",
        "--json", "--db", str(path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["report"]
    assert (report["profile"], report["conditions"]) == (
        "older_adult",
        ["blood_thinners", "previous_clot"],
    )


def test_verify_counts_patient_records(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    result = run("log", "verify", "--db", str(path))
    assert result.exit_code == 0
    assert "0 entries, 0 reviews and 2 patient records; the hash chain is intact" in result.stdout


def test_patient_commands_show_controls_escaped(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with TriageLog(path) as log:
        log.set_patient("pt-1", profile="athlete", by="Dr \u202eAda", note="bidi \u2066x")
    result = run("patient", "show", "pt-1", "--db", str(path))
    assert "Dr \\u202eAda" in result.stdout and "\u202e" not in result.stdout


def test_a_patient_with_only_a_record_is_known_to_the_log_commands(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    set_twice(path)
    result = run("log", "list", "--patient", "pt-0042", "--db", str(path))
    assert result.exit_code == 0 and result.stdout == "No entries match.\n"
