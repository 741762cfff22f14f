"""The log's columns are defined once; its schema moves by migrations; every record's hash names
the canonical form it covers, so a log written before a migration still verifies after it."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from pathlib import Path

import pytest

import triage
from tests.support.helpers import ROOT
from tests.support.log_v2 import v2_pack, v2_report
from triage.contract.report import CONTRACT_VERSION
from triage.log import EntrySummary, TriageLog
from triage.log.chain import CURRENT_FORM, covered, forms, record_hash
from triage.log.records import (
    COLUMNS,
    CSV_STORED,
    SUMMARY_FIELDS,
    TABLE_COLUMNS,
    TABLES,
    names,
)
from triage.log.sqlite import MIGRATIONS
from triage.views.export import CSV_COLUMNS, DERIVED

OLD_LOG = ROOT / "tests" / "support" / "golden" / "log" / "schema-1.sql"
"""A log written by triage 0.1.0 itself (schema 1, form 1): 4 entries, a review of entry 2."""

FORM_1 = {
    "entry": [
        "id",
        "seq",
        "recorded_at",
        "reported_at",
        "patient_id",
        "session_id",
        "outcome",
        "urgency",
        "top_reason",
        "pack_name",
        "pack_version",
        "pack_sha256",
        "engine_name",
        "engine_version",
        "program_version",
        "report_json",
        "decision_json",
        "prev_hash",
    ],
    "review": ["id", "seq", "entry_id", "reviewed_at", "reviewer", "verdict", "note", "prev_hash"],
}
"""What triage 0.1.0 hashed: frozen, as the logs it wrote depend on it."""


def old_log(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_LOG.read_text())
    return path


def decided(folder: Path, **changes: object) -> triage.Decision:
    """A contract v2 decision (by the probe pack of tests/support/log_v2.py, written into
    ``folder``)."""
    return triage.evaluate(v2_report(**changes), pack=v2_pack(folder / "pack"))


def tamper(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


# -- one definition ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(TABLE_COLUMNS))
def test_the_schema_after_all_migrations_has_exactly_the_defined_columns(
    tmp_path: Path, table: str
) -> None:
    TriageLog(tmp_path / "log.db").close()
    with sqlite3.connect(tmp_path / "log.db") as conn:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
    in_schema = [  # a primary key is never NULL, whatever table_info says
        (name, type_, bool(notnull or pk)) for _, name, type_, notnull, _, pk in info
    ]
    defined = [(c.name, c.type, not c.nullable) for c in TABLE_COLUMNS[table]]
    assert in_schema == defined


def test_every_chained_table_is_among_the_tables() -> None:
    assert all(TABLE_COLUMNS[TABLES[kind]] == COLUMNS[kind] for kind in TABLES)


def test_the_first_migration_is_the_one_that_shipped() -> None:
    """Logs made by 0.1.0 were made by exactly this SQL: never edit it, add a migration."""
    name, sql = MIGRATIONS[0]
    digest = hashlib.sha256(sql.encode()).hexdigest()
    assert (name, digest) == (
        "initial schema: entries and reviews, hash-chained",
        "2c691ad03990d955cf9bc608345a75496434f18581c9900c2374f26b2d5f5814",
    )


def test_the_migrations_of_the_release_are_the_ones_that_shipped() -> None:
    """Logs made by the release (main, e61e642) were made by exactly these: never edit them."""
    shipped = [(name, hashlib.sha256(sql.encode()).hexdigest()) for name, sql in MIGRATIONS[:2]]
    assert shipped[1] == (
        "canonical forms: every record names the form its hash covers; entries their contract",
        "0ff68af67b81dfdf5cc878b3fef8692660aa6bdfdfb7089e32584433729b7af7",
    )


def test_the_migrations_of_main_are_the_ones_that_shipped() -> None:
    """Patient records (3) and triage serve (4) shipped on main before signed checkpoints came
    (5): logs were made by exactly these, so they are never edited."""
    shipped = [(name, hashlib.sha256(sql.encode()).hexdigest()) for name, sql in MIGRATIONS[2:4]]
    assert [(name.split(":")[0], digest) for name, digest in shipped] == [
        ("patient records", "111552359d546184063d88cc8bfaea28f3beaf75be3bdb63c099dd1d97130938"),
        ("triage serve", "576af173d04a2fe2330b4f65978a168dc4ec96821517afee66d39056329a92cb"),
    ]
    assert MIGRATIONS[4][0].startswith("signed checkpoints")


def test_patient_records_are_form_2_and_covered_whole() -> None:
    assert list(forms("patient")) == [2, 3, 4, 5] and list(forms("entry")) == [1, 2, 3, 4, 5]
    assert list(forms("contact")) == [4, 5]
    assert set(covered("contact", 4)) == set(names("contact")) - {"hash"}
    assert set(covered("patient", 4)) == set(names("patient")) - {"hash"}
    assert covered("patient", 3) == covered("patient", 2)
    assert set(covered("patient", 4)) - set(covered("patient", 3)) == {"age"}


def test_form_1_covers_what_triage_0_1_0_hashed() -> None:
    assert {kind: list(covered(kind, 1)) for kind in ("entry", "review")} == FORM_1


def test_each_later_form_covers_its_number_and_the_columns_added_since() -> None:
    assert set(covered("entry", 2)) - set(FORM_1["entry"]) == {"form", "contract_version"}
    assert set(covered("review", 2)) - set(FORM_1["review"]) == {"form"}
    assert set(covered("review", 3)) - set(covered("review", 2)) == {"reason"}
    assert covered("entry", 4) == covered("entry", 3) == covered("entry", 2)
    assert covered("review", 5) == covered("review", 4) == covered("review", 3)
    assert set(covered("entry", 5)) - set(covered("entry", 4)) == {"channel"}
    assert max(c.since_form or 1 for cs in COLUMNS.values() for c in cs) == CURRENT_FORM


def test_summary_fields_and_export_columns_derive_from_the_columns() -> None:
    summary = [f.name for f in dataclasses.fields(EntrySummary)]
    assert summary == [*SUMMARY_FIELDS, "last_verdict"]
    entry_columns = [c.name for c in COLUMNS["entry"]]
    assert set(CSV_STORED) <= set(entry_columns)
    assert (*CSV_STORED, *DERIVED) == CSV_COLUMNS and "last_note" in CSV_COLUMNS


def test_new_records_fill_every_defined_column(tmp_path: Path) -> None:
    with TriageLog(tmp_path / "log.db") as log:
        log.record(decided(tmp_path))
        log.review(1, by="Dr Ada", verdict="accepted")
    conn = sqlite3.connect(tmp_path / "log.db")
    conn.row_factory = sqlite3.Row
    entry = dict(conn.execute("SELECT * FROM entries").fetchone())
    review = dict(conn.execute("SELECT * FROM reviews").fetchone())
    assert (entry["form"], entry["contract_version"], review["form"]) == (
        CURRENT_FORM,
        CONTRACT_VERSION,
        CURRENT_FORM,
    )
    assert record_hash("entry", entry) == entry["hash"]


# -- a log written before migration 2 ----------------------------------------------------------


def test_a_log_written_before_migration_2_verifies_after_it(tmp_path: Path) -> None:
    path = old_log(tmp_path)
    with TriageLog(path, create=False) as log:
        assert not log.created
        before = log.verify()
        assert before.ok and (before.entries, before.reviews) == (4, 1), before.first_bad
        old = log.entry(2)
        assert (old.form, old.contract_version, old.reviews[0].reviewer) == (1, "1", "Dr Ada")
        log.record(decided(tmp_path, patient_id="pt-new"))
        log.review(5, by="Dr Bo", verdict="accepted")
        after = log.verify()
    assert after.ok and (after.entries, after.reviews) == (5, 2), after.first_bad
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM migrations")] == list(
            range(1, len(MIGRATIONS) + 1)
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        forms = conn.execute("SELECT id, form FROM entries ORDER BY id").fetchall()
    assert forms == [(1, 1), (2, 1), (3, 1), (4, 1), (5, CURRENT_FORM)]


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    """The old log, migrated, with an entry (5) and a review (2) of the current form appended."""
    path = old_log(tmp_path)
    with TriageLog(path) as log:
        log.record(decided(tmp_path, patient_id="pt-new"))
        log.review(5, by="Dr Bo", verdict="accepted")
        log.record(decided(tmp_path, patient_id="pt-after"))
        assert log.verify().ok
    return path


def first_bad(path: Path) -> str:
    with TriageLog(path, create=False) as log:
        result = log.verify()
    assert not result.ok
    return str(result.first_bad)


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        (
            "UPDATE entries SET contract_version = '0' WHERE id = 5",
            "entry 5 (record 6) does not match its hash",
        ),
        ("UPDATE entries SET form = 1 WHERE id = 5", "entry 5 (record 6) does not match its hash"),
        ("UPDATE entries SET form = 2 WHERE id = 5", "entry 5 (record 6) does not match its hash"),
        ("UPDATE reviews SET form = 1 WHERE id = 2", "review 2 (record 7) does not match its hash"),
        ("UPDATE reviews SET form = 2 WHERE id = 2", "review 2 (record 7) does not match its hash"),
        ("UPDATE entries SET form = 2 WHERE id = 3", "entry 3 (record 3) does not match its hash"),
        ("UPDATE reviews SET form = 2 WHERE id = 1", "review 1 (record 4) does not match its hash"),
        ("UPDATE entries SET form = 3 WHERE id = 5", "entry 5 (record 6) does not match its hash"),
        ("UPDATE reviews SET form = 3 WHERE id = 2", "review 2 (record 7) does not match its hash"),
        (
            "UPDATE entries SET form = 6 WHERE id = 5",
            "entry 5 (record 6) names canonical form 6, which this log's schema does not have",
        ),
        (
            "UPDATE reviews SET reason = 'other' WHERE id = 1",
            "review 1 (record 4) was written before its reason was recorded, yet holds 'other'",
        ),
        (
            "UPDATE reviews SET reason = 'other' WHERE id = 2",
            "review 2 (record 7) does not match its hash",
        ),
        (
            "UPDATE entries SET contract_version = '2' WHERE id = 2",
            "entry 2 (record 2) was written before its contract_version was recorded, "
            "yet holds '2'",
        ),
    ],
    ids=[
        "form-4-contract-version",
        "form-4-to-1",
        "form-4-to-2",
        "review-form-4-to-1",
        "review-form-4-to-2",
        "form-1-to-2",
        "review-form-1-to-2",
        "form-4-to-3",
        "review-form-4-to-3",
        "unknown-form",
        "form-1-review-reason",
        "form-4-review-reason",
        "form-1-contract-version",
    ],
)
def test_edits_to_forms_and_new_columns_are_detected(migrated: Path, sql: str, bad: str) -> None:
    tamper(migrated, sql)
    assert first_bad(migrated).startswith(bad)


def test_an_untouched_migrated_log_verifies_from_the_command_line(migrated: Path) -> None:
    from tests.support.cli_runs import run

    result = run("log", "verify", "--db", str(migrated))
    assert result.exit_code == 0 and "6 entries and 2 reviews" in result.stdout
