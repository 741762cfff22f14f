"""Logs across contract versions (issue 10, item 6). A log written by the release (schema 2,
contract v1) and one written by triage 0.1.0 (schema 1) migrate in place to the patient records'
schema; the entries they hold stay readable in every view and export, keep verifying, and reach
the history rules through ``readable_answers``: an answer contract v1 could not give, or gave
with another meaning (``numbness: one_limb``, ``sudden_headache``, ``pain_site: back``), is
absent."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import triage
from tests.support.cli_runs import check_golden, run
from tests.support.helpers import SHARED, load_case
from tests.support.log_v2 import RELEASE_LOG, SCHEMA_1_LOG, fired, load_log, v2_pack, v2_report
from triage.contract.reading import FIELDS, readable_answers
from triage.log import TriageLog
from triage.log.chain import CURRENT_FORM
from triage.log.sqlite import MIGRATIONS
from triage.outcomes import severity

AFTER_V1 = "2026-11-28T08:00:00Z"
"""A day after pt-v1's last v1 check: all three are within the history rules' 14 days."""


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return load_log(RELEASE_LOG, tmp_path / "release.db")


@pytest.fixture
def pack(tmp_path: Path) -> triage.RulePack:
    return v2_pack(tmp_path / "pack")


def rows(path: Path, table: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    finally:
        conn.close()


def schema_version(path: Path) -> tuple[int, list[int]]:
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        applied = [r[0] for r in conn.execute("SELECT version FROM migrations ORDER BY version")]
    return version, applied


# -- migration in place --------------------------------------------------------------------------


ALL = (len(MIGRATIONS), list(range(1, len(MIGRATIONS) + 1)))


def test_the_migrations_add_patient_records_checkpoints_cards_then_sessions_and_keys() -> None:
    assert len(MIGRATIONS) == 10
    name, sql = MIGRATIONS[2]
    assert name.startswith("patient records") and "CREATE TABLE patients" in sql
    name, sql = MIGRATIONS[4]
    assert name.startswith("signed checkpoints") and "CREATE TABLE checkpoints" in sql
    name, sql = MIGRATIONS[5]
    assert name.startswith("CDS Hooks: the cards") and "CREATE TABLE cds_cards" in sql
    name, sql = MIGRATIONS[6]
    assert name.startswith("sessions that end") and all(
        f"CREATE TABLE {table}" in sql
        for table in ("web_sessions", "used_jtis", "idempotency_keys")
    )
    name, sql = MIGRATIONS[7]
    assert name.startswith("the patient's age") and sql.split() == [
        "ALTER", "TABLE", "patients", "ADD", "COLUMN", "age", "INTEGER;"
    ]  # fmt: skip
    name, sql = MIGRATIONS[9]
    assert name.startswith("contacts with patients") and "CREATE TABLE contacts" in sql


def test_the_fourth_migration_fills_the_worklist_of_a_log_of_the_release(release: Path) -> None:
    """Every unreviewed entry above continue of the release's log is on the worklist after the
    migration, with its severity; reviewed and continue entries are not."""
    name, _ = MIGRATIONS[3]
    assert name.startswith("triage serve")
    before_entries, before_reviews = rows(release, "entries"), rows(release, "reviews")
    with TriageLog(release, create=False) as log:
        assert log.verify().ok
    reviewed = {r["entry_id"] for r in before_reviews}
    expected = {
        e["id"]: severity(e["outcome"], e["urgency"])
        for e in before_entries
        if e["outcome"] != "continue" and e["id"] not in reviewed
    }
    assert expected and {r["entry_id"]: r["severity"] for r in rows_of(release)} == expected


def rows_of(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute("SELECT * FROM worklist ORDER BY entry_id")]
    finally:
        conn.close()


def test_a_log_of_the_release_migrates_in_place_and_still_verifies(release: Path) -> None:
    assert schema_version(release) == (2, [1, 2])
    entries, reviews = rows(release, "entries"), rows(release, "reviews")
    with TriageLog(release, create=False) as log:
        assert not log.created
        result = log.verify()
    assert result.ok, result.first_bad
    assert (result.entries, result.reviews, result.patients) == (7, 2, 0)
    assert schema_version(release) == ALL
    assert rows(release, "entries") == [{**e, "channel": ""} for e in entries]  # migration 10
    assert rows(release, "reviews") == [{**r, "reason": ""} for r in reviews]  # migration 4
    assert rows(release, "patients") == []


def test_a_log_of_triage_0_1_0_migrates_through_every_migration(tmp_path: Path) -> None:
    path = load_log(SCHEMA_1_LOG, tmp_path / "old.db")
    with TriageLog(path, create=False) as log:
        result = log.verify()
        assert [log.entry(n).contract_version for n in range(1, 5)] == ["1"] * 4
    assert result.ok and (result.entries, result.reviews) == (4, 1)
    assert schema_version(path) == ALL


@pytest.fixture
def grown(release: Path, pack: triage.RulePack) -> Path:
    """The release's log, migrated, with a record of every kind appended: a patient record of
    pt-v1 (record 10), a check of pt-v1 under the current contract (entry 8, record 11) and its
    review (record 12)."""
    with TriageLog(release) as log:
        log.set_patient("pt-v1", profile="older_adult", conditions=["blood_thinners"], by="Dr Ada")
        answers = v2_report(patient_id="pt-v1", reported_at=AFTER_V1)
        result = triage.check(answers, log=log, pack=pack, engine="reference")
        assert result.entry is not None and result.entry.id == 8
        log.review(8, by="Dr Bo", verdict="accepted")
    return release


def test_verify_passes_after_migration_with_records_of_every_kind(grown: Path) -> None:
    with TriageLog(grown, create=False) as log:
        result = log.verify()
        new = log.entry(8)
    assert result.ok, result.first_bad
    assert (result.entries, result.reviews, result.patients) == (8, 3, 1)
    assert (new.form, new.contract_version) == (CURRENT_FORM, "3")
    cli = run("log", "verify", "--db", str(grown))
    assert cli.exit_code == 0
    assert "8 entries, 3 reviews and 1 patient record; the hash chain is intact" in cli.stdout


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        (
            "UPDATE patients SET conditions_json = '[]' WHERE id = 1",
            "patient record 1 (record 10) does not match its hash",
        ),
        (
            "UPDATE patients SET profile = 'athlete' WHERE id = 1",
            "patient record 1 (record 10) does not match its hash",
        ),
        ("DELETE FROM patients", "record 10 is missing before entry 8 (record 11)"),
        (
            "UPDATE entries SET contract_version = '2' WHERE id = 6",
            "entry 6 (record 7) does not match its hash",
        ),
        (
            "UPDATE entries SET contract_version = '2' WHERE id = 3",
            "entry 3 (record 3) was written before its contract_version was recorded",
        ),
        (
            "UPDATE entries SET report_json = replace(report_json, 'one_limb', 'one_arm') "
            "WHERE id = 6",
            "entry 6 (record 7) does not match its hash",
        ),
    ],
    ids=[
        "patient-conditions",
        "patient-profile",
        "patient-deleted",
        "v1-entry-contract",
        "0.1.0-entry-contract",
        "v1-entry-answer",
    ],
)
def test_edits_after_migration_are_detected(grown: Path, sql: str, bad: str) -> None:
    with sqlite3.connect(grown) as conn:
        conn.execute(sql)
    with TriageLog(grown, create=False) as log:
        result = log.verify()
    assert not result.ok and str(result.first_bad).startswith(bad), result.first_bad


# -- every view and export reads v1 entries ------------------------------------------------------


def test_log_list_shows_every_entry(grown: Path) -> None:
    result = run("log", "list", "--db", str(grown))
    assert result.exit_code == 0, result.output
    listed = [line[3:9].strip() for line in result.stdout.splitlines()[1:-2]]  # two footers
    assert listed == [str(n) for n in range(8, 0, -1)]
    as_json = json.loads(run("log", "list", "--json", "--db", str(grown)).stdout)
    assert [e["id"] for e in as_json] == list(range(8, 0, -1))


@pytest.mark.parametrize("entry_id", range(1, 8))
def test_log_show_reads_every_v1_entry(grown: Path, entry_id: int) -> None:
    result = run("log", "show", str(entry_id), "--db", str(grown))
    assert result.exit_code == 0, result.output
    assert "Answers (report contract v1):" in result.stdout
    data = json.loads(run("log", "show", str(entry_id), "--json", "--db", str(grown)).stdout)
    assert data["contract_version"] == "1" and data["id"] == entry_id
    assert data["form"] == (1 if entry_id <= 4 else 2)


def test_a_v1_entry_is_shown_as_it_was_answered(grown: Path) -> None:
    """The view shows what was stored (v1's answers, named as v1 named them), never a rewrite."""
    result = run("log", "show", "6", "--db", str(grown))
    assert "numbness: one_limb" in result.stdout and "sudden_headache: true" in result.stdout
    check_golden("v1-entry-show", result.stdout)


def test_log_show_of_a_v2_entry_names_its_contract(grown: Path) -> None:
    result = run("log", "show", "8", "--db", str(grown))
    assert "Answers (report contract v3):" in result.stdout
    assert (
        "  conditions: blood_thinners\n" in result.stdout and "  numbness: none\n" in result.stdout
    )


def test_log_trend_of_a_patient_checked_under_both_contracts(grown: Path) -> None:
    result = run("log", "trend", "--patient", "pt-v1", "--db", str(grown))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Patient pt-v1: 4 checks, 2026-11-23 to 2026-11-28 (UTC)")


def test_csv_export_holds_every_entry_with_its_contract(grown: Path) -> None:
    result = run("log", "export", "--format", "csv", "--db", str(grown))
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in table] == [str(n) for n in range(1, 9)]
    assert [r["contract_version"] for r in table] == ["1"] * 7 + ["3"]
    assert [r["pain_during"] for r in table[4:7]] == ["6", "7", "6"]
    assert table[5]["last_verdict"] == "overridden" and table[5]["reviews"] == "1"


