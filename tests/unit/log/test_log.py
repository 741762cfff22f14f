"""The triage log: what is recorded, queries, reviews, permissions, migrations, tamper evidence."""

from __future__ import annotations

import re
import sqlite3
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import triage
from tests.support.backends import rows, tamper
from tests.support.helpers import load_case, report, vignette_files
from triage.errors import ReviewError
from triage.log import Filters, TriageLog
from triage.log.location import default_log_path
from triage.log.records import names
from triage.log.sqlite import MIGRATIONS, storage_error

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

DECISIONS = [triage.evaluate(load_case(p)["report"]) for p in vignette_files()]


@pytest.fixture
def log(private_log: Path | str) -> TriageLog:
    with TriageLog(private_log) as opened:
        opened.record_many(DECISIONS)
        yield opened


def test_every_check_is_recorded_in_full(log: TriageLog) -> None:
    entry = log.entry(10)
    decision = DECISIONS[9]
    assert entry.decision == decision.to_dict()
    assert entry.report == decision.report.answers()
    assert (entry.patient_id, entry.outcome, entry.urgency) == (
        "pt-p10-chest-pain-ongoing",
        "seek_medical_review",
        "emergency",
    )
    assert entry.pack == decision.rule_pack.model_dump()
    assert entry.engine == {"name": "durable-rules", "version": "2.0.28"}
    assert entry.program_version == triage.__version__
    assert entry.session_id.startswith("s-") and entry.recorded_at.endswith("Z")
    assert entry.top_reason == decision.reasons[0].title


def test_a_given_session_id_is_kept(private_log: Path | str) -> None:
    with TriageLog(private_log) as log:
        stored = log.record(triage.evaluate(report(session_id="sess-42")))
    assert stored.session_id == "sess-42"


def test_list_is_newest_first_with_filters(log: TriageLog) -> None:
    newest = len(DECISIONS)
    assert [e.id for e in log.entries(limit=3)] == [newest, newest - 1, newest - 2]
    assert [e.id for e in log.entries(Filters(patient="pt-p06-snap-deadlift"))] == [6]
    emergencies = log.entries(
        Filters(outcome="seek_medical_review", urgency="emergency"), limit=None
    )
    assert emergencies and all(e.urgency == "emergency" for e in emergencies)
    assert len(log.entries(limit=None)) == len(DECISIONS)


def test_dates_filter_whole_utc_days(log: TriageLog) -> None:
    today = datetime.now(timezone.utc).date()
    assert len(log.entries(Filters(since=today, until=today), limit=None)) == len(DECISIONS)
    assert log.entries(Filters(since=today + timedelta(days=1)), limit=None) == []
    assert log.entries(Filters(until=today - timedelta(days=1)), limit=None) == []
    assert (
        log.entries(Filters(until=datetime.now(timezone.utc) - timedelta(hours=1)), limit=None)
        == []
    )


def test_reviews_are_appended_and_unreviewed_filter(log: TriageLog) -> None:
    log.review(10, by="Dr Ada", verdict="accepted")
    log.review(10, by="Dr Bo", verdict="overridden", reason="other", note="Seen; cleared.")
    entry = log.entry(10)
    assert [(r.reviewer, r.verdict) for r in entry.reviews] == [
        ("Dr Ada", "accepted"),
        ("Dr Bo", "overridden"),
    ]
    assert entry.last_verdict == "overridden"
    unreviewed = log.entries(Filters(unreviewed=True, outcome="seek_medical_review"), limit=None)
    assert 10 not in [e.id for e in unreviewed] and unreviewed


def test_review_of_a_missing_entry_is_refused(log: TriageLog) -> None:
    with pytest.raises(triage.StorageError, match="there is no entry 999"):
        log.review(999, by="Dr Ada", verdict="accepted")
    with pytest.raises(ReviewError, match="field 'reviewer': a review needs the reviewer's name"):
        log.review(1, by="  ", verdict="accepted")


def test_trend_is_oldest_first(private_log: Path | str) -> None:
    with TriageLog(private_log) as log:
        for pain in (2, 5, 7):
            log.record(
                triage.evaluate(
                    report(
                        patient_id="pt-t",
                        pain_during=pain,
                        pain_now=pain - 1,
                        pain_site="muscle",
                        pain_region="thigh",
                    )
                )
            )
        points = log.trend("pt-t")
    assert [(p.pain_during, p.pain_now) for p in points] == [(2, 1), (5, 4), (7, 6)]
    assert points[-1].outcome == "reduce_load"


@pytest.mark.sqlite_only
def test_created_owner_only_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = default_log_path()
    assert path == tmp_path / "data" / "triage" / "triage.db"
    TriageLog().close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.sqlite_only
def test_triage_db_overrides_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DB", str(tmp_path / "elsewhere.db"))
    assert default_log_path() == tmp_path / "elsewhere.db"


