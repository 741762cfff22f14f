"""The SQLite backend of the triage log: one file, its schema migrations, plain SQL.

Standard library only. A new log file is created owner-only (0600); an existing empty file that
triage initialises is made owner-only too. The file is opened in WAL mode with a busy timeout and
durable commits; every write is one transaction taken at once (``BEGIN IMMEDIATE``), and values
are always bound with ``?``. A process's threads write one at a time, queued on one lock per file
(``writer.py``), and appends that queue together share one transaction (group commit). The
schema moves forward by numbered migrations recorded in the database; a log written by a newer
version of triage is refused, and so is an SQLite database that is not a triage log.
"""

from __future__ import annotations

import dataclasses
import heapq
import os
import sqlite3
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import MissingLogError, StorageError
from ..outcomes import severity
from . import sql as queries
from . import writer as writers
from .chain import GENESIS
from .records import (
    CSV_STORED,
    NOT_CHECKED,
    TABLES,
    Filters,
    Kind,
    Review,
    Row,
    names,
    now_utc,
)
from .store import Head, Once, Recent

D = queries.SQLITE

BUSY_TIMEOUT_MS = 30_000
FETCH_BATCH = 500

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "initial schema: entries and reviews, hash-chained",
        """
        CREATE TABLE entries (
            id              INTEGER PRIMARY KEY,
            seq             INTEGER NOT NULL UNIQUE,
            recorded_at     TEXT NOT NULL,
            reported_at     TEXT NOT NULL,
            patient_id      TEXT NOT NULL,
            session_id      TEXT NOT NULL,
            outcome         TEXT NOT NULL,
            urgency         TEXT,
            top_reason      TEXT NOT NULL,
            pack_name       TEXT NOT NULL,
            pack_version    TEXT NOT NULL,
            pack_sha256     TEXT NOT NULL,
            engine_name     TEXT NOT NULL,
            engine_version  TEXT NOT NULL,
            program_version TEXT NOT NULL,
            report_json     TEXT NOT NULL,
            decision_json   TEXT NOT NULL,
            prev_hash       TEXT NOT NULL,
            hash            TEXT NOT NULL
        );
        CREATE INDEX entries_by_patient ON entries (patient_id, id);
        CREATE INDEX entries_by_patient_time ON entries (patient_id, reported_at);
        CREATE INDEX entries_by_outcome ON entries (outcome, id);
        CREATE INDEX entries_by_urgency ON entries (outcome, urgency, id);
        CREATE INDEX entries_by_session ON entries (session_id, id);
        CREATE INDEX entries_by_time ON entries (reported_at);
        CREATE TABLE reviews (
            id          INTEGER PRIMARY KEY,
            seq         INTEGER NOT NULL UNIQUE,
            entry_id    INTEGER NOT NULL REFERENCES entries (id),
            reviewed_at TEXT NOT NULL,
            reviewer    TEXT NOT NULL,
            verdict     TEXT NOT NULL CHECK (verdict IN ('accepted', 'overridden')),
            note        TEXT NOT NULL,
            prev_hash   TEXT NOT NULL,
            hash        TEXT NOT NULL
        );
        CREATE INDEX reviews_by_entry ON reviews (entry_id, id);
    """,
    ),
    (
        "canonical forms: every record names the form its hash covers; entries their contract",
        """
        ALTER TABLE entries ADD COLUMN form INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE entries ADD COLUMN contract_version TEXT NOT NULL DEFAULT '1';
        ALTER TABLE reviews ADD COLUMN form INTEGER NOT NULL DEFAULT 1;
    """,
    ),
    (
        "patient records: each patient's profile and conditions, appended to the same chain",
        """
        CREATE TABLE patients (
            id              INTEGER PRIMARY KEY,
            seq             INTEGER NOT NULL UNIQUE,
            patient_id      TEXT NOT NULL,
            set_at          TEXT NOT NULL,
            set_by          TEXT NOT NULL,
            profile         TEXT,
            conditions_json TEXT NOT NULL,
            note            TEXT NOT NULL,
            prev_hash       TEXT NOT NULL,
            hash            TEXT NOT NULL,
            form            INTEGER NOT NULL
        );
        CREATE INDEX patients_by_patient ON patients (patient_id, id);
    """,
    ),
    (
        "triage serve: override reasons, clinician accounts, API tokens, and the worklist",
        """
        ALTER TABLE reviews ADD COLUMN reason TEXT NOT NULL DEFAULT '';
        CREATE TABLE clinicians (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            time_zone     TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            disabled_at   TEXT
        );
        CREATE TABLE api_tokens (
            id         INTEGER PRIMARY KEY,
            app        TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            prefix     TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE worklist (
            entry_id    INTEGER PRIMARY KEY REFERENCES entries (id),
            severity    INTEGER NOT NULL,
            reported_at TEXT NOT NULL,
            patient_id  TEXT NOT NULL,
            next_at     TEXT
        );
        CREATE INDEX worklist_by_urgency ON worklist (severity DESC, reported_at, entry_id);
        CREATE INDEX worklist_by_patient ON worklist (patient_id, severity DESC, reported_at);
        CREATE INDEX worklist_waiting ON worklist (severity, reported_at) WHERE next_at IS NULL;
        INSERT INTO worklist (entry_id, severity, reported_at, patient_id, next_at)
            SELECT e.id,
                   CASE e.outcome || '/' || coalesce(e.urgency, '')
                       WHEN 'reduce_load/' THEN 1
                       WHEN 'seek_medical_review/routine' THEN 2
                       WHEN 'seek_medical_review/same_day' THEN 3
                       WHEN 'seek_medical_review/urgent' THEN 4
                       WHEN 'seek_medical_review/emergency' THEN 5
                       ELSE 5
                   END,
                   e.reported_at, e.patient_id,
                   (SELECT min(n.reported_at) FROM entries n
                    WHERE n.patient_id = e.patient_id AND n.reported_at > e.reported_at)
            FROM entries e
            WHERE e.outcome <> 'continue'
              AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.entry_id = e.id);
        CREATE TABLE worklist_tally (
            severity INTEGER PRIMARY KEY,
            checks   INTEGER NOT NULL
        );
        INSERT INTO worklist_tally (severity, checks)
            SELECT severity, count(*) FROM worklist GROUP BY severity
    """,
    ),
    (
        "signed checkpoints: the chain's size and head hash, signed with a key kept elsewhere",
        """
        CREATE TABLE checkpoints (
            id         INTEGER PRIMARY KEY,
            size       INTEGER NOT NULL,
            head       TEXT NOT NULL,
            signed_at  TEXT NOT NULL,
            public_key TEXT NOT NULL,
            signature  TEXT NOT NULL
        );
    """,
    ),
    (
        "CDS Hooks: the cards shown in an EHR, for the feedback on them",
        """
        CREATE TABLE cds_cards (
            id        INTEGER PRIMARY KEY,
            card      TEXT NOT NULL UNIQUE,
            entry_id  INTEGER NOT NULL REFERENCES entries (id),
            clinician TEXT NOT NULL,
            shown_at  TEXT NOT NULL,
            verdict   TEXT,
            review_id INTEGER REFERENCES reviews (id)
        );
    """,
    ),
    (
        "sessions that end, JWTs used once, checks recorded once per idempotency key",
        """
        CREATE TABLE web_sessions (
            id          INTEGER PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            clinician   TEXT NOT NULL REFERENCES clinicians (name),
            started_at  TEXT NOT NULL,
            seen_at     TEXT NOT NULL
        );
        CREATE INDEX web_sessions_by_clinician ON web_sessions (clinician);
        CREATE TABLE used_jtis (
            jti_hash   TEXT PRIMARY KEY,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX used_jtis_by_expiry ON used_jtis (expires_at);
        CREATE TABLE idempotency_keys (
            key_hash   TEXT PRIMARY KEY,
            body_hash  TEXT NOT NULL,
            entry_id   INTEGER NOT NULL REFERENCES entries (id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
    """,
    ),
    (
        "the patient's age on the patient records (canonical form 4)",
        """
        ALTER TABLE patients ADD COLUMN age INTEGER;
    """,
    ),
    (
        "alerts: clinicians' subscriptions, and an outbox filled with each check that needs one",
        """
        CREATE TABLE alert_subscriptions (
            id           INTEGER PRIMARY KEY,
            kind         TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
            target       TEXT NOT NULL,
            secret       TEXT,
            min_severity INTEGER NOT NULL,
            created_at   TEXT NOT NULL,
            removed_at   TEXT
        );
        CREATE TABLE alert_outbox (
            id              INTEGER PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES alert_subscriptions (id),
            entry_id        INTEGER NOT NULL REFERENCES entries (id),
            created_at      TEXT NOT NULL,
            status          TEXT NOT NULL
                CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
            attempts        INTEGER NOT NULL,
            due_at          TEXT NOT NULL,
            claimed_by      TEXT,
            last_error      TEXT,
            last_attempt_at TEXT,
            delivered_at    TEXT
        );
        CREATE INDEX alert_outbox_due ON alert_outbox (status, due_at);
        CREATE INDEX alert_outbox_by_entry ON alert_outbox (entry_id);
    """,
    ),
    (
        "contacts with patients on the chain, what each clinician last saw of the worklist, and "
        "patients' links to answer checks on a phone",
        """
        CREATE TABLE contacts (
            id           INTEGER PRIMARY KEY,
            seq          INTEGER NOT NULL UNIQUE,
            entry_id     INTEGER NOT NULL REFERENCES entries (id),
            contacted_at TEXT NOT NULL,
            contacted_by TEXT NOT NULL,
            outcome      TEXT NOT NULL,
            note         TEXT NOT NULL,
            prev_hash    TEXT NOT NULL,
            hash         TEXT NOT NULL,
            form         INTEGER NOT NULL
        );
        CREATE INDEX contacts_by_entry ON contacts (entry_id, id);
        ALTER TABLE clinicians ADD COLUMN seen_entry INTEGER;
        ALTER TABLE entries ADD COLUMN channel TEXT NOT NULL DEFAULT '';
        CREATE TABLE patient_links (
            id           INTEGER PRIMARY KEY,
            patient_id   TEXT NOT NULL,
            token_hash   TEXT NOT NULL UNIQUE,
            prefix       TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            created_by   TEXT NOT NULL,
            expires_at   TEXT NOT NULL,
            revoked_at   TEXT,
            last_used_at TEXT
        );
        CREATE INDEX patient_links_by_patient ON patient_links (patient_id, id);
    """,
    ),
)
"""Numbered from 1, in order. Never edit one that has shipped: add the next."""

