"""One writer per log and process, and group commit (issue 26): the appends of many threads queue
on one lock, never in SQLite's busy handler, and those that arrive together are stored in one
transaction (one COMMIT), each caller told only its own rows, once they are durable; a failing
append takes nothing of the others with it, an idempotency key is still used once, and the chain
stays one gap-free sequence that verifies.

Group commit is made certain, not left to timing: the test holds the writer's lock (as a write
in progress would), lets the threads queue behind it, and only then lets them go: the first
one queued leads, and takes every one waiting into its transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import triage
from tests.support.backends import Target
from tests.support.helpers import report
from triage.errors import StorageError
from triage.evaluation.decision import Decision
from triage.log import TriageLog
from triage.log.once import key_for
from triage.log.sqlite import SQLiteStore
from triage.log.store import Head
from triage.log.writer import Pending, Writer

BACKENDS = True  # the first test runs on both backends; the others are about SQLite's writer

WAIT_S = 60.0
"""How long a test waits for threads to queue before it fails (never a measure of speed)."""


@pytest.fixture(scope="module")
def decision() -> Decision:
    return triage.evaluate(report(patient_id="pt-0"))


def for_patient(decision: Decision, patient: str) -> Decision:
    return decision.model_copy(
        update={"report": decision.report.model_copy(update={"patient_id": patient})}
    )


def store_of(log: TriageLog) -> SQLiteStore:
    store = log._store
    assert isinstance(store, SQLiteStore)
    return store


def run_threads(targets: list[Callable[[], Any]]) -> list[Any]:
    """Run each target in its own thread, all released at once; their results (or
    exceptions) in order."""
    results: list[Any] = [None] * len(targets)
    barrier = threading.Barrier(len(targets))

    def work(n: int) -> None:
        barrier.wait()
        try:
            results[n] = targets[n]()
        except BaseException as exc:  # the test looks at it
            results[n] = exc

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
        assert not thread.is_alive(), "an append never returned"
    return results


def queued_together(writer: Writer, targets: list[Callable[[], Any]]) -> list[Any]:
    """Run each target in its own thread while the writer's lock is held, letting them queue
    one after the other (the first leads), then release them all: one transaction takes them."""
    results: list[Any] = [None] * len(targets)

    def work(n: int) -> None:
        try:
            results[n] = targets[n]()
        except BaseException as exc:  # the test looks at it
            results[n] = exc

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(targets))]
    with writer.lock:
        for n, thread in enumerate(threads):
            thread.start()
            wait_until(lambda n=n: writer.waiting == n + 1)  # type: ignore[misc]
    for thread in threads:
        thread.join(WAIT_S)
        assert not thread.is_alive(), "an append never returned"
    return results


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the threads did not queue"
        time.sleep(0.001)


def assert_sound(path: Target, entries: int) -> None:
    with TriageLog(path) as log:
        verified = log.verify()
        assert (verified.integrity, verified.first_bad) == ("ok", None)
        seqs = [row["seq"] for _, row in log._store.chain()]
        assert seqs == list(range(1, len(seqs) + 1))  # one gap-free sequence
        assert log.count() == entries


@pytest.fixture
def logs(private_log: Target) -> Iterator[Callable[[], TriageLog]]:
    """A log per thread, as ``triage serve`` opens an SQLite log (a PostgreSQL log is shared)."""
    opened: list[TriageLog] = []
    shared: list[TriageLog] = []

    def one() -> TriageLog:
        if shared:
            return shared[0]
        log = TriageLog(private_log)
        opened.append(log)
        if log.shared:
            shared.append(log)
        return log

    one()
    yield one
    for log in opened:
        log.close()


# -- many writers --------------------------------------------------------------------------------


def test_many_threads_appending_at_once_each_get_their_own_rows_of_one_chain(
    logs: Callable[[], TriageLog], private_log: Target, decision: Decision
) -> None:
    threads, rounds = 8, 15

    def writer(n: int) -> Callable[[], list[tuple[int, str, int]]]:
        log = logs()
        mine = [for_patient(decision, f"pt-t{n}-{r}") for r in range(rounds)]

        def append() -> list[tuple[int, str, int]]:
            told = []
            for r, made in enumerate(mine):
                rows = [log.record(made)] if r % 3 else log.record_many([made, made])
                told += [(row.id, row.patient_id, r) for row in rows]
            return told

        return append

    results = run_threads([writer(n) for n in range(threads)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    ids = [entry_id for told in results for entry_id, _, _ in told]
    assert len(ids) == len(set(ids)) == threads * (rounds + len(range(0, rounds, 3)))
    with TriageLog(private_log) as log:
        for n, told in enumerate(results):
            for entry_id, patient, r in told:  # each caller was told its own rows
                assert patient == f"pt-t{n}-{r}" == log.entry(entry_id).patient_id
    assert_sound(private_log, len(ids))


@pytest.mark.sqlite_only
def test_appends_queued_together_are_stored_by_one_commit(
    logs: Callable[[], TriageLog], private_log: Path, decision: Decision
) -> None:
    threads = 8
    opened = [logs() for _ in range(threads)]
    writer = store_of(opened[0]).writer
    assert all(store_of(log).writer is writer for log in opened)  # one writer per file
    commits, appends = writer.commits, writer.appends
    results = queued_together(
        writer,
        [lambda log=log, n=n: log.record(for_patient(decision, f"pt-q{n}")) for n, log in
         enumerate(opened)],
    )  # fmt: skip
    assert (writer.commits - commits, writer.appends - appends) == (1, threads)
    assert [summary.patient_id for summary in results] == [f"pt-q{n}" for n in range(threads)]
    assert [summary.id for summary in results] == list(range(1, threads + 1))  # queue order
    assert_sound(private_log, threads)


@pytest.mark.sqlite_only
def test_every_append_is_counted_when_threads_are_released_together(
    logs: Callable[[], TriageLog], private_log: Path, decision: Decision
) -> None:
    """Left to the threads (how many meet in one transaction is not certain here): every
    append is counted, and no COMMIT stores none."""
    opened = [logs() for _ in range(6)]
    writer = store_of(opened[0]).writer
    commits, appends = writer.commits, writer.appends
    run_threads([lambda log=log: [log.record(decision) for _ in range(20)] for log in opened])
    assert writer.appends - appends == 120
    assert 1 <= writer.commits - commits <= 120
    assert_sound(private_log, 120)


# -- one append's failure is its own -------------------------------------------------------------


class Refused(Exception):
    pass


class Stopped(BaseException):
    """Not an Exception (as KeyboardInterrupt): its append's caller still gets it."""


