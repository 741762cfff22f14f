"""The SQLite file behind the triage log: where it lives, how it is opened, its schema versions.

Standard library only. The file is created owner-only (0600, its new folders 0700), opened in WAL
mode with a busy timeout and durable commits, and its schema moves forward by numbered migrations
recorded in the database. A log written by a newer version of triage is refused.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import platformdirs

from .errors import StorageError

BUSY_TIMEOUT_MS = 30_000

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
)
"""Numbered from 1, in order. Never edit one that has shipped: add the next."""


def default_log_path() -> Path:
    """``TRIAGE_DB`` if set, else ``triage.db`` in the user's data folder
    (``$XDG_DATA_HOME/triage`` on Linux, the platform's equivalent elsewhere)."""
    configured = os.environ.get("TRIAGE_DB")
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("triage", appauthor=False) / "triage.db"


def now_utc() -> str:
    """The current time as stored: UTC, ISO 8601, microseconds, 'Z'."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _create_private(path: Path) -> None:
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def storage_error(path: Path, exc: BaseException) -> StorageError:
    """A StorageError that says what went wrong with the log file and what to do."""
    reason = str(exc)
    if isinstance(exc, PermissionError) or "readonly" in reason or "unable to open" in reason:
        return StorageError(
            f"cannot write the triage log {path}: {reason}",
            str(path),
            "check the file's permissions, or choose another file with --db or TRIAGE_DB",
        )
    if "not a database" in reason or "malformed" in reason:
        return StorageError(
            f"the triage log {path} is damaged or is not a triage log ({reason})",
            str(path),
            "restore it from a backup, or choose another file with --db or TRIAGE_DB",
        )
    return StorageError(
        f"the triage log {path} cannot be used: {reason}",
        str(path),
        "check the disk and the file, or choose another file with --db or TRIAGE_DB",
    )


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and if asked, create) the log and bring its schema up to date."""
    try:
        if not path.exists():
            if not create:
                raise StorageError(
                    f"there is no triage log at {path} yet",
                    str(path),
                    "it is created by the first 'triage check'; or give --db PATH",
                )
            _create_private(path)
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
        return conn
    except StorageError:
        raise
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(path, exc) from None


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
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