_OTHER_LOG = "or choose another file with --db or TRIAGE_DB"


def storage_error(path: Path, exc: BaseException, action: str = "use") -> StorageError:
    """A StorageError that says what went wrong with the log file while doing ``action`` (open,
    read, write, start), and what to do."""
    reason = str(exc)
    if isinstance(exc, PermissionError) or "readonly" in reason or "unable to open" in reason:
        return StorageError(
            f"cannot {action} the triage log {path}: {reason}",
            str(path),
            f"check the file's permissions, {_OTHER_LOG}",
        )
    if "not a database" in reason or "malformed" in reason:
        return StorageError(
            f"the triage log {path} is damaged or is not a triage log ({reason})",
            str(path),
            f"restore it from a backup, {_OTHER_LOG}",
        )
    return StorageError(
        f"the triage log {path} cannot be used: {reason}",
        str(path),
        f"check the disk and the file, {_OTHER_LOG}",
    )


class SQLiteStore:
    """The triage log in one SQLite file (see ``store.Store``)."""

    backend = "SQLite"

    def __init__(self, conn: sqlite3.Connection, path: Path, created: bool) -> None:
        self.conn = conn
        self.path = path
        self.location = str(path)
        self.created = created
        self._key = _identity(path)
        self._writer: writers.Writer | None = None
        self._generation = -1
        self._borrowed: tuple[int, sqlite3.Connection] | None = None
        """While another store's thread runs this store's append in its transaction (group
        commit): that thread and its connection, through which this store's reads go then."""

    @property
    def writer(self) -> writers.Writer:
        """This process's one writer of the file (``writer.py``): its lock is held for every
        write transaction, and it counts the appends and the COMMITs that stored them."""
        if self._generation != writers.generation:  # first use, or a child after a fork
            self._writer = writers.writer_for(self._key)
            self._generation = writers.generation
        assert self._writer is not None
        return self._writer

    @classmethod
    def open(cls, path: Path, *, create: bool, make_folders: bool = False) -> SQLiteStore:
        """Open the log at ``path`` and bring its schema up to date. With ``create``, a missing
        file is started (its folder must exist unless ``make_folders``)."""
        created = _prepare(path, create=create, make_folders=make_folders)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _write_ahead(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, path, create=create)
            return cls(conn, path, created)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise storage_error(path, exc, "open") from None
            raise

    def close(self) -> None:
        self.conn.close()

    # -- append --------------------------------------------------------------------------------

    def append(
        self, kind: Kind, build: Callable[[Head], list[Row]], once: Once | None = None
    ) -> list[Row]:
        """See ``Store.append``. Appends made at once by this process's threads are stored
        together (group commit, ``writer.py``): in one transaction, one after the other, each
        under its own savepoint, so that one whose ``build`` fails takes nothing of the
        others with it; each caller gets its rows once that transaction is committed."""
        rows: list[Row] = self.writer.submit(_Append(self, kind, build, once), self._commit)
        return rows

    def _commit(self, batch: list[writers.Pending]) -> int:
        """Run the appends of ``batch`` in one transaction on this store's connection (the
        writer's lock is held) and finish each; how many COMMITs that took (0 or 1)."""
        todo = list(batch)
        conn = self.conn
        try:
            while todo:
                alone = len(todo) == 1  # no savepoint needed: its failure is the transaction's
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    for pending in todo:
                        pending.finish(error=storage_error(self.path, exc, "write"))
                    return 0
                stored: list[tuple[writers.Pending, list[Row]]] = []
                lost = False
                for pending in todo:
                    work: _Append = pending.work
                    try:
                        if not alone:
                            conn.execute("SAVEPOINT append")
                        rows = work.run(conn)
                        if not alone:
                            conn.execute("RELEASE append")
                    except BaseException as exc:  # its own: its caller's to handle
                        pending.finish(error=work.failure(exc))
                        if alone or not _undo_savepoint(conn):
                            lost = True  # the whole transaction is gone: again, without it
                            break
                        continue
                    stored.append((pending, rows))
                if lost:
                    _roll_back(conn)
                    todo = [pending for pending in todo if not pending.done]
                    continue
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    _roll_back(conn)
                    for pending, _ in stored:
                        pending.finish(error=storage_error(self.path, exc, "write"))
                    return 0
                for pending, rows in stored:  # durable now: their callers may be told
                    pending.finish(rows)
                return 1
            return 0
        except BaseException:  # interrupted: those not finished stay queued for the next leader
            _roll_back(conn)
            raise

    def extend(self, records: Iterable[tuple[Kind, Row]]) -> int:
        count = 0
        with self._write() as conn:
            seq, last = self._head(conn)
            for kind, row in records:
                if (row["seq"], row["prev_hash"]) != (seq + 1, last):
                    raise StorageError(
                        f"record {row['seq']} does not continue the chain of {self.location} "
                        f"(at record {seq})",
                        self.location,
                        "copy a whole log, in chain order, into an empty one",
                    )
                insert, columns = queries.insert_records(D, kind)
                conn.execute(insert, [row[c] for c in columns])
                _keep_worklist(conn, kind, [row])
                seq, last, count = row["seq"], row["hash"], count + 1
        return count

    def add_checkpoint(self, build: Callable[[int], Row]) -> Row:
        with self._write() as conn:
            row = build(conn.execute(queries.next_id(D, "checkpoints")).fetchone()[0])
            conn.execute(*queries.insert_checkpoint(D, row))
            return row

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE): writers queue, never
        deadlock; this process's on the writer's lock, other processes in SQLite's."""
        with self.writer.exclusive():
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(self.path, exc, "write") from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(self.path, exc, "write") from None
                raise

    @staticmethod
    def _head(conn: sqlite3.Connection) -> tuple[int, str]:
        row = conn.execute(_HEAD).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    # -- read ----------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """The connection to read through: the transaction's, while another store's thread
        runs this store's append in it (a ``build`` reading the log sees its transaction)."""
        borrowed = self._borrowed
        if borrowed is not None and borrowed[0] == threading.get_ident():
            return borrowed[1]
        return self.conn

    def _read(self, sql: str, params: Iterable[Any] = ()) -> Iterator[Row]:
        """The rows of one query, streamed, by column name."""
        cursor = self._conn().cursor()
        cursor.row_factory = None  # plain tuples, named here: a third cheaper than sqlite3.Row
        try:
            cursor.execute(sql, list(params))
            names = [column[0] for column in cursor.description]
            while batch := cursor.fetchmany(FETCH_BATCH):
                yield from (dict(zip(names, row, strict=True)) for row in batch)
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, "read") from None
        finally:
            # ProgrammingError: the log was closed first (the reader stopped early)
            with suppress(sqlite3.ProgrammingError):
                cursor.close()

    def summaries(self, filters: Filters, limit: int | None, offset: int = 0) -> list[Row]:
        return list(self._read(*queries.summaries(D, filters, limit, offset)))

    def count(self, filters: Filters) -> int:
        return int(next(self._read(*queries.count(D, filters)))["n"])

    # -- the worklist --------------------------------------------------------------------------

    def worklist_rows(
        self,
        filters: Filters,
        limit: int,
        offset: int,
        recent: Recent | None = None,
        first: bool = False,
    ) -> list[Row]:
        return list(self._read(*queries.worklist_rows(D, filters, limit, offset, recent, first)))

    def worklist_count(
        self, filters: Filters, recent: Recent | None = None, first: bool = False
    ) -> int:
        return int(next(self._read(*queries.worklist_count(D, filters, recent, first)))["n"])

    def worklist_patients(
        self, filters: Filters, recent: Recent, limit: int, offset: int
    ) -> list[Row]:
        return list(self._read(*queries.worklist_patients(D, filters, recent, limit, offset)))

    def worklist_others(
        self, filters: Filters, recent: Recent, patients: list[str], shown: int
    ) -> list[Row]:
        return list(self._read(*queries.worklist_others(D, filters, recent, patients, shown)))

    def worklist_patient_count(self, filters: Filters) -> int:
        return int(next(self._read(*queries.worklist_patient_count(D, filters)))["n"])

    def worklist_counts(self) -> dict[int, int]:
        return {row["severity"]: row["checks"] for row in self._read(*queries.worklist_counts(D))}

    def worklist_waiting(self, severity: int, answered_before: str) -> int:
        return int(next(self._read(*queries.worklist_waiting(D, severity, answered_before)))["n"])

    def next_check_after(self, patient: str, after: str) -> str | None:
        row = next(self._read(*queries.next_check_after(D, patient, after)), None)
        return None if row is None else row["next_at"]

    def session_rows(self, patient: str, session_id: str) -> list[Row]:
        return list(self._read(*queries.session_rows(D, patient, session_id)))

    def review_rows_of(self, entry_ids: list[int]) -> list[Row]:
        return list(self._read(*queries.review_rows_of(D, entry_ids))) if entry_ids else []

    def contact_rows_of(self, entry_ids: list[int]) -> list[Row]:
        return list(self._read(*queries.contact_rows_of(D, entry_ids))) if entry_ids else []

    # -- accounts and tokens -------------------------------------------------------------------

    def add_row(self, table: str, row: Row) -> int:
        insert = queries.insert_row(D, table, row)
        with self._write() as conn:
            try:
                cursor = conn.execute(*insert)
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    f"{table}: {exc}", str(self.path), "choose another name"
                ) from None
            return int(cursor.lastrowid or 0)

    def add_once(self, table: str, row: Row) -> bool:
        insert = queries.insert_row(D, table, row, unless_there=True)
        with self._write() as conn:
            return conn.execute(*insert).rowcount > 0

    def delete_rows(self, table: str, column: str, value: Any, *, older: bool = False) -> int:
        delete = queries.delete_rows(D, table, column, value, older=older)
        with self._write() as conn:
            return int(conn.execute(*delete).rowcount)

    def find_rows(self, table: str, column: str, value: Any) -> list[Row]:
        return list(self._read(*queries.find_rows(D, table, column, value)))

    def all_rows(self, table: str) -> list[Row]:
        return list(self._read(*queries.all_rows(D, table)))

    def update_row(self, table: str, row_id: int, changes: Row) -> bool:
        update = queries.update_row(D, table, row_id, changes)
        with self._write() as conn:
            return conn.execute(*update).rowcount > 0

    def alert_read(self, make: Callable[[queries.Dialect], queries.Query]) -> list[Row]:
        return list(self._read(*make(D)))

    def alert_write(self, make: Callable[[queries.Dialect], list[queries.Query]]) -> list[Row]:
        with self._write() as conn:
            cursor = None
            for sql, params in make(D):
                cursor = conn.execute(sql, params)
            if cursor is None or cursor.description is None:
                return []
            return [dict(row) for row in cursor.fetchall()]

    def entry_rows(self, filters: Filters, limit: int | None) -> Iterator[Row]:
        return self._read(*queries.entry_rows(D, filters, limit))

    def export_rows(self, filters: Filters, limit: int | None, *, whole: bool) -> Iterator[Row]:
        where, params = queries.where(D, filters)
        if whole:
            columns = [f"e.{c}" for c in names("entry") if c != "report_json"]
            extras = _WHOLE_EXTRAS
        else:
            columns, extras = [f"e.{c}" for c in CSV_STORED], _CSV_EXTRAS
        query = f"SELECT {', '.join(columns)}, {extras} FROM entries e{where} ORDER BY e.id"
        return self._read(*queries.limited(D, (query, params), limit))

    def entry_row(self, entry_id: int) -> Row | None:
        return next(self._read(*queries.entry_row(D, entry_id)), None)

    def review_rows(self, entry_id: int) -> list[Row]:
        return list(self._read(*queries.review_rows(D, entry_id)))

    def newest_of_patient(self, patient: str, limit: int) -> list[Row]:
        return list(self._read(*queries.newest_of_patient(D, patient, limit)))

    def patient_window(self, patient: str, since: str, before: str, limit: int) -> list[Row]:
        return list(self._read(*queries.patient_window(D, patient, since, before, limit)))

    def first_of_session(self, patient: str, session_id: str) -> Row | None:
        return next(self._read(*queries.first_of_session(D, patient, session_id)), None)

    def patient_counts(self, since: str) -> Iterator[Row]:
        return self._read(*queries.patient_counts(D, since))

    def patients_entries(self, first: str, last: str, since: str) -> Iterator[Row]:
        return self._read(*queries.patients_entries(D, first, last, since))

    def has_patient(self, patient: str) -> bool:
        return next(self._read(*queries.has_patient(D, patient)), None) is not None

    def patient_ids(self) -> list[str]:
        return [row["patient_id"] for row in self._read(*queries.patient_ids(D))]

    def patient_rows(self, patient: str) -> list[Row]:
        return list(self._read(*queries.patient_rows(D, patient)))

    def latest_patient_row(self, patient: str) -> Row | None:
        return next(self._read(*queries.patient_rows(D, patient, latest=True)), None)

    # -- verify --------------------------------------------------------------------------------

    def chain(self, after: int = 0) -> Iterator[tuple[Kind, Row]]:
        def records(kind: Kind) -> Iterator[tuple[Kind, Row]]:
            return ((kind, row) for row in self._read(*queries.records_after(D, kind, after)))

        return heapq.merge(*(records(kind) for kind in TABLES), key=lambda item: item[1]["seq"])

    def head(self) -> tuple[int, str]:
        try:
            return self._head(self._conn())
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, "read") from None

    def hash_at(self, seq: int) -> str | None:
        rows = list(self._read(*queries.hash_at(D, seq)))
        return rows[0]["hash"] if len(rows) == 1 else None

    def checkpoints(self) -> list[Row]:
        return list(self._read(*queries.checkpoints(D)))

    def integrity(self, full: bool = True) -> str:
        if not full:
            return NOT_CHECKED  # PRAGMA integrity_check and the worklist's read the whole file
        sqlite_says = "; ".join(
            str(row["integrity_check"]) for row in self._read("PRAGMA integrity_check")
        )
        if sqlite_says != "ok":
            return sqlite_says
        return self._worklist_problem() or "ok"

    def _worklist_problem(self) -> str | None:
        """Whether the worklist holds exactly the unreviewed entries that need action."""
        return queries.worklist_problem(next(self._read(*queries.worklist_check(D))))