def test_jsonl_export_holds_every_entry_as_stored(grown: Path) -> None:
    result = run("log", "export", "--format", "jsonl", "--db", str(grown))
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["contract_version"] for e in entries] == ["1"] * 7 + ["3"]
    v1 = entries[5]["decision"]["report"]
    assert (v1["numbness"], v1["sudden_headache"], v1["pain_site"]) == ("one_limb", True, "back")
    assert entries[7]["decision"]["report"]["conditions"] == ["blood_thinners"]


# -- the history rules read v1 entries through readable_answers ----------------------------------


def test_history_returns_v1_entries_read_into_the_current_contract(release: Path) -> None:
    before = datetime(2026, 11, 28, 8, tzinfo=timezone.utc)
    with TriageLog(release, create=False) as log:
        earlier = log.history("pt-v1", before=before, days=14)
        old = log.history("pt-p03-doms-30h", before=before, days=14)
    assert [e.outcome for e in earlier] == ["reduce_load", *["seek_medical_review"] * 2]
    first, second, third = (dict(e.answers) for e in earlier)
    assert first["numbness"] == [] and third["numbness"] == ["both_legs"]
    for absent in ("numbness", "sudden_headache", "pain_site"):  # one_limb, headache, back
        assert absent not in second
    assert "pain_region" not in second and "headache" not in second  # v1 never asked them
    assert all(set(answers) <= set(FIELDS) for answers in (first, second, third))
    assert (first["pain_during"], second["pain_now"], third["pain_site"]) == (6, 4, "joint")
    assert [dict(e.answers)["numbness"] for e in old] == [[]]  # written by triage 0.1.0


