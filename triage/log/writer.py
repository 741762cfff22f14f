"""One writer per log and process: the write lock in front of a log's transactions, and group
commit of the appends that arrive together.

Every store of a process that writes to one log (the same SQLite file; the same PostgreSQL
database) shares one ``Writer``, found by ``writer_for(key)``. Its ``lock`` is held for the
whole of each write transaction, so the threads of ``triage serve`` (each with its own
connection to the file) queue on a lock, never in SQLite's busy handler, which sleeps and backs
off; other processes still meet SQLite's own locking (its busy timeout).

Appends queue (``Writer.submit``): the first waiting one leads. It takes the lock, then every
append queued by then (at most ``MAX_BATCH``), and runs them, in order, in ONE transaction: one
COMMIT, one fsync, each seeing the head the previous one left (``run`` does that: SQLite's
``SQLiteStore._commit_batch``). Each caller is told its own rows, or its own exception, only
once the transaction has ended: nothing is acknowledged before its COMMIT has returned. An
append the leader did not finish (the leader was interrupted) stays queued, and the next one
in the queue leads.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 256
"""The most appends one transaction takes (the rest wait for the next)."""


@dataclass(eq=False)
class Pending:
    """An append waiting in a writer's queue, and then what became of it."""

    work: Any
    """What the leader needs to run it (a backend's own description of the append)."""
    done: bool = False
    rows: Any = None
    error: BaseException | None = None
    wake: threading.Event = field(default_factory=threading.Event)

    def finish(self, rows: Any = None, error: BaseException | None = None) -> None:
        """Record the outcome (before the waiter is woken, after its transaction ended)."""
        self.rows, self.error, self.done = rows, error, True

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.rows


class Writer:
    """The one writer of a log in this process (see the module's documentation)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = threading.Lock()
        """Held for the whole of every write transaction to the log made in this process."""
        self._mutex = threading.Lock()  # guards the queue, never held during a transaction
        self._queue: list[Pending] = []
        self.commits = 0
        """How many append transactions were committed (each one COMMIT, one fsync)."""
        self.appends = 0
        """How many appends those transactions ended (stored, or nothing under a key taken)."""

    @property
    def waiting(self) -> int:
        """How many appends are queued (the leader's included)."""
        with self._mutex:
            return len(self._queue)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The write lock, for a transaction that is not an append."""
        with self.lock:
            yield

    def submit(self, work: Any, run: Callable[[list[Pending]], int]) -> Any:
        """Queue an append; run it, with those queued meanwhile, when it leads (``run`` gets
        the batch, the leader's first, must ``finish`` those it has ended, and returns how
        many COMMITs it made); return its rows or raise its exception."""
        mine = Pending(work)
        with self._mutex:
            self._queue.append(mine)
            leads = len(self._queue) == 1
        try:
            while not leads:
                mine.wake.wait()
                mine.wake.clear()
                if mine.done:
                    return mine.outcome()
                with self._mutex:
                    leads = self._queue[0] is mine
        except BaseException:  # interrupted waiting (Ctrl-C): leave the queue, which must go on
            self._leave(mine)
            raise
        self._lead(mine, run)
        return mine.outcome()

    def _leave(self, mine: Pending) -> None:
        """Take an append its caller stopped waiting for out of the queue; if it was to lead,
        the next one leads. (A leader running it already may still store it.)"""
        with self._mutex:
            if not any(p is mine for p in self._queue):
                return
            following = None
            if self._queue[0] is mine:  # no leader runs while it is first: it was to lead
                following = self._queue[1] if len(self._queue) > 1 else None
            self._queue = [p for p in self._queue if p is not mine]
        if following is not None:
            following.wake.set()

    def _lead(self, mine: Pending, run: Callable[[list[Pending]], int]) -> None:
        batch: list[Pending] = []
        commits = 0
        try:
            with self.lock:
                with self._mutex:  # all queued by now: they waited while the lock was taken
                    batch = self._queue[:MAX_BATCH]
                commits = run(batch)
        finally:
            with self._mutex:
                ended = [p for p in batch if p.done]
                self._queue = [p for p in self._queue if not p.done and p is not mine]
                following = self._queue[0] if self._queue else None
                self.commits += commits
                self.appends += sum(p.error is None for p in ended) if commits else 0
            for pending in ended:
                if pending is not mine:
                    pending.wake.set()
            if following is not None:  # finished or not, it sees whether it leads now
                following.wake.set()


_writers: weakref.WeakValueDictionary[str, Writer] = weakref.WeakValueDictionary()
_writers_lock = threading.Lock()
generation = 0
"""Changed in a child process after a fork: a store opened before finds its writer again."""


def writer_for(key: str) -> Writer:
    """This process's writer of the log ``key`` (a file's identity, a database's URL)."""
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = Writer(key)
        return writer


def _fresh_after_fork() -> None:
    """A lock held by another thread at a fork stays held in the child: start again there."""
    global _writers_lock, _writers, generation
    _writers_lock = threading.Lock()
    _writers = weakref.WeakValueDictionary()
    generation += 1


os.register_at_fork(after_in_child=_fresh_after_fork)