@dataclasses.dataclass(frozen=True)
class _Append:
    """One append waiting for its transaction (``SQLiteStore.append``)."""

    store: SQLiteStore
    kind: Kind
    build: Callable[[Head], list[Row]]
    once: Once | None

    def run(self, conn: sqlite3.Connection) -> list[Row]:
        """Store the rows ``build`` makes from the head, in the transaction open on ``conn``
        (perhaps another store's, of the same file): the store's reads go through it
        meanwhile, for ``build``."""
        store = self.store
        if conn is not store.conn:
            store._borrowed = (threading.get_ident(), conn)
        try:
            if self.once is not None and _key_taken(conn, self.once):
                return []
            insert, columns = queries.insert_records(D, self.kind)
            seq, last = store._head(conn)
            next_id = conn.execute(queries.next_id(D, TABLES[self.kind])).fetchone()[0]
            rows = self.build(Head(seq, last, next_id))
            conn.executemany(insert, [[row[c] for c in columns] for row in rows])
            _keep_worklist(conn, self.kind, rows)
            if self.kind == "entry":  # the alerts the checks need, in their transaction
                for row in rows:
                    conn.execute(*queries.enqueue_alerts(D, row))
            if self.once is not None:
                conn.execute(*queries.insert_key(D, self.once, rows[0]["id"]))
            return rows
        finally:
            store._borrowed = None

    def failure(self, exc: BaseException) -> BaseException:
        """What its caller is told of ``exc``: storage failures as StorageErrors."""
        return (
            storage_error(self.store.path, exc, "write") if isinstance(exc, sqlite3.Error) else exc
        )


