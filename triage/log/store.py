"""What a storage backend of the triage log provides: appending records (entries, reviews and
patient records) to one chain, reading them back, and checking its own integrity.
``TriageLog`` builds and checks the records (the hash chain, the canonical forms); a backend only
stores and finds rows, in one transaction per write.

SQLite (``sqlite.py``, one file) and PostgreSQL (``postgres.py``, one shared database: one
gap-free chain under a lock, UPDATE, DELETE and TRUNCATE refused) implement it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .records import Filters, Kind, Row

Query = tuple[str, list[Any]]
"""A statement and its values (``sql.Query``); the ``Any`` a maker takes is ``sql.Dialect``
(not imported here: ``sql`` imports this module)."""


@dataclass(frozen=True)
class Head:
    """The end of the chain when a write starts: the last record's sequence number and hash
    (0 and the genesis hash in an empty log), and the next free id of the table written to."""

    seq: int
    hash: str
    next_id: int


@dataclass(frozen=True)
class Recent:
    """The worklist's first part: checks of ``severity`` or above answered at ``since`` or
    later (unreviewed emergency and urgent checks of the last 24 hours)."""

    severity: int
    since: str
    """A moment as stored (``records.stamp``)."""


@dataclass(frozen=True)
class Once:
    """An idempotency key an append is made under (``once.py``): the SHA-256 of the key and of
    the request, the moment it is used, and the moment before which stored keys have expired."""

    key_hash: str
    body_hash: str
    at: str
    expired_before: str


class Store(Protocol):
    """A triage log's storage. Every method raises ``StorageError`` for a storage failure."""

    location: str
    """Where the log is, as people name it in messages (a file's path; a URL, never with its
    password)."""

    backend: str
    """The storage's name in messages: 'SQLite', 'PostgreSQL'."""

    created: bool
    """True when opening it started a new, empty log."""

    def close(self) -> None: ...

    # -- append --------------------------------------------------------------------------------

    def append(
        self, kind: Kind, build: Callable[[Head], list[Row]], once: Once | None = None
    ) -> list[Row]:
        """In one transaction, taken before reading the head so that writers queue: read the
        head, store the rows ``build`` makes from it (all or none), and return them. ``build``
        may read the log through the store: it sees the same transaction. With ``once``: when
        its key is stored already (and has not expired), nothing is appended and ``[]`` is
        returned; otherwise the key is stored with the first row's id, in the same
        transaction (expired keys are deleted first)."""
        ...

    def extend(self, records: Iterable[tuple[Kind, Row]]) -> int:
        """Store records as they are (a copy of another log's, in chain order) after the head,
        in one transaction: all or none. Returns how many."""
        ...

    def add_checkpoint(self, build: Callable[[int], Row]) -> Row:
        """Store the checkpoint ``build`` makes from the next checkpoint id; return it."""
        ...

    # -- read ----------------------------------------------------------------------------------

    def summaries(self, filters: Filters, limit: int | None, offset: int = 0) -> list[Row]:
        """Summary fields and ``last_verdict`` of matching entries, newest first, skipping the
        first ``offset``."""
        ...

    def count(self, filters: Filters) -> int:
        """How many entries match."""
        ...

    def session_rows(self, patient: str, session_id: str) -> list[Row]:
        """Summary fields and ``last_verdict`` of the patient's entries of one session, oldest
        first: by when they were answered (``reported_at``), then recorded."""
        ...

    def review_rows_of(self, entry_ids: list[int]) -> list[Row]:
        """The reviews of these entries, oldest first."""
        ...

    def contact_rows_of(self, entry_ids: list[int]) -> list[Row]:
        """The contacts about these entries, oldest first."""
        ...

    def next_check_after(self, patient: str, after: str) -> str | None:
        """When the patient's first check answered after ``after`` was answered, or None."""
        ...

    # -- the worklist --------------------------------------------------------------------------
    # Every entry that needs action (above continue) and has no review yet, with its severity:
    # kept by ``append`` in the transaction that adds the entry or its first review, and read
    # through an index, never by reading every entry.

    def worklist_rows(
        self,
        filters: Filters,
        limit: int,
        offset: int,
        recent: Recent | None = None,
        first: bool = False,
    ) -> list[Row]:
        """Summary fields of the matching worklist entries, and ``next_at`` (when the patient's
        next check was answered, or None): most severe first, then oldest. With ``recent``:
        only those in its part (``first``), most severe first then newest, or only the rest."""
        ...

    def worklist_count(
        self, filters: Filters, recent: Recent | None = None, first: bool = False
    ) -> int:
        """How many worklist entries match (with ``recent``: of one part, as above)."""
        ...

    def worklist_patients(
        self, filters: Filters, recent: Recent, limit: int, offset: int
    ) -> list[Row]:
        """One row per patient with matching worklist entries, in the worklist's order: the
        patient's first entry in it (``worklist_rows``' fields), its ``band`` (0: in
        ``recent``'s part, 1: the rest) and the patient's ``open_checks``."""
        ...

    def worklist_others(
        self, filters: Filters, recent: Recent, patients: list[str], shown: int
    ) -> list[Row]:
        """The next ``shown`` matching worklist entries of each of ``patients`` after their
        first, in the worklist's order, with ``band``."""
        ...

    def worklist_patient_count(self, filters: Filters) -> int:
        """How many patients have matching worklist entries."""
        ...

    def worklist_counts(self) -> dict[int, int]:
        """The number of worklist entries of each severity, over the whole log: kept as a
        tally beside the worklist, so that reading it never counts the entries."""
        ...

    def worklist_waiting(self, severity: int, answered_before: str) -> int:
        """How many worklist entries of ``severity``, answered before ``answered_before``, have
        no later check of their patient (``next_at`` is None): follow-ups overdue."""
        ...

    # -- beside the chain: accounts, tokens, cards, sessions, used JWTs, idempotency keys -------
    # ``table`` is one of those tables (records.TABLE_COLUMNS); rows are changed in place (a
    # new password, a revocation): they are not records of the chain. Only the ``TRANSIENT``
    # ones (sessions, used JWT ids, idempotency keys) are ever deleted.

    def add_row(self, table: str, row: Row) -> int:
        """Insert a row into a table with ids; its id. A duplicate unique value is a
        StorageError."""
        ...

    def add_once(self, table: str, row: Row) -> bool:
        """Insert a row unless one with the same key is stored; whether it was inserted."""
        ...

    def delete_rows(self, table: str, column: str, value: Any, *, older: bool = False) -> int:
        """Delete the rows of a ``TRANSIENT`` table whose ``column`` is ``value`` (with
        ``older``: is less than it); how many."""
        ...

    def find_rows(self, table: str, column: str, value: Any) -> list[Row]: ...

    def all_rows(self, table: str) -> list[Row]: ...

    def update_row(self, table: str, row_id: int, changes: Row) -> bool:
        """Set columns of one row; whether it exists."""
        ...

    # -- alerts: subscriptions and the outbox (``alerts.py``), beside the chain ----------------
    # The outbox rows of a check are inserted by ``append``, in its transaction.

    def alert_read(self, make: Callable[[Any], Query]) -> list[Row]:
        """The rows of the query ``make`` writes for this storage's dialect (``sql.py``)."""
        ...

    def alert_write(self, make: Callable[[Any], list[Query]]) -> list[Row]:
        """Run the statements ``make`` writes, in one write transaction; the rows the last one
        returns (none for a statement that returns no rows)."""
        ...

    def entry_rows(self, filters: Filters, limit: int | None) -> Iterator[Row]:
        """Whole matching entries, oldest first, streamed (never all in memory)."""
        ...

    def export_rows(self, filters: Filters, limit: int | None, *, whole: bool) -> Iterator[Row]:
        """Matching entries, oldest first, streamed, in ONE query (no lookup per entry), for
        the exports. With ``whole`` (JSON Lines): every column but ``report_json``, with
        ``json_ok`` (``decision_json`` is valid JSON) and ``reviews_json`` (the entry's reviews,
        oldest first, as a JSON array of objects with the ``Review`` fields). Without (CSV):
        the ``CSV_STORED`` columns, with what the CSV takes from the JSON and the reviews,
        worked out by the storage: ``rules_fired`` (the rule of each of the decision's reasons,
        joined by ';'), ``pain_during`` and ``pain_now`` (from the report), ``review_count``,
        and ``last_verdict``, ``last_reviewer``, ``last_reviewed_at`` and ``last_note`` (of the
        newest review; None without one). Damaged JSON is a StorageError."""
        ...

    def entry_row(self, entry_id: int) -> Row | None: ...

    def review_rows(self, entry_id: int) -> list[Row]:
        """The reviews of one entry, oldest first."""
        ...

    def newest_of_patient(self, patient: str, limit: int) -> list[Row]:
        """The patient's newest ``limit`` entries, newest first: by when they were answered
        (``reported_at``; a check recorded late takes its place), then recorded."""
        ...

    def patient_window(self, patient: str, since: str, before: str, limit: int) -> list[Row]:
        """The patient's newest ``limit`` entries answered in [since, before), newest first."""
        ...

    def first_of_session(self, patient: str, session_id: str) -> Row | None:
        """The first check answered of the session (its post-session report), or None."""
        ...

    def patient_counts(self, since: str) -> Iterator[Row]:
        """``patient_id`` and ``entries``, the number of its entries answered at or after
        ``since``, for every patient that has one, in order of patient id; streamed."""
        ...

    def patients_entries(self, first: str, last: str, since: str) -> Iterator[Row]:
        """The entries answered at or after ``since`` of the patients from ``first`` to
        ``last`` (ids in order, both included), in order of patient, then answer time, then
        id; streamed. Columns: id, patient_id, session_id, reported_at, outcome, urgency,
        pack_name, pack_version, pack_sha256, contract_version, report_json, decision_json."""
        ...

    def has_patient(self, patient: str) -> bool:
        """Whether the log has an entry or a patient record of ``patient``."""
        ...

    def patient_ids(self) -> list[str]:
        """Every patient id in the log, in entries or patient records (for suggestions when one
        is not found)."""
        ...

    def patient_rows(self, patient: str) -> list[Row]:
        """The patient's records (profile and conditions), oldest first."""
        ...

    def latest_patient_row(self, patient: str) -> Row | None:
        """The patient's newest record: the current one."""
        ...

    # -- verify --------------------------------------------------------------------------------

    def chain(self, after: int = 0) -> Iterator[tuple[Kind, Row]]:
        """Every record of every kind after record ``after``, in chain order (by ``seq``)."""
        ...

    def head(self) -> tuple[int, str]:
        """The newest record's ``seq`` and hash (0 and the genesis hash in an empty log)."""
        ...

    def hash_at(self, seq: int) -> str | None:
        """The hash of record ``seq``, or None if the log has no such record."""
        ...

    def checkpoints(self) -> list[Row]:
        """The signed checkpoints stored in the log, oldest first."""
        ...

    def integrity(self, full: bool = True) -> str:
        """The storage's own consistency check: 'ok', or what is wrong; without ``full`` only
        what costs no more than the newest records (``NOT_CHECKED`` if nothing does). The full
        check includes the worklist's agreement with the chain."""
        ...
