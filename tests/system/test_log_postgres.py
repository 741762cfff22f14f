"""The PostgreSQL log on a real server (tests/support/pg_server.py): many writers on one gap-free
chain, the append-only rules for the app's role, the owner and a superuser, migrations, and moving
an SQLite log there. (A writer killed mid-transaction: tests/system/test_log_reliability.py, on
both.)"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import psycopg
import pytest

import triage
from tests.support.backends import REBUILD_WORKLIST, rows, tamper
from tests.support.cli_runs import run
from tests.support.helpers import report
from tests.support.log_v2 import SCHEMA_7_LOG, load_log
from tests.support.pg_server import APP, OWNER, Server
from tests.system.test_log_reliability import writer
from triage.errors import StorageError
from triage.log import Filters, TriageLog
from triage.log import checkpoints as signed
from triage.log import postgres as pg_backend
from triage.log.chain import CURRENT_FORM
from triage.log.postgres import MIGRATIONS
from triage.log.records import TABLE_COLUMNS, TABLES
from triage.outcomes import LEVELS, severity


@pytest.fixture
def log_url(postgres: Server) -> str:
    name = postgres.new_database()
    yield postgres.url(name, APP)
    postgres.drop(name)


def count(url: str) -> int:
    return len(rows(url, "SELECT id FROM entries"))


# -- many writers ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_eight_processes_append_500_each_on_one_gap_free_chain(log_url: str) -> None:
    procs = [writer(log_url, f"pt-{i}", 500) for i in range(8)]
    with TriageLog(log_url) as log:  # verify while they write: one snapshot, never a gap
        while any(proc.poll() is None for proc in procs):
            result = log.verify(full=True)
            assert result.ok, (result.first_bad, result.integrity)
            time.sleep(0.2)
    for proc in procs:
        proc.wait(timeout=600)
        assert proc.returncode == 0
    with TriageLog(log_url) as log:
        result = log.verify(full=True)
        assert result.ok, result.first_bad
        assert result.entries == 4000 and result.size == 4000
        for i in range(8):
            assert len(log.entries(Filters(patient=f"pt-{i}"), limit=None)) == 500
    seqs = [r["seq"] for r in rows(log_url, "SELECT seq FROM entries ORDER BY seq")]
    assert seqs == list(range(1, 4001))


# -- append-only -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE triage.entries SET outcome = 'continue' WHERE id = 1",
        "DELETE FROM triage.entries WHERE id = 1",
        "TRUNCATE triage.entries CASCADE",
        "UPDATE triage.reviews SET verdict = 'accepted'",
        "DELETE FROM triage.patients",
        "DELETE FROM triage.checkpoints",
        "UPDATE triage.chain_head SET one = false",
    ],
    ids=lambda sql: " ".join(sql.split()[:2]),
)
@pytest.mark.parametrize("user", [APP, OWNER])
def test_the_app_role_and_the_owner_cannot_change_the_log(
    log_url: str, postgres: Server, user: str, sql: str
) -> None:
    with TriageLog(log_url) as log:
        log.record(triage.evaluate(report()))
    name = log_url.split("/")[3].split("?")[0]
    with postgres.connect(name, user) as conn, pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    if user == APP:
        assert isinstance(info.value, psycopg.errors.InsufficientPrivilege)
    else:  # the owner may do anything the triggers allow, and they allow no change
        assert (
            "append-only" in str(info.value)
            or "permission" in str(info.value)
            or (isinstance(info.value, psycopg.errors.CheckViolation))
        )
    with TriageLog(log_url) as log:
        assert log.verify(full=True).ok


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE triage.worklist SET severity = 1",
        "DELETE FROM triage.worklist",
        "INSERT INTO triage.worklist SELECT id, 5, reported_at, patient_id, NULL "
        "FROM triage.entries",
        "UPDATE triage.worklist_tally SET checks = 0",
        "DELETE FROM triage.clinicians",
        "DELETE FROM triage.api_tokens",
        "DELETE FROM triage.cds_cards",
    ],
    ids=lambda sql: " ".join(sql.split()[:3]),
)
def test_the_app_role_only_reads_the_worklist_and_never_deletes_an_account(
    log_url: str, sql: str
) -> None:
    """The database keeps the worklist (triggers that run as the owner); the app role may add
    and change accounts and tokens (a new password, a revocation), never remove them."""
    with TriageLog(log_url) as log:
        log.record(triage.evaluate(report(unwell=True)))
        log.access.add_clinician("Dr Ada", "long enough pass")
        log.access.add_token("portal")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(log_url) as conn:
        conn.execute(sql)
    with TriageLog(log_url) as log:
        assert log.verify(full=True).ok and log.worklist().needs_action == 1


def test_accounts_and_tokens_are_changed_in_place_by_the_app_role(log_url: str) -> None:
    with TriageLog(log_url) as log:
        first = log.access.add_clinician("Dr Ada", "long enough pass")
        second = log.access.add_clinician("Dr Bo", "long enough pass")
        assert (first.id, second.id) == (1, 2)
        log.access.set_password("Dr Ada", "another long one")
        log.access.disable_clinician("Dr Bo")
        made, secret = log.access.add_token("portal")
        log.access.revoke_token(made.id)
        again = {**vars(first), "password_hash": "x"}
        del again["id"]
        with pytest.raises(StorageError, match=r"\(name\)=\(Dr Ada\) already exists") as info:
            log._store.add_row("clinicians", again)
        assert info.value.fix == "choose another name"
        assert log.access.sign_in("Dr Ada", "another long one") is not None
        assert log.access.sign_in("Dr Bo", "long enough pass") is None
        assert log.access.token_for(secret) is None
        assert log._store.find_rows("api_tokens", "id", 2**70) == []
        assert log._store.update_row("api_tokens", 2**70, {"revoked_at": "now"}) is False


def test_an_update_by_the_app_role_is_refused_with_a_clear_message(log_url: str) -> None:
    with TriageLog(log_url) as log:
        log.record(triage.evaluate(report()))
        store = log._store
        with (
            pytest.raises(StorageError, match="permission denied for table entries") as info,
            store._write() as conn,
        ):
            conn.execute("UPDATE triage.entries SET outcome = 'continue'")
    assert "triage_writer" in str(info.value.fix)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(log_url) as conn:
        conn.execute("INSERT INTO triage.migrations VALUES (99, 'x', 'y')")


def test_a_record_that_does_not_continue_the_chain_is_refused(
    log_url: str, postgres: Server
) -> None:
    with TriageLog(log_url) as log:
        log.record(triage.evaluate(report()))
        [row] = rows(log_url, "SELECT * FROM entries")
        row.update(id=2, seq=3)  # a gap
        store = log._store
        with pytest.raises(StorageError, match="record 3 does not continue the chain"):
            store.extend([("entry", row)])
        row.update(seq=2, prev_hash="0" * 64)  # a fork
        with pytest.raises(StorageError, match="record 2 does not continue the chain"):
            store.extend([("entry", row)])
        assert log.verify(full=True).ok


def test_an_edit_as_superuser_is_detected_by_verify(log_url: str, postgres: Server) -> None:
    with TriageLog(log_url) as log:
        log.record_many([triage.evaluate(report(unwell=True))] * 3)
    name = log_url.split("/")[3].split("?")[0]
    with postgres.connect(name) as conn:  # the superuser turns the triggers off to edit
        conn.execute("ALTER TABLE triage.entries DISABLE TRIGGER USER")
        conn.execute("UPDATE triage.entries SET outcome = 'continue' WHERE id = 2")
        conn.execute("ALTER TABLE triage.entries ENABLE TRIGGER USER")
    with TriageLog(log_url) as log:
        result = log.verify()
    assert not result.ok and result.first_bad.startswith("entry 2 (record 2) does not match")


def test_the_newest_entries_deleted_as_superuser_are_detected_via_the_checkpoint(
    log_url: str, postgres: Server, tmp_path: Path
) -> None:
    signed.new_key(tmp_path / "audit.key")
    public = signed.load_public_key(tmp_path / "audit.key.pub")
    with TriageLog(log_url) as log:
        log.record_many([triage.evaluate(report(unwell=True))] * 5)
        log.checkpoint(tmp_path / "audit.key", append_to=tmp_path / "kept.jsonl")
    name = log_url.split("/")[3].split("?")[0]
    with postgres.connect(name) as conn:  # deletes them, and the head row, the worklist and
        conn.execute("SET session_replication_role = replica")  # the checkpoints agree
        conn.execute("DELETE FROM triage.entries WHERE id > 3")
        conn.execute("UPDATE triage.chain_head SET seq = 3, hash = (SELECT hash FROM "
                     "triage.entries WHERE id = 3)")  # fmt: skip
        conn.execute("DELETE FROM triage.checkpoints")
        conn.execute("SET search_path = triage")
        for statement in REBUILD_WORKLIST:
            conn.execute(statement)
    with TriageLog(log_url) as log:
        assert log.verify(full=True).ok  # the chain alone cannot tell
        result = log.verify(
            public_key=public, checkpoints=signed.read_file(tmp_path / "kept.jsonl")
        )
    assert not result.ok
    [problem] = result.checkpoint_problems
    assert problem.startswith("the log has no record 5, which the checkpoint of ")
    assert "kept.jsonl:1 signed as its newest: records were removed" in problem


def test_removing_the_newest_records_without_the_head_row_is_an_integrity_failure(
    log_url: str,
) -> None:
    with TriageLog(log_url) as log:
        log.record_many([triage.evaluate(report())] * 3)
    tamper(log_url, "DELETE FROM entries WHERE id = 3", careful=False)
    with TriageLog(log_url) as log:
        result = log.verify()
    assert not result.ok
    assert "the chain head says record 3, but the newest record is record 2" in result.integrity


# -- the schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(TABLE_COLUMNS))
def test_the_tables_have_exactly_the_defined_columns(log_url: str, table: str) -> None:
    """The chained tables, and those beside the chain, as SQLite has them after all migrations."""
    found = rows(
        log_url,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'triage' AND table_name = ? ORDER BY ordinal_position",
        table,
    )
    types = {"bigint": "INTEGER", "integer": "INTEGER", "text": "TEXT"}
    in_schema = [(r["column_name"], types[r["data_type"]], r["is_nullable"] == "NO") for r in found]
    assert in_schema == [(c.name, c.type, not c.nullable) for c in TABLE_COLUMNS[table]]


def test_the_postgresql_log_has_every_table_and_index_of_the_sqlite_log(
    log_url: str, tmp_path: Path
) -> None:
    TriageLog(tmp_path / "log.db").close()
    lite = sqlite3.connect(tmp_path / "log.db")
    try:
        sqlite_tables = {
            r[0]
            for r in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'migrations'"
            )
        }
        sqlite_indexes = {
            r[0]
            for r in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    finally:
        lite.close()  # fmt: skip
    tables = {r["tablename"] for r in rows(log_url, "SELECT tablename FROM pg_tables WHERE "
                                                    "schemaname = 'triage'")}  # fmt: skip
    indexes = {r["indexname"] for r in rows(log_url, "SELECT indexname FROM pg_indexes WHERE "
                                                     "schemaname = 'triage'")}  # fmt: skip
    assert tables - sqlite_tables == {"migrations", "chain_head"}
    assert sqlite_tables <= tables
    assert sqlite_indexes <= indexes


def test_the_severity_the_database_keeps_is_the_librarys(log_url: str) -> None:
    for n, level in enumerate(LEVELS):
        [found] = rows(log_url, "SELECT severity(?, ?) AS s", level.outcome, level.urgency)
        assert found["s"] == n == severity(level.outcome, level.urgency)


def test_the_second_migration_fills_the_worklist_of_a_log_of_the_first(
    postgres: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL log of schema 1 (records only) gets the override reasons, the accounts, the
    tokens and the worklist of every unreviewed check that needs action, as SQLite's
    migration 4 gives them; its chain verifies unchanged."""
    source = tmp_path / "clinic.db"
    with TriageLog(source) as log:
        for n, unwell in enumerate([False, True, True, False, True]):
            log.record(triage.evaluate(report(patient_id=f"pt-{n % 2}", unwell=unwell)))
        log.review(2, by="Dr Ada", verdict="accepted")
        log.set_patient("pt-0", profile="athlete", by="Dr Ada")
        expected = rows(source, "SELECT * FROM worklist ORDER BY entry_id")
        records = list(log._store.chain())
    name = postgres.new_database(migrated=False)
    owner = postgres.url(name, OWNER)
    try:
        monkeypatch.setattr(pg_backend, "MIGRATIONS", MIGRATIONS[:1])
        TriageLog(owner).close()
        with postgres.connect(name, OWNER) as conn:  # the records, as schema 1 holds them
            for kind, row in records:
                columns = [c for c in row if c not in ("reason", "age", "channel")]  # added later
                conn.execute(
                    f"INSERT INTO triage.{TABLES[kind]} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})",
                    [row[c] for c in columns],
                )
        monkeypatch.undo()
        with TriageLog(owner) as log:
            assert not log.created
            result = log.verify(full=True)
            assert result.ok, (result.integrity, result.first_bad)
            assert (result.entries, result.reviews, result.patients) == (5, 1, 1)
            assert log.worklist().needs_action == len(expected) == 2
        found = rows(owner, "SELECT * FROM worklist ORDER BY entry_id")
        assert found == expected
        versions = rows(owner, "SELECT version FROM migrations ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        postgres.drop(name)


def test_patient_records_written_before_the_age_migrate_and_verify(
    postgres: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL log of schema 4 holding the records of tests/support/golden/log/schema-7.sql
    (patient records of form 3, without an age) gets the age column by migration 5: its chain
    verifies unchanged, the old records hold no age, and a record set now holds one."""
    source = load_log(SCHEMA_7_LOG, tmp_path / "schema-7.db")  # never opened by this triage
    with sqlite3.connect(source) as conn:
        conn.row_factory = sqlite3.Row
        records = sorted(
            ((table, dict(row)) for table in ("entries", "reviews", "patients")
             for row in conn.execute(f"SELECT * FROM {table}")),
            key=lambda record: record[1]["seq"],
        )  # fmt: skip
    assert "age" not in records[-1][1]
    name = postgres.new_database(migrated=False)
    owner = postgres.url(name, OWNER)
    try:
        monkeypatch.setattr(pg_backend, "MIGRATIONS", MIGRATIONS[:4])
        TriageLog(owner).close()
        with postgres.connect(name, OWNER) as conn:  # the records, as schema 4 holds them
            for table, row in records:
                conn.execute(
                    f"INSERT INTO triage.{table} ({', '.join(row)}) "
                    f"VALUES ({', '.join(['%s'] * len(row))})",
                    list(row.values()),
                )
        monkeypatch.undo()
        with TriageLog(owner) as log:
            assert not log.created
            before = log.verify(full=True)
            assert before.ok, (before.integrity, before.first_bad)
            assert (before.entries, before.reviews, before.patients) == (8, 3, 3)
            old = log.patient("pt-rec")
            assert old is not None and (old.age, old.conditions) == (None, ("blood_thinners",))
            new = log.set_patient("pt-rec", age=16, by="Dr Cy")
            assert (new.age, new.conditions) == (16, ("blood_thinners",))
        versions = rows(owner, "SELECT version FROM migrations ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, len(MIGRATIONS) + 1)) == [
            1, 2, 3, 4, 5, 6, 7
        ]  # fmt: skip
        app = postgres.url(name, APP)
        with TriageLog(app) as log:
            assert log.patient("pt-rec").age == 16  # type: ignore[union-attr]
            after = log.verify(full=True)
            assert after.ok and after.patients == 4, after.first_bad
        found = rows(owner, "SELECT id, form, age FROM patients ORDER BY id")
        assert [(r["id"], r["form"], r["age"]) for r in found] == [
            (1, 3, None), (2, 3, None), (3, 3, None), (4, CURRENT_FORM, 16)
        ]  # fmt: skip
        tamper(owner, "UPDATE patients SET age = 40 WHERE id = 1")
        with TriageLog(app) as log:
            edited = log.verify(full=True)
        assert str(edited.first_bad).startswith(
            "patient record 1 (record 10) was written before its age was recorded, yet holds 40"
        )
    finally:
        postgres.drop(name)


def test_the_app_role_cannot_start_a_log_and_the_owner_can(postgres: Server) -> None:
    name = postgres.new_database(migrated=False)
    try:
        with pytest.raises(StorageError, match="there is no triage log in the database"):
            TriageLog(postgres.url(name, APP), create=False)
        with pytest.raises(StorageError, match="only the database's owner may do") as info:
            TriageLog(postgres.url(name, APP))
        assert "triage log init" in str(info.value.fix)
        started = run("log", "init", "--db", postgres.url(name, OWNER))
        assert started.exit_code == 0 and started.stdout.startswith("Started a new triage log")
        again = run("log", "init", "--db", postgres.url(name, OWNER))
        assert again.stdout.startswith("Up to date:")
        versions = rows(postgres.url(name, APP), "SELECT version FROM migrations")
        assert [r["version"] for r in versions] == list(range(1, len(MIGRATIONS) + 1))
        with TriageLog(postgres.url(name, APP)) as log:
            log.record(triage.evaluate(report()))
            assert log.verify().ok
    finally:
        postgres.drop(name)


def test_a_log_from_a_newer_version_is_refused(log_url: str) -> None:
    tamper(log_url, "INSERT INTO migrations VALUES (99, 'later', 'now')")
    with pytest.raises(StorageError, match=r"newer version of triage \(schema 99"):
        TriageLog(log_url)


def test_another_programs_schema_is_not_taken_for_a_log(postgres: Server) -> None:
    name = postgres.new_database(migrated=False)
    try:
        with postgres.connect(name, OWNER) as conn:
            conn.execute("CREATE SCHEMA triage")
            conn.execute("CREATE TABLE triage.things (id int)")
        with pytest.raises(StorageError, match="schema 'triage' of another program"):
            TriageLog(postgres.url(name, OWNER))
    finally:
        postgres.drop(name)


# -- moving a log ----------------------------------------------------------------------------------


def test_an_sqlite_log_is_copied_with_the_same_head(
    tmp_path: Path, log_url: str, postgres: Server
) -> None:
    source = tmp_path / "clinic.db"
    signed.new_key(tmp_path / "k")
    with TriageLog(source) as log:
        log.record_many(
            [triage.evaluate(report(patient_id=f"pt-{n}", unwell=n % 3 == 0)) for n in range(30)]
        )
        log.review(3, by="Dr Ada", verdict="accepted")
        log.review(4, by="Dr Ada", verdict="overridden", reason="known_cause", note="Flu.")
        log.set_patient("pt-3", profile="athlete", by="Dr Ada")
        log.checkpoint(tmp_path / "k")
        log.record(triage.evaluate(report(unwell=True)))
        log.access.add_clinician("Dr Ada", "long enough pass", time_zone="Europe/Oslo")
        _, secret = log.access.add_token("portal")
        card = log.cds_cards.remember("9d3c0a52-5f0e-4c52-9a55-0e7f6f0ad1b8", 4, "Practitioner/7")
        log.cds_cards.answered(card, "overridden", 2)
        card = log.cds_cards.find(card.card)
        assert card is not None and card.review_id == 2
        before = log.verify(full=True)
        worklist = [item.entry.id for item in log.worklist(limit=100).items]
        source_counts = log.worklist().counts
    result = run("log", "copy", "--from", f"sqlite://{source}", "--to", log_url)
    assert result.exit_code == 0, result.output
    assert (
        "Copied 31 entries, 2 reviews and 1 patient record, with 1 clinician account and 1 API "
        "token from "
    ) in result.stdout
    assert before.head in result.stdout
    with TriageLog(log_url) as copy:
        after = copy.verify(public_key=signed.load_public_key(tmp_path / "k.pub"))
        assert after.ok and after.head == before.head and after.checked_after == 33
        assert copy.entry(3).reviews[0].reviewer == "Dr Ada"
        assert copy.entry(4).reviews[0].reason == "known_cause"  # canonical form 3, same hash
        assert copy.patient("pt-3").profile == "athlete"
        assert [item.entry.id for item in copy.worklist(limit=100).items] == worklist
        assert copy.worklist().counts == source_counts
        assert copy.access.sign_in("Dr Ada", "long enough pass") is not None
        assert copy.access.token_for(secret) is not None
        assert copy.cds_cards.find(card.card) == card
        copy.record(triage.evaluate(report()))  # and the chain goes on there
        assert copy.verify(full=True).ok
    again = run("log", "copy", "--from", str(source), "--to", log_url)
    assert again.exit_code == 1 and "is not empty" in again.stderr


def test_a_log_that_does_not_verify_is_not_copied(tmp_path: Path, log_url: str) -> None:
    source = tmp_path / "clinic.db"
    with TriageLog(source) as log:
        log.record_many([triage.evaluate(report())] * 3)
    tamper(source, "UPDATE entries SET outcome = 'x' WHERE id = 2")
    result = run("log", "copy", "--from", str(source), "--to", log_url)
    assert result.exit_code == 1 and "does not verify, so it is not copied" in result.stderr
    assert count(log_url) == 0


# -- serving ---------------------------------------------------------------------------------------


def test_serve_on_a_postgresql_log_never_shows_its_password(log_url: str) -> None:
    from tests.support.web_support import start, stop

    with_password = log_url.replace(f"//{APP}@", f"//{APP}:s3cret-pw@")
    process, url, output = start(with_password)
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/login").status_code == 200
    text = stop(process, output)
    assert "s3cret-pw" not in text
    assert f"(log: postgresql://{APP}@/" in text