_HEAD = (
    " UNION ALL ".join(
        f"SELECT seq, hash FROM (SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1)"
        for table in TABLES.values()
    )
    + " ORDER BY seq DESC LIMIT 1"
)
"""The chain's last record: the latest of each record table's last."""


def _roll_back(conn: sqlite3.Connection) -> None:
    """End the transaction in progress, if SQLite has not ended it already, storing nothing."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _undo_savepoint(conn: sqlite3.Connection) -> bool:
    """Undo the failed append's savepoint; False when the transaction itself is gone (SQLite
    rolls the whole of it back after some failures: a full disk, an I/O error)."""
    if not conn.in_transaction:
        return False
    try:
        conn.execute("ROLLBACK TO append")
        conn.execute("RELEASE append")
    except sqlite3.Error:
        return False
    return True


def _identity(path: Path) -> str:
    """The file a log's path names, for its one writer in this process: the resolved path, and
    the file itself (another file later put in its place has another writer)."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return f"{os.path.realpath(path)}\0{info.st_dev}:{info.st_ino}"


def _key_taken(conn: sqlite3.Connection, once: Once) -> bool:
    """Whether ``once``'s idempotency key is stored (expired keys are deleted first)."""
    conn.execute(*queries.expire_keys(D, once))
    return conn.execute(*queries.key_taken(D, once)).fetchone() is not None


