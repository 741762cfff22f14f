"""What may happen only once is kept in the log's database, so that every server of the log and
every restart knows it: a CDS Hooks JWT id used, and a check recorded under an idempotency key
(the same key within 24 hours gives the first check again, never a second entry; other answers
under the key are refused). Only hashes are stored, and expired rows are deleted.
(tests/system/test_web_once.py does the same through real servers.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import triage
from tests.support.backends import Target
from tests.support.helpers import report
from triage.checking.check import CheckResult, StoppedCheck
from triage.errors import IdempotencyKeyError, UsageError
from triage.log import TriageLog
from triage.log.once import KEY_HEADER, key_for

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
RED_FLAG_ONLY = {"patient_id": "pt-half", "chest_pain": "ongoing", "chest_pain_kind": "pressure",
                 "hours_since_session": 1}  # fmt: skip
"""Half-filled answers that already need an emergency: a check stopped early."""


@pytest.fixture
def log(private_log: Target) -> Iterator[TriageLog]:
    with TriageLog(private_log) as opened:
        yield opened


# -- CDS Hooks JWT ids ----------------------------------------------------------------------------


def test_a_jwt_id_is_used_once_on_every_connection_to_the_log(
    log: TriageLog, private_log: Target
) -> None:
    until = (T0 + timedelta(minutes=5)).timestamp()
    assert log.used_tokens.first_use("jti-1", until, now=T0) is True
    assert log.used_tokens.first_use("jti-1", until, now=T0) is False
    with TriageLog(private_log) as other:  # another server, or this one after a restart
        assert other.used_tokens.first_use("jti-1", until, now=T0) is False
        assert other.used_tokens.first_use("jti-2", until, now=T0) is True


def test_used_jwt_ids_are_kept_as_hashes_until_they_expire(log: TriageLog) -> None:
    log.used_tokens.first_use("secret-jti", (T0 + timedelta(minutes=5)).timestamp(), now=T0)
    rows = log._store.all_rows("used_jtis")
    assert len(rows) == 1 and "secret-jti" not in str(rows)
    later = T0 + timedelta(minutes=6)
    assert log.used_tokens.first_use("jti-3", (later + timedelta(minutes=5)).timestamp(), now=later)
    assert [row["expires_at"] for row in log._store.all_rows("used_jtis")] == [
        "2026-11-21T08:11:00.000000Z"
    ]


# -- idempotency keys -----------------------------------------------------------------------------


def test_the_same_key_gives_the_first_check_again_and_no_second_entry(log: TriageLog) -> None:
    answers = report(patient_id="pt-retry", pain_during=7, pain_now=3, pain_region="thigh",
                     pain_site="muscle")  # fmt: skip
    first = triage.check(answers, log=log, idempotency_key="b1f0c2e4-retry")
    again = triage.check(dict(reversed(answers.items())), log=log, idempotency_key="b1f0c2e4-retry")
    assert isinstance(first, CheckResult) and isinstance(again, CheckResult)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.entry is not None and first.entry is not None
    assert again.entry.id == first.entry.id and again.to_dict() == first.to_dict()
    assert again.decision == first.decision.model_copy(update={"why_not": None})
    assert log.count() == 1
    other = triage.check(answers, log=log, idempotency_key="another-key")
    assert other.entry is not None and other.entry.id != first.entry.id and log.count() == 2


def test_a_check_stopped_early_is_given_again_too(log: TriageLog) -> None:
    first = triage.check(RED_FLAG_ONLY, log=log, idempotency_key="half-filled")
    again = triage.check(RED_FLAG_ONLY, log=log, idempotency_key="half-filled")
    assert isinstance(first, StoppedCheck) and isinstance(again, StoppedCheck)
    assert again.replayed and again.to_dict() == first.to_dict()
    assert again.warning.problems == first.warning.problems and log.count() == 1


def test_other_answers_under_a_used_key_are_refused_and_recorded_nowhere(log: TriageLog) -> None:
    triage.check(report(patient_id="pt-a"), log=log, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyError) as refused:
        triage.check(report(patient_id="pt-b"), log=log, idempotency_key="k-1")
    (problem,) = refused.value.problems
    assert problem.field == KEY_HEADER and "other answers" in problem.message
    assert problem.fix is not None and "new key" in problem.fix
    assert refused.value.to_dict()["error"] == "idempotency_key"
    assert [entry.patient_id for entry in log.entries()] == ["pt-a"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve", "tab\there"])
def test_a_key_that_is_not_visible_ascii_is_refused(log: TriageLog, key: str) -> None:
    with pytest.raises(UsageError, match=r"Idempotency-Key.*1 to 255 visible ASCII"):
        triage.check(report(), log=log, idempotency_key=key)
    assert log.count() == 0


def test_a_key_needs_the_check_recorded(log: TriageLog) -> None:
    with pytest.raises(UsageError, match="not recorded"):
        triage.check(report(), log=log, record=False, idempotency_key="k")


def test_a_key_expires_after_24_hours(log: TriageLog) -> None:
    answers = report(patient_id="pt-late")
    decision = triage.evaluate(answers)
    first = log.record_once(decision, key_for("k-day", answers, now=T0))
    assert first is not None
    assert (
        log.record_once(decision, key_for("k-day", answers, now=T0 + timedelta(hours=23))) is None
    )
    assert log.count() == 1
    later = key_for("k-day", answers, now=T0 + timedelta(hours=24, minutes=1))
    assert log.keyed_entry(later) is None
    second = log.record_once(decision, later)
    assert second is not None and second.id != first.id
    (row,) = log._store.all_rows("idempotency_keys")  # the expired one was deleted
    assert row["entry_id"] == second.id and "k-day" not in str(row)


def test_simultaneous_checks_with_one_key_make_one_entry(private_log: Target) -> None:
    """Eight clients, each on its own connection, send the same check under one key at the
    same moment: one entry; every one of them gets it."""
    answers = report(patient_id="pt-race", swelling="marked")
    start = threading.Barrier(8)
    results: list[Any] = []

    def client() -> None:
        with TriageLog(private_log) as own:
            start.wait(timeout=60)
            results.append(triage.check(answers, log=own, idempotency_key="same-moment"))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 8
    assert len({result.entry.id for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert len({str(result.to_dict()) for result in results}) == 1
    with TriageLog(private_log) as log:
        assert log.count() == 1 and log.verify(full=True).ok
