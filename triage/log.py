"""The triage log: every check recorded, reviews appended, nothing edited or deleted.

``TriageLog(path)`` records decisions and clinicians' reviews, answers the clinician's queries, and
verifies the hash chain. Every write is one transaction; values are always bound with ``?``.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._version import __version__
from .chain import ENTRY_FIELDS, GENESIS, REVIEW_FIELDS, record_hash
from .errors import StorageError, UsageError
from .history import Earlier, new_session_id
from .outcomes import severity
from .store import connect, default_log_path, now_utc, storage_error

if TYPE_CHECKING:
    from .decision import Decision

Verdict = Literal["accepted", "overridden"]
VERDICTS: tuple[Verdict, ...] = ("accepted", "overridden")


@dataclass(frozen=True)
class Review:
    id: int
    entry_id: int
    reviewed_at: str
    reviewer: str
    verdict: Verdict
    note: str


@dataclass(frozen=True)
class EntrySummary:
    """One row of ``triage log list``."""

    id: int
    recorded_at: str
    reported_at: str
    patient_id: str
    session_id: str
    outcome: str
    urgency: str | None
    top_reason: str
    last_verdict: Verdict | None = None

    @property
    def severity(self) -> int:
        return severity(self.outcome, self.urgency)


@dataclass(frozen=True)
class Entry(EntrySummary):
    """One check in full: the answers, the decision, the rules and engine, and the reviews."""

    report: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    pack: dict[str, str] = field(default_factory=dict)
    engine: dict[str, str] = field(default_factory=dict)
    program_version: str = ""
    reviews: tuple[Review, ...] = ()
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "reported_at": self.reported_at,
            "patient_id": self.patient_id,
            "session_id": self.session_id,
            "outcome": self.outcome,
            "urgency": self.urgency,
            "top_reason": self.top_reason,
            "rule_pack": self.pack,
            "engine": self.engine,
            "program_version": self.program_version,
            "decision": self.decision,
            "reviews": [vars(r) for r in self.reviews],
            "hash": self.hash,
        }


@dataclass(frozen=True)
class TrendPoint:
    reported_at: str
    pain_during: int
    pain_now: int
    outcome: str
    urgency: str | None


@dataclass(frozen=True)
class SessionRef:
    """A session in the log, for a follow-up: its id, when it ended, and the entry that reported it."""

    session_id: str
    ended_at: datetime
    entry_id: int


@dataclass(frozen=True)
class Verification:
    """The result of ``verify``: SQLite's integrity check and the hash chain."""

    integrity: str
    entries: int
    reviews: int
    head: str
    first_bad: str | None = None

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and self.first_bad is None


