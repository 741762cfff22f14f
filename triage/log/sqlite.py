"""The SQLite backend of the triage log: one file, its schema migrations, plain SQL.

Standard library only. A new log file is created owner-only (0600); an existing empty file that
triage initialises is made owner-only too. The file is opened in WAL mode with a busy timeout and
durable commits; every write is one transaction taken at once (``BEGIN IMMEDIATE``), and values
are always bound with ``?``. The schema moves forward by numbered migrations recorded in the
database; a log written by a newer version of triage is refused, and so is an SQLite database
that is not a triage log.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import StorageError
from .chain import GENESIS
from .records import (
    REPLAY_COLUMNS,
    SUMMARY_FIELDS,
    TABLES,
    Filters,
    Kind,
    Row,
    lower_bound,
    names,
    now_utc,
    upper_bound,
)
from .store import Head

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

    def __init__(self, conn: sqlite3.Connection, path: Path, created: bool) -> None:
        self.conn = conn
        self.path = path
        self.location = str(path)
        self.created = created
        self._lock = threading.Lock()

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
            conn.execute("PRAGMA journal_mode = WAL")
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

    def append(self, kind: Kind, build: Callable[[Head], list[Row]]) -> list[Row]:
        table, columns = TABLES[kind], names(kind)
        insert = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        with self._write() as conn:
            seq, last = self._head(conn)
            next_id = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]
            rows = build(Head(seq, last, next_id))
            conn.executemany(insert, [[row[c] for c in columns] for row in rows])
            return rows

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE): writers queue, never deadlock."""
        with self._lock:
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
        last = " UNION ALL ".join(
            f"SELECT seq, hash FROM (SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1)"
            for table in TABLES.values()
        )
        row = conn.execute(f"{last} ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    # -- read ----------------------------------------------------------------------------------

    def _read(self, sql: str, params: Iterable[Any] = ()) -> Iterator[Row]:
        """The rows of one query, streamed, by column name."""
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, list(params))
            while batch := cursor.fetchmany(FETCH_BATCH):
                yield from (dict(row) for row in batch)
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, "read") from None
        finally:
            # ProgrammingError: the log was closed first (the reader stopped early)
            with suppress(sqlite3.ProgrammingError):
                cursor.close()

    def summaries(self, filters: Filters, limit: int | None) -> list[Row]:
        where, params = _where(filters)
        fields = ", ".join(f"e.{name}" for name in SUMMARY_FIELDS)
        last = "SELECT verdict FROM reviews r WHERE r.entry_id = e.id ORDER BY r.id DESC LIMIT 1"
        sql = f"SELECT {fields}, ({last}) AS last_verdict FROM entries e{where} ORDER BY e.id DESC"
        return list(self._read(*_limited(sql, params, limit)))

    def entry_rows(self, filters: Filters, limit: int | None) -> Iterator[Row]:
        where, params = _where(filters)
        sql = f"SELECT {_all('entry', 'e')} FROM entries e{where} ORDER BY e.id"
        return self._read(*_limited(sql, params, limit))

    def entry_row(self, entry_id: int) -> Row | None:
        sql = f"SELECT {_all('entry')} FROM entries WHERE id = ?"
        return next(self._read(sql, [entry_id]), None)

    def review_rows(self, entry_id: int) -> list[Row]:
        sql = f"SELECT {_all('review')} FROM reviews WHERE entry_id = ? ORDER BY id"
        return list(self._read(sql, [entry_id]))

    def newest_of_patient(self, patient: str, limit: int) -> list[Row]:
        sql = f"SELECT {_all('entry')} FROM entries WHERE patient_id = ? ORDER BY id DESC LIMIT ?"
        return list(self._read(sql, [patient, limit]))

    def patient_window(self, patient: str, since: str, before: str, limit: int) -> list[Row]:
        sql = (
            f"SELECT {_all('entry')} FROM entries WHERE patient_id = ? AND reported_at >= ? "
            "AND reported_at < ? ORDER BY reported_at DESC LIMIT ?"
        )
        return list(self._read(sql, [patient, since, before, limit]))

    def first_of_session(self, patient: str, session_id: str) -> Row | None:
        sql = (
            f"SELECT {_all('entry')} FROM entries WHERE patient_id = ? AND session_id = ? "
            "ORDER BY id LIMIT 1"
        )
        return next(self._read(sql, [patient, session_id]), None)

    def patient_counts(self, since: str) -> Iterator[Row]:
        sql = (
            "SELECT patient_id, count(*) AS entries FROM entries WHERE reported_at >= ? "
            "GROUP BY patient_id ORDER BY patient_id"
        )
        return self._read(sql, [since])

    def patients_entries(self, first: str, last: str, since: str) -> Iterator[Row]:
        sql = (
            f"SELECT {', '.join(REPLAY_COLUMNS)} FROM entries WHERE patient_id >= ? "
            "AND patient_id <= ? AND reported_at >= ? ORDER BY patient_id, reported_at, id"
        )
        return self._read(sql, [first, last, since])

    def has_patient(self, patient: str) -> bool:
        sql = (
            "SELECT 1 AS found FROM entries WHERE patient_id = ? "
            "UNION ALL SELECT 1 FROM patients WHERE patient_id = ? LIMIT 1"
        )
        return next(self._read(sql, [patient, patient]), None) is not None

    def patient_ids(self) -> list[str]:
        sql = (
            "SELECT patient_id FROM entries UNION SELECT patient_id FROM patients "
            "ORDER BY patient_id"
        )
        return [row["patient_id"] for row in self._read(sql)]

    def patient_rows(self, patient: str) -> list[Row]:
        sql = f"SELECT {_all('patient')} FROM patients WHERE patient_id = ? ORDER BY id"
        return list(self._read(sql, [patient]))

    def latest_patient_row(self, patient: str) -> Row | None:
        sql = f"SELECT {_all('patient')} FROM patients WHERE patient_id = ? ORDER BY id DESC"
        sql += " LIMIT 1"
        return next(self._read(sql, [patient]), None)

    # -- verify --------------------------------------------------------------------------------

    def chain(self) -> Iterator[tuple[Kind, Row]]:
        def records(kind: Kind) -> Iterator[tuple[Kind, Row]]:
            sql = f"SELECT {_all(kind)} FROM {TABLES[kind]} ORDER BY seq"
            return ((kind, row) for row in self._read(sql))

        return heapq.merge(*(records(kind) for kind in TABLES), key=lambda item: item[1]["seq"])

    def integrity(self) -> str:
        return "; ".join(
            str(row["integrity_check"]) for row in self._read("PRAGMA integrity_check")
        )