def _keep_worklist(conn: sqlite3.Connection, kind: Kind, rows: list[Row]) -> None:
    """Keep the worklist in step with the chain, in the transaction that appends ``rows``."""
    if kind == "entry":
        conn.executemany(  # each new check is the next check of its patient's earlier ones
            "UPDATE worklist SET next_at = :at WHERE patient_id = :patient "
            "AND reported_at < :at AND (next_at IS NULL OR next_at > :at)",
            [{"at": row["reported_at"], "patient": row["patient_id"]} for row in rows],
        )
        opened = [
            (row["id"], severity(row["outcome"], row["urgency"]), row["reported_at"],
             row["patient_id"], row["patient_id"], row["reported_at"])
            for row in rows
            if row["outcome"] != "continue"
        ]  # fmt: skip
        conn.executemany(
            "INSERT INTO worklist (entry_id, severity, reported_at, patient_id, next_at) "
            "VALUES (?, ?, ?, ?, (SELECT min(n.reported_at) FROM entries n "
            "WHERE n.patient_id = ? AND n.reported_at > ?))",
            opened,
        )
        _tally(conn, Counter(row[1] for row in opened))
    elif kind == "review":
        for row in rows:  # an entry's first review takes it off; later ones find nothing
            found = conn.execute(
                "SELECT severity FROM worklist WHERE entry_id = ?", (row["entry_id"],)
            ).fetchone()
            if found is not None:
                conn.execute("DELETE FROM worklist WHERE entry_id = ?", (row["entry_id"],))
                _tally(conn, {found[0]: -1})