@pytest.mark.sqlite_only
@pytest.mark.parametrize("leader_fails", [True, False], ids=["leader", "follower"])
def test_an_append_that_fails_takes_nothing_of_the_others_with_it(
    logs: Callable[[], TriageLog], private_log: Path, decision: Decision, leader_fails: bool
) -> None:
    opened = [logs() for _ in range(6)]
    stores = [store_of(log) for log in opened]
    from triage.log.facade import _entries  # what record_many appends

    def good(n: int) -> Callable[[], list[int]]:
        build = _entries([for_patient(decision, f"pt-ok{n}"), for_patient(decision, "pt-ok")], "")
        return lambda: [row["id"] for row in stores[n].append("entry", build)]

    def raises(exc: BaseException) -> Callable[[Head], list[Any]]:
        def build(head: Head) -> list[Any]:
            raise exc

        return build

    def half_stored(head: Head) -> list[Any]:  # its second row fails in the database
        rows = _entries([decision, decision], "")(head)
        rows[1] = {**rows[1], "id": head.next_id - 1 if head.next_id > 1 else head.next_id}
        return rows

    failing = [
        lambda: stores[1].append("entry", raises(Refused("no"))),
        lambda: stores[3].append("entry", half_stored),
        lambda: stores[4].append("entry", raises(Stopped())),
    ]
    if leader_fails:
        targets = [failing[0], good(0), good(2), failing[1], failing[2], good(5)]
    else:
        targets = [good(0), failing[0], good(2), failing[1], failing[2], good(5)]
    writer = stores[0].writer
    commits = writer.commits
    results = queued_together(writer, targets)
    assert writer.commits - commits == 1
    errors = [r for r in results if isinstance(r, BaseException)]
    assert [type(e) for e in errors] == [Refused, StorageError, Stopped]
    stored = [r for r in results if not isinstance(r, BaseException)]
    assert [len(ids) for ids in stored] == [2, 2, 2]
    assert sorted(i for ids in stored for i in ids) == list(range(1, 7))
    with TriageLog(private_log) as log:
        patients = sorted(summary.patient_id for summary in log.entries(limit=None))
        assert patients == ["pt-ok"] * 3 + ["pt-ok0", "pt-ok2", "pt-ok5"]
    assert_sound(private_log, 6)


@pytest.mark.sqlite_only
def test_a_failing_append_alone_stores_nothing_and_the_next_goes_on(
    logs: Callable[[], TriageLog], private_log: Path, decision: Decision
) -> None:
    log = logs()

    def build(head: Head) -> list[Any]:
        raise Refused("no")

    with pytest.raises(Refused):
        store_of(log).append("entry", build)
    assert log.record(decision).id == 1
    assert_sound(private_log, 1)