@dataclass(frozen=True)
class Filters:
    """Which entries to list or export. Dates are the days the answers were given (UTC), both
    ends included."""

    patient: str | None = None
    outcome: str | None = None
    urgency: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    unreviewed: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for column, value in (
            ("patient_id", self.patient),
            ("outcome", self.outcome),
            ("urgency", self.urgency),
        ):
            if value is not None:
                clauses.append(f"e.{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append("e.reported_at >= ?")
            params.append(_stamp(self.since, end=False))
        if self.until is not None:
            clauses.append("e.reported_at < ?")
            params.append(_stamp(self.until, end=True))
        if self.unreviewed:
            clauses.append("NOT EXISTS (SELECT 1 FROM reviews r WHERE r.entry_id = e.id)")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _stamp(moment: date | datetime, *, end: bool) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.combine(
            moment + timedelta(days=1) if end else moment, time(), timezone.utc
        )
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SUMMARY = (
    "SELECT e.id, e.recorded_at, e.reported_at, e.patient_id, e.session_id, e.outcome, e.urgency, e.top_reason, "
    "(SELECT verdict FROM reviews r WHERE r.entry_id = e.id ORDER BY r.id DESC LIMIT 1) "
    "FROM entries e"
)


class TriageLog:
    """The append-only, hash-chained log of checks and reviews in one SQLite file.

    ``path`` defaults to ``TRIAGE_DB`` or the user's data folder. With ``create=False`` a missing
    log is an error instead of being created (for reading commands).
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self.path = Path(path).expanduser() if path is not None else default_log_path()
        self._conn = connect(self.path, create=create)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> TriageLog:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def record(self, decision: Decision) -> EntrySummary:
        """Append one check; returns what was stored."""
        return self.record_many([decision])[0]

    def record_many(self, decisions: Iterable[Decision]) -> list[EntrySummary]:
        """Append several checks in one transaction: all are stored, or none."""
        with self._write() as conn:
            seq, prev = self._head(conn)
            next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM entries").fetchone()[0]
            stored = []
            for offset, decision in enumerate(decisions):
                row = _entry_row(decision, next_id + offset, seq + offset + 1, prev)
                row["hash"] = prev = record_hash("entry", row)
                _insert(conn, "entries", row)
                stored.append(EntrySummary(**_summary_fields(row)))
            return stored

    def review(self, entry_id: int, *, by: str, verdict: Verdict, note: str = "") -> Review:
        """Append a clinician's review of an entry; reviews are never edited."""
        if verdict not in VERDICTS:
            raise UsageError(
                f"a review's verdict is one of {', '.join(VERDICTS)}, not {verdict!r}",
                "accept the decision or override it",
            )
        if not by.strip():
            raise StorageError(
                "a review needs the reviewer's name", str(self.path), "give --by NAME"
            )
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM entries WHERE id = ?", (entry_id,)).fetchone() is None:
                raise StorageError(
                    f"there is no entry {entry_id} in {self.path}",
                    str(self.path),
                    "'triage log list' shows the entry ids",
                )
            seq, prev = self._head(conn)
            row = {
                "id": conn.execute("SELECT coalesce(max(id), 0) + 1 FROM reviews").fetchone()[0],
                "seq": seq + 1,
                "entry_id": entry_id,
                "reviewed_at": now_utc(),
                "reviewer": by.strip(),
                "verdict": verdict,
                "note": note,
                "prev_hash": prev,
            }
            row["hash"] = record_hash("review", row)
            _insert(conn, "reviews", row)
            return Review(row["id"], entry_id, row["reviewed_at"], row["reviewer"], verdict, note)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so writers queue, never deadlock."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(self.path, exc) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(self.path, exc) from None
                raise

    @staticmethod
    def _head(conn: sqlite3.Connection) -> tuple[int, str]:
        row = conn.execute(
            "SELECT seq, hash FROM (SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1) "
            "UNION ALL SELECT seq, hash FROM (SELECT seq, hash FROM reviews ORDER BY seq DESC LIMIT 1) "
            "ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    # -- reading ---------------------------------------------------------------------------

    def _read(self, sql: str, params: Iterable[Any] = ()) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self._conn.execute(sql, list(params))
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from None

    def entries(self, filters: Filters = Filters(), limit: int | None = 50) -> list[EntrySummary]:
        """Entries matching ``filters``, newest first."""
        where, params = filters.where()
        sql = f"{_SUMMARY}{where} ORDER BY e.id DESC" + (" LIMIT ?" if limit is not None else "")
        return [
            EntrySummary(*row)
            for row in self._read(sql, [*params, *([limit] if limit is not None else [])])
        ]

    def entry(self, entry_id: int) -> Entry:
        """One entry in full, with its reviews."""
        rows = list(
            self._read(
                f"SELECT {', '.join(ENTRY_FIELDS)}, hash FROM entries WHERE id = ?", [entry_id]
            )
        )
        if not rows:
            raise StorageError(
                f"there is no entry {entry_id} in {self.path}",
                str(self.path),
                "'triage log list' shows the entry ids",
            )
        return self._full(dict(zip([*ENTRY_FIELDS, "hash"], rows[0])))

    def _full(self, row: dict[str, Any]) -> Entry:
        reviews = tuple(
            Review(*r)
            for r in self._read(
                "SELECT id, entry_id, reviewed_at, reviewer, verdict, note FROM reviews WHERE entry_id = ? ORDER BY id",
                [row["id"]],
            )
        )
        return Entry(
            **_summary_fields(row),
            last_verdict=reviews[-1].verdict if reviews else None,
            report=json.loads(row["report_json"]),
            decision=json.loads(row["decision_json"]),
            pack={
                "name": row["pack_name"],
                "version": row["pack_version"],
                "sha256": row["pack_sha256"],
            },
            engine={"name": row["engine_name"], "version": row["engine_version"]},
            program_version=row["program_version"],
            reviews=reviews,
            hash=row["hash"],
        )

    def export(self, filters: Filters = Filters(), limit: int | None = None) -> Iterator[Entry]:
        """Every matching entry in full, oldest first, one at a time (never all in memory)."""
        where, params = filters.where()
        columns = [*ENTRY_FIELDS, "hash"]
        sql = (
            f"SELECT {', '.join('e.' + c for c in columns)} FROM entries e{where} ORDER BY e.id"
            + (" LIMIT ?" if limit is not None else "")
        )
        reader = self._conn.cursor()
        try:
            reader.execute(sql, [*params, *([limit] if limit is not None else [])])
            while batch := reader.fetchmany(500):
                for row in batch:
                    yield self._full(dict(zip(columns, row)))
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from None
        finally:
            try:
                reader.close()
            except sqlite3.ProgrammingError:
                pass  # the log was closed first (the reader stopped early)

    def trend(self, patient: str, limit: int = 30) -> list[TrendPoint]:
        """The patient's last ``limit`` checks, oldest first: pain during and now, and the outcome."""
        rows = list(
            self._read(
                "SELECT reported_at, report_json, outcome, urgency FROM entries "
                "WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
                [patient, limit],
            )
        )
        points = []
        for reported_at, report_json, outcome, urgency in reversed(rows):
            report = json.loads(report_json)
            points.append(
                TrendPoint(reported_at, report["pain_during"], report["pain_now"], outcome, urgency)
            )
        return points

    def history(
        self, patient: str, *, before: datetime, days: float, limit: int = 500
    ) -> list[Earlier]:
        """The patient's checks reported in the ``days`` before ``before``, oldest first, at most
        ``limit`` (the newest): what the history rules need, never the whole log."""
        since = _stamp(before - timedelta(days=days), end=False)
        rows = list(
            self._read(
                "SELECT report_json, session_id, outcome, urgency FROM entries "
                "WHERE patient_id = ? AND reported_at >= ? AND reported_at < ? ORDER BY reported_at DESC LIMIT ?",
                [patient, since, _stamp(before, end=False), limit],
            )
        )
        return [_earlier(*row) for row in reversed(rows)]

    def latest_session(self, patient: str) -> SessionRef | None:
        """The session of the patient's newest check, and when it ended (from its first report)."""
        newest = next(
            self._read(
                "SELECT session_id FROM entries WHERE patient_id = ? ORDER BY id DESC LIMIT 1",
                [patient],
            ),
            None,
        )
        if newest is None:
            return None
        entry_id, reported_at, report_json = next(
            self._read(
                "SELECT id, reported_at, report_json FROM entries WHERE patient_id = ? AND session_id = ? "
                "ORDER BY id LIMIT 1",
                [patient, newest[0]],
            )
        )
        hours = json.loads(report_json)["hours_since_session"]
        ended = datetime.fromisoformat(reported_at.replace("Z", "+00:00")) - timedelta(hours=hours)
        return SessionRef(newest[0], ended, entry_id)

    # -- verifying ---------------------------------------------------------------------------

    def verify(self) -> Verification:
        """Check SQLite's integrity and the whole hash chain; report the first bad record."""
        integrity = "; ".join(r[0] for r in self._read("PRAGMA integrity_check"))
        entries = self._read(
            f"SELECT 'entry', {', '.join(ENTRY_FIELDS)}, hash FROM entries ORDER BY seq"
        )
        reviews = self._read(
            f"SELECT 'review', {', '.join(REVIEW_FIELDS)}, hash FROM reviews ORDER BY seq"
        )
        expected_seq, prev, counts = 1, GENESIS, {"entry": 0, "review": 0}
        for row in heapq.merge(entries, reviews, key=lambda r: r[2]):
            kind = row[0]
            fields = ENTRY_FIELDS if kind == "entry" else REVIEW_FIELDS
            record = dict(zip([*fields, "hash"], row[1:]))
            problem = _chain_problem(kind, record, expected_seq, prev)
            if problem:
                return Verification(integrity, counts["entry"], counts["review"], prev, problem)
            counts[kind] += 1
            expected_seq, prev = expected_seq + 1, record["hash"]
        return Verification(integrity, counts["entry"], counts["review"], prev)


def _chain_problem(kind: str, record: dict[str, Any], expected_seq: int, prev: str) -> str | None:
    name = f"{kind} {record['id']} (record {record['seq']})"
    if record["seq"] != expected_seq:
        return f"record {expected_seq} is missing before {name}: a record was deleted"
    if record["prev_hash"] != prev:
        return f"{name} does not follow the record before it: a record was changed, replaced or deleted"
    if record_hash(kind, record) != record["hash"]:
        return f"{name} does not match its hash: it was edited outside triage"
    return None


def _earlier(report_json: str, session_id: str, outcome: str, urgency: str | None) -> Earlier:
    from .contract import parse_report  # the report models load only when history is read

    answers = {**json.loads(report_json), "session_id": session_id}  # the log's session id
    return Earlier(parse_report(answers), outcome, urgency)


def _summary_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of an EntrySummary (but the verdict), from a stored row."""
    names = (
        "id",
        "recorded_at",
        "reported_at",
        "patient_id",
        "session_id",
        "outcome",
        "urgency",
        "top_reason",
    )
    return {name: row[name] for name in names}


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
    )


def _compact(value: Any) -> str:
    """JSON as stored: in the contract's order, for people reading it; the hash covers the text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _entry_row(decision: Decision, entry_id: int, seq: int, prev: str) -> dict[str, Any]:
    report = decision.report
    alerts = [r for r in decision.reasons if r.outcome != "continue"]
    return {
        "id": entry_id,
        "seq": seq,
        "recorded_at": now_utc(),
        "reported_at": _stamp(report.reported_at, end=False),
        "patient_id": report.patient_id,
        "session_id": report.session_id or new_session_id(),
        "outcome": decision.outcome,
        "urgency": decision.urgency,
        "top_reason": alerts[0].title if alerts else "",
        "pack_name": decision.rule_pack.name,
        "pack_version": decision.rule_pack.version,
        "pack_sha256": decision.rule_pack.sha256,
        "engine_name": decision.engine.name,
        "engine_version": decision.engine.version,
        "program_version": __version__,
        "report_json": _compact(report.answers()),
        "decision_json": _compact(decision.to_dict()),
        "prev_hash": prev,
    }