def _tally(conn: sqlite3.Connection, changes: Mapping[int, int]) -> None:
    """Add ``changes`` (severity: how many more, or fewer) to the worklist's tally."""
    conn.executemany(
        "INSERT INTO worklist_tally (severity, checks) VALUES (?, ?) "
        "ON CONFLICT (severity) DO UPDATE SET checks = checks + excluded.checks",
        [(level, change) for level, change in changes.items() if change],
    )


_LAST_REVIEW = "(SELECT r.{0} FROM reviews r WHERE r.entry_id = e.id ORDER BY r.id DESC LIMIT 1)"
_REVIEW_OBJECT = ", ".join(f"'{f.name}', r.{f.name}" for f in dataclasses.fields(Review))
_CSV_EXTRAS = f"""
    (SELECT coalesce(group_concat(rule, ';'), '') FROM (SELECT json_extract(value, '$.rule')
        AS rule FROM json_each(e.decision_json, '$.reasons') ORDER BY key)) AS rules_fired,
    json_extract(e.report_json, '$.pain_during') AS pain_during,
    json_extract(e.report_json, '$.pain_now') AS pain_now,
    (SELECT count(*) FROM reviews r WHERE r.entry_id = e.id) AS review_count,
    {_LAST_REVIEW.format("verdict")} AS last_verdict,
    {_LAST_REVIEW.format("reviewer")} AS last_reviewer,
    {_LAST_REVIEW.format("reviewed_at")} AS last_reviewed_at,
    {_LAST_REVIEW.format("note")} AS last_note"""