@pytest.mark.parametrize("engine", ["reference", "durable-rules"])
def test_history_rules_use_v1_entries_and_never_misread_them(
    release: Path, pack: triage.RulePack, engine: str
) -> None:
    if engine == "durable-rules":
        pytest.importorskip("durable")
    answers = v2_report(patient_id="pt-v1", reported_at=AFTER_V1)
    result = triage.check(answers, log=release, pack=pack, engine=engine)
    assert result.history is not None and len(result.history) == 3
    assert fired(result.decision) == {"probe.earlier-reductions", "probe.earlier-numb-both-legs"}
    # not probe.earlier-numb-one-limb (v1's one_limb: an arm or a leg?) nor
    # probe.earlier-headache (v1's sudden_headache is not v2's headache)


# -- entries of contract v2 read as v3 ----------------------------------------------------------

V2_REPORTS = sorted((SHARED / "vignettes-v2").glob("p1*.yaml"))[:6]


@pytest.mark.parametrize("path", V2_REPORTS, ids=lambda p: p.stem)
def test_a_v2_report_reads_as_v3_with_the_new_fields_absent(path: Path) -> None:
    stored = load_case(path)["report"]
    answers = readable_answers({**stored, "night_pain": True}, "2")
    assert "night_pain" not in answers  # v2 asked pain at rest or at night as one question
    parsed = triage.parse_report(answers)
    new = ("age", "pain_duration", "rest_pain", "muscle_bulge", "referred_ache", "cold_sweat")
    assert all(getattr(parsed, name) is None for name in (*new, "stress_leak"))
    assert {k: v for k, v in stored.items() if k != "night_pain"} == answers


def test_a_stored_v2_check_is_history_for_a_v3_check(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    earlier = {**v2_report(patient_id="pt-2", pain_during=6, pain_now=6), "night_pain": True}
    earlier.update(pain_region="knee", pain_site="joint", reported_at="2026-11-27T08:00:00Z")
    with mock.patch("triage.contract.report.CONTRACT_VERSION", "2"):
        triage.check(earlier, log=db)
    with TriageLog(db) as log:
        assert log.entry(1).contract_version == "2"
        before = datetime(2026, 11, 28, 8, tzinfo=timezone.utc)
        (found,) = log.history("pt-2", before=before, days=14)
    assert "night_pain" not in found.answers and found.answers["pain_during"] == 6
    later = v2_report(patient_id="pt-2", reported_at=AFTER_V1)
    result = triage.check(later, log=db)
    assert result.history is not None and len(result.history) == 1
    assert triage.TriageLog(db).verify().ok