def _all(kind: Kind, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in names(kind))


def _limited(sql: str, params: list[Any], limit: int | None) -> tuple[str, list[Any]]:
    return (sql + " LIMIT ?", [*params, limit]) if limit is not None else (sql, params)


def _where(filters: Filters) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, value in filters.equal().items():
        clauses.append(f"e.{column} = ?")
        params.append(value)
    if filters.since is not None:
        clauses.append("e.reported_at >= ?")
        params.append(lower_bound(filters.since))
    end = upper_bound(filters.until) if filters.until is not None else None
    if end is not None:
        clauses.append("e.reported_at < ?")
        params.append(end)
    if filters.unreviewed:
        clauses.append("NOT EXISTS (SELECT 1 FROM reviews r WHERE r.entry_id = e.id)")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


# -- opening the file ------------------------------------------------------------------------------


def _prepare(path: Path, *, create: bool, make_folders: bool) -> bool:
    """Check what is at ``path`` before SQLite opens it; start a new log there if asked.
    Returns whether a new log is being started."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if not create:
            raise StorageError(
                f"there is no triage log at {path} yet",
                str(path),
                "it is created by the first 'triage check'; or give --db PATH",
            ) from None
        _folder_for(path, make_folders)
        _create_private(path)
        return True
    except OSError as exc:
        raise storage_error(path, exc, "open") from None
    _refuse_non_file(path, info.st_mode)
    if info.st_size == 0:
        if not create:
            raise StorageError(
                f"{path} is an empty file, not a triage log",
                str(path),
                "give the path of an existing log with --db or TRIAGE_DB; "
                "a new log is started by 'triage check'",
            )
        _owner_only(path)
        return True
    return False


def _refuse_non_file(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise StorageError(
            f"{path} is a folder, not a triage log file",
            str(path),
            f"give the log file's path with --db or TRIAGE_DB, for example {path / 'triage.db'}",
        )
    if not stat.S_ISREG(mode):
        raise StorageError(
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
    raise StorageError(
        f"the folder {folder} {problem}, so no triage log can be started at {path}",
        str(path),
        f"check the path given with --db or TRIAGE_DB; to start a log there, "
        f"create the folder first: mkdir -p {folder}",
    )


def _create_private(path: Path) -> None:
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
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
        raise StorageError(
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