_WHOLE_EXTRAS = f"""
    json_valid(e.decision_json) AS json_ok,
    (SELECT json_group_array(json_object({_REVIEW_OBJECT}))
        FROM (SELECT * FROM reviews r WHERE r.entry_id = e.id ORDER BY r.id) r) AS reviews_json,
    (SELECT json_group_array(json_object({queries.CONTACT_OBJECT}))
        FROM (SELECT * FROM contacts c WHERE c.entry_id = e.id ORDER BY c.id) c) AS contacts_json"""
"""What ``export_rows`` adds to the entries (``Store.export_rows``): SQLite's JSON functions do
in C, in the one query, what would otherwise take a query per entry and a parse of every row's
JSON in Python."""


# -- opening the file ------------------------------------------------------------------------------


def _prepare(path: Path, *, create: bool, make_folders: bool) -> bool:
    """Check what is at ``path`` before SQLite opens it; start a new log there if asked.
    Returns whether a new log is being started."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if not create:
            raise MissingLogError.nothing_at(path) from None
        _folder_for(path, make_folders)
        _create_private(path)
        return True
    except OSError as exc:
        raise storage_error(path, exc, "open") from None
    _refuse_non_file(path, info.st_mode)
    if info.st_size == 0:
        if not create:
            raise MissingLogError(
                f"{path} is an empty file, not a triage log",
                str(path),
                "give the path of an existing log with --db or TRIAGE_DB; "
                "a new log is started by 'triage check'",
            )
        _owner_only(path)
        return True
    return False


def _refuse_non_file(path: Path, mode: int) -> None:
    """What is at ``path`` is not a triage log (MissingLogError: it holds no record either)."""
    if stat.S_ISDIR(mode):
        raise MissingLogError(
            f"{path} is a folder, not a triage log file",
            str(path),
            f"give the log file's path with --db or TRIAGE_DB, for example {path / 'triage.db'}",
        )
    if not stat.S_ISREG(mode):
        raise MissingLogError(
            f"{path} is not a regular file, so it cannot be a triage log",
            str(path),
            "give the path of a triage log file with --db or TRIAGE_DB",
        )


def _folder_for(path: Path, make_folders: bool) -> None:
    """The log's folder must exist, unless it is the default one (made owner-only, 0700)."""
    folder = path.parent
    if folder.is_dir():
        return
    if make_folders and not folder.exists():
        missing = [p for p in [folder, *folder.parents] if not p.exists()]
        try:
            for new in reversed(missing):
                new.mkdir(mode=0o700)
                os.chmod(new, 0o700)
        except OSError as exc:
            raise storage_error(path, exc, "start") from None
        return
    problem = "is not a folder" if folder.exists() else "does not exist"
    raise MissingLogError(
        f"the folder {folder} {problem}, so no triage log can be started at {path}",
        str(path),
        f"check the path given with --db or TRIAGE_DB; to start a log there, "
        f"create the folder first: mkdir -p {folder}",
    )