@pytest.mark.sqlite_only
def test_wal_mode_busy_timeout_and_migrations_recorded(log: TriageLog) -> None:
    conn = sqlite3.connect(log.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert [r[0] for r in conn.execute("SELECT version FROM migrations")] == list(
        range(1, len(MIGRATIONS) + 1)
    )
    assert log._store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


@pytest.mark.sqlite_only
def test_a_log_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    TriageLog(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(triage.StorageError, match=re.escape("newer version of triage (schema 99")):
        TriageLog(path)


@pytest.mark.sqlite_only
def test_reading_a_missing_log_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(triage.StorageError, match="there is no triage log"):
        TriageLog(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


@pytest.mark.sqlite_only
def test_a_corrupt_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(triage.StorageError, match="damaged or is not a triage log") as info:
        TriageLog(path)
    assert "restore it from a backup" in info.value.fix


@pytest.mark.sqlite_only
def test_an_unwritable_file_gives_a_clear_error(tmp_path: Path) -> None:
    """SQLite refusing to write (a read-only file, or as here, a read-only connection, which
    also holds when the tests run as root) is worded as such."""
    with TriageLog(tmp_path / "log.db") as log:
        log._store.conn.execute("PRAGMA query_only = 1")
        with pytest.raises(triage.StorageError, match="cannot write the triage log") as info:
            log.record(DECISIONS[0])
    assert "check the file's permissions" in str(info.value.fix)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("action", ["open", "read", "write", "start"])
def test_a_permission_problem_names_what_the_command_was_doing(tmp_path: Path, action: str) -> None:
    """A reading command is never told it 'cannot write'."""
    error = storage_error(tmp_path / "log.db", PermissionError(13, "Permission denied"), action)
    assert str(error).startswith(f"cannot {action} the triage log {tmp_path / 'log.db'}:")


@pytest.mark.sqlite_only
def test_a_file_in_place_of_the_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(triage.StorageError, match=r"the folder .*/file is not a folder"):
        TriageLog(blocker / "log.db")


# -- tamper evidence ---------------------------------------------------------------------------


def test_a_fresh_log_verifies(log: TriageLog) -> None:
    log.review(3, by="Dr Ada", verdict="accepted")
    result = log.verify()
    assert result.ok and (result.entries, result.reviews) == (len(DECISIONS), 1)


EDITABLE_ENTRY = [f for f in names("entry") if f not in ("id", "seq")]


@pytest.mark.parametrize("column", EDITABLE_ENTRY)
def test_editing_any_entry_field_fails_verify_and_names_the_entry(
    log: TriageLog, private_log: Path | str, column: str
) -> None:
    value = {"urgency": "same_day", "form": 9}.get(column, "x")  # entry 7 is routine
    tamper(private_log, f"UPDATE entries SET {column} = ? WHERE id = 7", value)
    result = log.verify()
    assert not result.ok
    assert result.first_bad.startswith("entry 7 ")


@pytest.mark.parametrize(
    "column", [f for f in names("review") if f not in ("id", "seq", "entry_id")]
)
def test_editing_any_review_field_fails_verify(
    log: TriageLog, private_log: Path | str, column: str
) -> None:
    log.review(3, by="Dr Ada", verdict="accepted", note="fine")
    log.record(DECISIONS[0])
    value = {"verdict": "overridden", "form": 9}.get(column, "x")
    tamper(private_log, f"UPDATE reviews SET {column} = ? WHERE id = 1", value)
    assert log.verify().first_bad.startswith("review 1 ")


def test_moving_a_review_to_another_entry_fails_verify(
    log: TriageLog, private_log: Path | str
) -> None:
    log.review(3, by="Dr Ada", verdict="accepted")
    tamper(private_log, "UPDATE reviews SET entry_id = 4 WHERE id = 1")
    assert log.verify().first_bad.startswith("review 1 ")


def test_deleting_an_entry_fails_verify(log: TriageLog, private_log: Path | str) -> None:
    tamper(private_log, "DELETE FROM entries WHERE id = 20")
    assert "record 20 is missing" in log.verify().first_bad


def test_rewriting_one_entry_with_its_own_hash_is_caught_by_the_next(
    log: TriageLog, private_log: Path | str
) -> None:
    from triage.log.chain import record_hash

    [row] = rows(private_log, "SELECT * FROM entries WHERE id = 10")  # an emergency
    row["outcome"], row["urgency"] = "continue", None
    tamper(
        private_log,
        "UPDATE entries SET outcome = 'continue', urgency = NULL, hash = ? WHERE id = 10",
        record_hash("entry", row),
    )
    assert log.verify().first_bad.startswith("entry 11 ")


def export_peak(log: TriageLog, limit: int) -> tuple[int, int]:
    import tracemalloc

    tracemalloc.start()
    count = sum(1 for _ in log.export(limit=limit))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


@pytest.mark.slow  # writes thousands of entries
def test_export_streams_in_constant_memory(private_log: Path | str) -> None:
    with TriageLog(private_log) as log:
        for _ in range(60):
            log.record_many(DECISIONS)
        small = export_peak(log, 20 * len(DECISIONS))
        large = export_peak(log, 60 * len(DECISIONS))
    assert (small[0], large[0]) == (20 * len(DECISIONS), 60 * len(DECISIONS))
    assert large[1] < 1.5 * small[1], f"3x the entries took {large[1]} bytes, against {small[1]}"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("create", [True, False], ids=["writing", "reading"])
def test_a_folder_in_place_of_the_log_gives_a_clear_error(tmp_path: Path, create: bool) -> None:
    (tmp_path / "log.db").mkdir()
    with pytest.raises(
        triage.StorageError, match=re.escape("log.db is a folder, not a triage log file")
    ) as info:
        TriageLog(tmp_path / "log.db", create=create)
    assert f"for example {tmp_path / 'log.db' / 'triage.db'}" in str(info.value.fix)