# -- what a build reads, and idempotency keys ----------------------------------------------------


@pytest.mark.sqlite_only
def test_an_append_reads_the_log_as_its_transaction_left_it(
    logs: Callable[[], TriageLog], private_log: Path
) -> None:
    """Two changes of one patient's record from two threads in one transaction: the second
    keeps what the first set (its build reads the current record through its own store)."""
    first, second = logs(), logs()
    results = queued_together(
        store_of(first).writer,
        [
            lambda: first.set_patient("pt-p", profile="athlete", by="Dr Ada"),
            lambda: second.set_patient("pt-p", conditions=["heart_disease"], by="Dr Bo"),
        ],
    )
    assert [(r.profile, r.conditions) for r in results] == [
        ("athlete", ()),
        ("athlete", ("heart_disease",)),
    ]
    with TriageLog(private_log) as log:
        current = log.patient("pt-p")
        assert current is not None and (current.profile, current.conditions) == (
            "athlete",
            ("heart_disease",),
        )
        assert log.verify().first_bad is None


@pytest.mark.sqlite_only
def test_a_key_appended_twice_in_one_transaction_is_recorded_once(
    logs: Callable[[], TriageLog], private_log: Path, decision: Decision
) -> None:
    opened = [logs() for _ in range(4)]
    key = key_for("retry-1", decision.report.answers())
    other = key_for("retry-2", decision.report.answers())
    keys = [key, key, other, key]
    results = queued_together(
        store_of(opened[0]).writer,
        [
            lambda log=log, k=k: log.record_once(decision, k)
            for log, k in zip(opened, keys, strict=True)
        ],
    )
    assert [r is not None for r in results] == [True, False, True, False]
    assert_sound(private_log, 2)


def test_a_key_appended_at_once_by_many_threads_is_recorded_once(
    logs: Callable[[], TriageLog], private_log: Target, decision: Decision
) -> None:
    key = key_for("retry-many", decision.report.answers())
    opened = [logs() for _ in range(8)]
    results = run_threads([lambda log=log: log.record_once(decision, key) for log in opened])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len([r for r in results if r is not None]) == 1
    assert_sound(private_log, 1)


# -- the writer's queue --------------------------------------------------------------------------


class Interrupted(BaseException):
    pass


@pytest.mark.sqlite_only
def test_a_leader_interrupted_leaves_its_followers_to_the_next_leader() -> None:
    """The leader stops before it ends anything (Ctrl-C): it gets that, and the appends it took
    are run again by the next one queued, which leads then."""
    writer = Writer("test")
    calls: list[list[str]] = []

    def run(batch: list[Pending]) -> int:
        calls.append([p.work for p in batch])
        if batch[0].work == "leader":
            raise Interrupted
        for pending in batch:
            pending.finish(f"stored {pending.work}")
        return 1

    results = queued_together(
        writer, [lambda w=w: writer.submit(w, run) for w in ("leader", "a", "b")]
    )
    assert isinstance(results[0], Interrupted)
    assert results[1:] == ["stored a", "stored b"]
    assert calls == [["leader", "a", "b"], ["a", "b"]]
    assert (writer.commits, writer.appends, writer.waiting) == (1, 2, 0)


@pytest.mark.sqlite_only
def test_when_the_commit_fails_no_caller_is_told_its_rows_were_stored(
    logs: Callable[[], TriageLog], private_log: Path, decision: Decision
) -> None:
    """Every caller is told only after the COMMIT: one that fails (here a foreign key checked
    only then) is every caller's StorageError, and nothing of theirs is in the log."""
    opened = [logs() for _ in range(3)]
    stores = [store_of(log) for log in opened]
    from triage.log import chain
    from triage.log.facade import _entries

    def review_of_no_entry(head: Head) -> list[Any]:
        stores[0].conn.execute("PRAGMA defer_foreign_keys = ON")  # the leader's transaction
        row = {"id": head.next_id, "seq": head.seq + 1, "entry_id": 999, "reviewed_at": "x",
               "reviewer": "Dr Ada", "verdict": "accepted", "note": "", "prev_hash": head.hash,
               "form": chain.CURRENT_FORM, "reason": ""}  # fmt: skip
        return [{**row, "hash": chain.record_hash("review", row)}]

    results = queued_together(
        stores[0].writer,
        [
            lambda: stores[0].append("entry", _entries([decision], "")),
            lambda: stores[1].append("review", review_of_no_entry),
            lambda: stores[2].append("entry", _entries([decision], "")),
        ],
    )
    assert [type(r) for r in results] == [StorageError] * 3, results
    assert "FOREIGN KEY" in str(results[0])
    assert opened[0].record(decision).id == 1
    assert_sound(private_log, 1)