def _create_private(path: Path) -> None:
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    except FileExistsError:  # another process started it at the same moment: one of the two
        _refuse_non_file(path, path.lstat().st_mode)  # migrates it, the other waits for that
    except OSError as exc:
        raise storage_error(path, exc, "start") from None


def _owner_only(path: Path) -> None:
    """Make the log and its WAL files readable and writable by their owner only."""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            os.chmod(file, 0o600)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise storage_error(path, exc, "start") from None


def _write_ahead(conn: sqlite3.Connection) -> None:
    """WAL mode, waiting as for any lock: SQLite answers "database is locked" at once, without
    its busy handler, when processes switch a new file to WAL together (16 app processes
    starting one log lost about 1 in 50)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11 and later
    return code == sqlite3.SQLITE_BUSY if code is not None else "locked" in str(exc)


def _migrate(conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StorageError(
            f"the triage log {path} was written by a newer version of triage (schema {version}; "
            f"this program knows up to {len(MIGRATIONS)})",
            str(path),
            "upgrade triage to read it",
        )
    if version == len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        if version == 0:
            _check_new(conn, path, create=create)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for number, (name, sql) in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, sql.split(";")):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations VALUES (?, ?, ?)", (number, name, now_utc()))
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _check_new(conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
    """A database without a schema version is initialised only if it is empty and we may."""
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if tables:
        raise MissingLogError(
            f"{path} is an SQLite database of another program, not a triage log",
            str(path),
            f"give the path of a triage log, {_OTHER_LOG}",
        )
    if not create:
        raise StorageError(
            f"{path} is an empty database, not a triage log",
            str(path),
            "give the path of an existing log with --db or TRIAGE_DB; "
            "a new log is started by 'triage check'",
        )
    _owner_only(path)
