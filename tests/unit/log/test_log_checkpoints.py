"""Signed checkpoints, on both backends: 23 ways to tamper with a log, which the hash chain alone
catches (15) and which only a checkpoint catches (8: the newest records removed, a rewrite with
recomputed hashes, a forged back-dated append); incremental verify; the commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import triage
from tests.support.backends import Target, is_postgres, rows, tamper
from tests.support.cli_runs import run
from tests.support.helpers import report
from triage.log import TriageLog
from triage.log import checkpoints as signed
from triage.log.chain import GENESIS, record_hash
from triage.log.chain import verify as chain_verify
from triage.log.records import TABLES, stamp

TABLE_NAMES = tuple(TABLES.values())
BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

DECISIONS = [triage.evaluate(report(patient_id=f"pt-{n}", unwell=n % 2 == 1)) for n in range(8)]


@pytest.fixture
def key(tmp_path: Path) -> Path:
    signed.new_key(tmp_path / "audit.key")
    return tmp_path / "audit.key"


def fill(log: TriageLog) -> None:
    """12 records: entries 1-8, patient records 1-2 and reviews 1-2 between them."""
    log.record_many(DECISIONS[:2])
    log.set_patient("pt-1", profile="athlete", by="Dr Ada")  # record 3
    log.record(DECISIONS[2])
    log.review(2, by="Dr Ada", verdict="accepted")  # record 5
    log.record_many(DECISIONS[3:5])
    log.set_patient("pt-1", conditions=["heart_disease"], by="Dr Bo")  # record 8
    log.record(DECISIONS[5])
    log.review(6, by="Dr Bo", verdict="overridden", reason="other", note="Seen.")  # record 10
    log.record_many(DECISIONS[6:8])


# -- what someone with full access to the database might do ---------------------------------------


def everything(target: Target) -> list[tuple[str, dict[str, Any]]]:
    found = [
        (kind, row)
        for kind, table in TABLES.items()
        for row in rows(target, f"SELECT * FROM {table}")
    ]
    return sorted(found, key=lambda item: item[1]["seq"])


def rechain(target: Target, start: int = 1) -> None:
    """Recompute every hash from record ``start`` on, as a careful forger would."""
    prev = GENESIS
    for kind, row in everything(target):
        if row["seq"] >= start:
            row["prev_hash"] = prev
            row["hash"] = record_hash(kind, row)  # type: ignore[arg-type]
            tamper(
                target,
                f"UPDATE {TABLES[kind]} SET prev_hash = ?, hash = ? WHERE id = ?",  # type: ignore[index]
                row["prev_hash"],
                row["hash"],
                row["id"],
            )
        prev = row["hash"]


def renumber_after(target: Target, seq: int) -> None:
    for table in TABLES.values():
        tamper(target, f"UPDATE {table} SET seq = -seq WHERE seq > ?", seq)
        tamper(target, f"UPDATE {table} SET seq = -seq - 1 WHERE seq < 0")


def append_forged(target: Target, written: str) -> None:
    """A new entry at the end of the chain, its hash valid, saying it was written at ``written``."""
    _, last = everything(target)[-1]
    [row] = rows(target, "SELECT * FROM entries WHERE id = 1")
    row.update(
        id=rows(target, "SELECT max(id) AS m FROM entries")[0]["m"] + 1,
        seq=last["seq"] + 1,
        prev_hash=last["hash"],
        recorded_at=written,
        outcome="continue",
        urgency=None,
    )
    row["hash"] = record_hash("entry", row)
    columns = list(row)
    tamper(
        target,
        f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        *row.values(),
    )


def _sql(*statements: str) -> Callable[[Target], None]:
    def attack(target: Target) -> None:
        for statement in statements:
            tamper(target, statement)

    return attack


def _swap(target: Target) -> None:
    tamper(target, "UPDATE entries SET seq = 0 WHERE seq = 6")
    tamper(target, "UPDATE entries SET seq = 6 WHERE seq = 7")
    tamper(target, "UPDATE entries SET seq = 7 WHERE seq = 0")


def _own_hash(target: Target) -> None:
    [row] = rows(target, "SELECT * FROM entries WHERE id = 4")
    row["outcome"] = "continue"
    tamper(
        target, "UPDATE entries SET outcome = ?, hash = ? WHERE id = 4", "continue",
        record_hash("entry", row),
    )  # fmt: skip


def _replay(target: Target) -> None:
    [row] = rows(target, "SELECT * FROM entries WHERE id = 1")
    row.update(id=100, seq=13)
    columns = list(row)
    tamper(
        target,
        f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        *row.values(),
    )


def _rewrite_outcome(target: Target) -> None:
    tamper(target, "UPDATE entries SET outcome = 'continue', urgency = NULL WHERE id = 4")
    rechain(target, 6)


def _delete_renumber(target: Target) -> None:
    tamper(target, "DELETE FROM entries WHERE id = 4")
    renumber_after(target, 6)
    rechain(target, 6)


def _truncate_all(target: Target) -> None:
    for table in ("reviews", "patients", "entries"):
        tamper(target, f"DELETE FROM {table}")


def _backdated(target: Target) -> None:
    append_forged(target, stamp(datetime.now(timezone.utc) - timedelta(days=1)))


def _newest_review(log: TriageLog) -> None:
    log.review(8, by="Dr Ada", verdict="accepted")


def _newest_patient(log: TriageLog) -> None:
    log.set_patient("pt-7", profile="athlete", by="Dr Ada")


def _nothing(log: TriageLog) -> None:
    return None


# (id, appended before the checkpoint, the attack, caught by the hash chain alone)
ATTEMPTS: list[tuple[str, Callable[[TriageLog], None], Callable[[Target], None], bool]] = [
    ("edit-outcome", _nothing, _sql("UPDATE entries SET outcome = 'continue' WHERE id = 4"), True),
    ("edit-report", _nothing, _sql("UPDATE entries SET report_json = '{}' WHERE id = 2"), True),
    ("edit-hash", _nothing, _sql(f"UPDATE entries SET hash = '{'1' * 64}' WHERE id = 4"), True),
    ("edit-prev-hash", _nothing, _sql(f"UPDATE entries SET prev_hash = '{GENESIS}' WHERE id = 5"),
     True),
    ("edit-verdict", _nothing, _sql("UPDATE reviews SET verdict = 'overridden' WHERE id = 1"),
     True),
    ("move-review", _nothing, _sql("UPDATE reviews SET entry_id = 1 WHERE id = 1"), True),
    ("edit-patient", _nothing, _sql("UPDATE patients SET conditions_json = '[]' WHERE id = 2"),
     True),
    ("delete-middle-entry", _nothing, _sql("DELETE FROM entries WHERE id = 4"), True),
    ("delete-middle-review", _nothing, _sql("DELETE FROM reviews WHERE id = 1"), True),
    ("delete-first-entry", _nothing, _sql("DELETE FROM entries WHERE id = 1"), True),
    ("delete-patient-record", _nothing, _sql("DELETE FROM patients WHERE id = 1"), True),
    ("swap-two-entries", _nothing, _swap, True),
    ("older-form", _nothing, _sql("UPDATE entries SET form = 1 WHERE id = 2"), True),
    ("rewrite-one-with-its-hash", _nothing, _own_hash, True),
    ("replay-an-old-entry", _nothing, _replay, True),
    ("delete-newest-entry", _nothing, _sql("DELETE FROM entries WHERE id = 8"), False),
    ("delete-newest-review", _newest_review, _sql("DELETE FROM reviews WHERE id = 3"), False),
    ("delete-newest-patient-record", _newest_patient, _sql("DELETE FROM patients WHERE id = 3"),
     False),
    ("rewrite-outcome-and-rehash", _nothing, _rewrite_outcome, False),
    ("delete-renumber-rehash", _nothing, _delete_renumber, False),
    ("truncate-newest", _nothing, _sql(*(f"DELETE FROM {t} WHERE seq > 6" for t in TABLE_NAMES)),
     False),
    ("truncate-all", _nothing, _truncate_all, False),
    ("forged-backdated-append", _nothing, _backdated, False),
]  # fmt: skip


@pytest.fixture
def kept(private_log: Target, key: Path, tmp_path: Path) -> tuple[Target, Path, str]:
    """The filled log, the auditor's checkpoint file, and the auditor's public key."""
    with TriageLog(private_log) as log:
        fill(log)
    return private_log, tmp_path / "checkpoints.jsonl", signed.load_public_key(Path(f"{key}.pub"))


def test_there_are_23_attempts_8_of_which_only_a_checkpoint_catches() -> None:
    assert len(ATTEMPTS) == 23
    assert sum(not chained for *_, chained in ATTEMPTS) == 8


@pytest.mark.parametrize(
    ("setup", "attack", "chained"), [a[1:] for a in ATTEMPTS], ids=[a[0] for a in ATTEMPTS]
)
def test_every_tampering_attempt_fails_verify_once_the_log_is_checkpointed(
    kept: tuple[Target, Path, str],
    key: Path,
    setup: Callable[[TriageLog], None],
    attack: Callable[[Target], None],
    chained: bool,
) -> None:
    target, kept_file, public = kept
    with TriageLog(target) as log:
        setup(log)
        log.checkpoint(key, append_to=kept_file)
        assert log.verify(public_key=public).ok
    attack(target)
    with TriageLog(target, create=False) as log:
        store = log._store
        alone = chain_verify(store.chain(), store.integrity())  # the chain, as before checkpoints
        assert alone.ok is not chained
        auditor = signed.read_file(kept_file)
        result = log.verify(full=True, public_key=public, checkpoints=auditor)
        assert not result.ok, result
        assert not log.verify(full=True).ok  # the checkpoint in the log is enough
    if chained:  # an edit the checkpoint's record does not show: only --full walks that far
        return
    with TriageLog(target, create=False) as log:
        assert not log.verify().ok  # incremental: the checkpoint no longer agrees
    tamper(target, "DELETE FROM checkpoints")  # and the forger removes the log's checkpoints
    with TriageLog(target, create=False) as log:
        assert log.verify().ok  # as any unkeyed chain: undetectable from the database alone
        result = log.verify(public_key=public, checkpoints=signed.read_file(kept_file))
        assert not result.ok and result.checkpoint_problems


def test_a_rewrite_re_signed_with_another_key_is_a_forgery(
    kept: tuple[Target, Path, str], tmp_path: Path, key: Path
) -> None:
    target, _, public = kept
    with TriageLog(target) as log:
        log.checkpoint(key)
    _rewrite_outcome(target)
    tamper(target, "DELETE FROM checkpoints")
    signed.new_key(tmp_path / "forger.key")
    with TriageLog(target) as log:
        log.checkpoint(tmp_path / "forger.key")
        assert log.verify().ok  # its own key vouches for it...
        result = log.verify(public_key=public)  # ...not the auditor's
    assert not result.ok
    [problem] = result.checkpoint_problems
    assert "not by the public key given" in problem and "forged" in problem


def test_the_removal_of_the_newest_records_is_named(
    kept: tuple[Target, Path, str], key: Path
) -> None:
    target, _, public = kept
    with TriageLog(target) as log:
        log.checkpoint(key)
    tamper(target, "DELETE FROM entries WHERE id > 6")
    with TriageLog(target) as log:
        result = log.verify(public_key=public)
    [problem] = result.checkpoint_problems
    assert problem.startswith("the log has no record 12, which the checkpoint of 20")
    assert problem.endswith(" (record 12) in the log signed as its newest: records were removed")


def test_an_edited_checkpoint_is_refused(kept: tuple[Target, Path, str], key: Path) -> None:
    target, _, _ = kept
    with TriageLog(target) as log:
        log.checkpoint(key)
    tamper(target, "UPDATE checkpoints SET signed_at = '2099-01-01T00:00:00.000000Z'")
    with TriageLog(target) as log:
        [problem] = log.verify().checkpoint_problems
    assert "does not match its signature: it was edited or forged" in problem


def test_a_broken_log_is_never_signed(kept: tuple[Target, Path, str], key: Path) -> None:
    target, _, _ = kept
    tamper(target, "UPDATE entries SET outcome = 'continue' WHERE id = 4")
    with TriageLog(target) as log, pytest.raises(triage.StorageError, match="is not signed"):
        log.checkpoint(key)


# -- incremental verify ----------------------------------------------------------------------------


def test_verify_walks_only_what_came_after_the_latest_checkpoint(
    kept: tuple[Target, Path, str], key: Path
) -> None:
    target, _, _ = kept
    with TriageLog(target) as log:
        log.checkpoint(key)
        log.record_many(DECISIONS[:3])
        log.review(9, by="Dr Ada", verdict="accepted")
        result = log.verify()
        assert result.ok and result.checked_after == 12 and result.size == 16
        assert (result.entries, result.reviews, result.patients) == (3, 1, 0)
        full = log.verify(full=True)
        assert full.ok and full.checked_after == 0 and full.head == result.head
        assert (full.entries, full.reviews, full.patients) == (11, 3, 2)
        log.checkpoint(key)
        again = log.verify()
        assert again.ok and again.checked_after == 16 and again.entries == 0
        assert again.checkpoints == 2


def test_an_edit_before_the_checkpoint_is_found_by_full_verify(
    kept: tuple[Target, Path, str], key: Path
) -> None:
    """Incremental verify trusts what a checkpoint vouches for, unless its record changed."""
    target, _, _ = kept
    with TriageLog(target) as log:
        log.checkpoint(key)
    tamper(target, "UPDATE entries SET outcome = 'continue' WHERE id = 4")
    with TriageLog(target) as log:
        assert log.verify().ok
        assert log.verify(full=True).first_bad.startswith("entry 4 (record 6)")


# -- the commands ----------------------------------------------------------------------------------


def test_keygen_checkpoint_and_verify_from_the_command_line(
    kept: tuple[Target, Path, str], tmp_path: Path
) -> None:
    target, kept_file, _ = kept
    key = tmp_path / "clinic.key"
    made = run("log", "keygen", "--key", str(key))
    assert made.exit_code == 0 and "clinic.key.pub" in made.stdout
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert run("log", "keygen", "--key", str(key)).exit_code == 1  # never replaced
    signed_out = run("log", "checkpoint", "--key", str(key), "--checkpoints", str(kept_file))
    assert signed_out.exit_code == 0, signed_out.output
    assert signed_out.stdout.startswith("Checkpoint signed: record 12, head ")
    line = json.loads(kept_file.read_text())
    assert (line["format"], line["size"]) == (1, 12)
    audit = ["--public-key", f"{key}.pub", "--checkpoints", str(kept_file)]
    ok = run("log", "verify", *audit)
    assert ok.exit_code == 0, ok.output
    assert "after record 12, which a signed checkpoint vouches for" in ok.stdout
    assert "checked against your public key" in ok.stdout
    full = run("log", "verify", "--full", *audit)
    assert full.exit_code == 0 and "8 entries, 2 reviews and 2 patient records;" in full.stdout
    tamper(target, "DELETE FROM checkpoints")
    gone = run("log", "verify", *audit).stdout
    assert "Checkpoint: the checkpoint of" in gone and "is not in the log any more" in gone
    tamper(target, "DELETE FROM entries WHERE id = 8")
    bad = run("log", "verify", *audit)
    assert bad.exit_code == 1
    assert "Checkpoint: the log has no record 12" in bad.stdout and "jsonl:1 signed" in bad.stdout
    as_json = json.loads(run("log", "verify", "--json", *audit).stdout)
    assert as_json["ok"] is False and len(as_json["checkpoint_problems"]) == 1


def test_verify_says_how_to_start_checkpoints(kept: tuple[Target, Path, str]) -> None:
    result = run("log", "verify")
    assert result.exit_code == 0 and "No signed checkpoint yet" in result.stdout


def test_a_missing_key_is_a_clear_error(kept: tuple[Target, Path, str], tmp_path: Path) -> None:
    result = run("log", "checkpoint", "--key", str(tmp_path / "none.key"))
    assert result.exit_code == 1 and "there is no signing key at" in result.stderr
    assert "triage log keygen" in result.stderr


def test_the_backend_is_named(kept: tuple[Target, Path, str]) -> None:
    target, _, _ = kept
    expected = "PostgreSQL" if is_postgres(target) else "SQLite"
    assert f"{expected} integrity: ok" in run("log", "verify", "--full").stdout
