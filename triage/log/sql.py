"""The queries and write statements both log backends share, written once for a ``Dialect``.

A query is written here with ``?`` for each value and ``{t}`` before each table; ``Dialect``
turns those into what its database takes (``%s``, ``triage.``). Only those fixed tokens differ:
every value is bound, never formatted in. What truly differs stays in ``sqlite.py`` and
``postgres.py``: pragmas, locks, triggers, grants, the JSON functions of the export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from ..outcomes import LEVELS, severity
from .records import (
    REPLAY_COLUMNS,
    SUMMARY_FIELDS,
    TABLES,
    TRANSIENT,
    Filters,
    Kind,
    Row,
    lower_bound,
    names,
    table_names,
    upper_bound,
)

if TYPE_CHECKING:
    from .store import Once, Recent

Query = tuple[str, list[Any]]


@dataclass(frozen=True)
class Dialect:
    mark: str
    """A bound value's placeholder: ``?`` or ``%s``."""
    tables: str
    """What stands before a table's name: ``""`` or ``"triage."``."""
    no_limit: int | None
    """The ``LIMIT`` that means none: SQLite's -1, PostgreSQL's NULL."""

    def query(self, sql: str, params: list[Any] | None = None) -> Query:
        """``sql`` (written with ``?`` and ``{t}``) in this dialect, with its values."""
        return sql.replace("?", self.mark).replace("{t}", self.tables), list(params or [])


SQLITE = Dialect("?", "", -1)
POSTGRES = Dialect("%s", "triage.", None)

SEVERITY = (
    "CASE e.outcome || '/' || coalesce(e.urgency, '') "
    + " ".join(f"WHEN '{lv.outcome}/{lv.urgency or ''}' THEN {n}" for n, lv in enumerate(LEVELS))
    + f" ELSE {len(LEVELS) - 1} END"
)
"""An entry's severity (``outcomes.severity``) in SQL, from the one scale in ``outcomes``; an
outcome no triage writes counts as the most severe, so that an edited entry is shown rather than
hidden. (The migrations that made the worklist spell the scale out: they are history.)"""

_SUMMARY = ", ".join(f"e.{name}" for name in SUMMARY_FIELDS)
_LAST_VERDICT = (
    "(SELECT verdict FROM {t}reviews r WHERE r.entry_id = e.id ORDER BY r.id DESC LIMIT 1)"
)


def columns(kind: Kind, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in names(kind))


def limited(d: Dialect, query: Query, limit: int | None, offset: int = 0) -> Query:
    sql, params = query
    if limit is None and not offset:
        return sql, params
    return f"{sql} LIMIT {d.mark} OFFSET {d.mark}", [
        *params,
        d.no_limit if limit is None else limit,
        offset,
    ]


# -- filters -------------------------------------------------------------------------------------


def _where(filters: Filters) -> Query:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in filters.equal().items():
        clauses.append(f"e.{column} = ?")
        params.append(value)
    _answered(filters, "e", clauses, params)
    if filters.unreviewed:
        clauses.append("NOT EXISTS (SELECT 1 FROM {t}reviews r WHERE r.entry_id = e.id)")
    if filters.reviewed:
        clauses.append("EXISTS (SELECT 1 FROM {t}reviews r WHERE r.entry_id = e.id)")
    return _joined(clauses), params


def where(d: Dialect, filters: Filters) -> Query:
    """The filters over the entries (alias ``e``), as `` WHERE ...`` or nothing."""
    return d.query(*_where(filters))


def _worklist_where(filters: Filters) -> Query:
    """The filters over the worklist: the outcome and urgency as severities."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.patient is not None:
        clauses.append("w.patient_id = ?")
        params.append(filters.patient)
    if filters.outcome is not None or filters.urgency is not None:
        wanted = [
            n
            for n, lv in enumerate(LEVELS)
            if filters.outcome in (None, lv.outcome) and filters.urgency in (None, lv.urgency)
        ]
        clauses.append(f"w.severity IN ({', '.join('?' * len(wanted))})" if wanted else "1 = 0")
        params += wanted
    _answered(filters, "w", clauses, params)
    return _joined(clauses), params


def _answered(filters: Filters, alias: str, clauses: list[str], params: list[Any]) -> None:
    """Add the filters' time bounds on ``alias.reported_at`` to ``clauses`` and ``params``."""
    if filters.since is not None:
        clauses.append(f"{alias}.reported_at >= ?")
        params.append(lower_bound(filters.since))
    end = upper_bound(filters.until) if filters.until is not None else None
    if end is not None:
        clauses.append(f"{alias}.reported_at < ?")
        params.append(end)


def _joined(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


# -- entries -------------------------------------------------------------------------------------


def summaries(d: Dialect, filters: Filters, limit: int | None, offset: int = 0) -> Query:
    where_sql, params = _where(filters)
    sql = f"SELECT {_SUMMARY}, {_LAST_VERDICT} AS last_verdict FROM {{t}}entries e{where_sql}"
    return limited(d, d.query(sql + " ORDER BY e.id DESC", params), limit, offset)


def count(d: Dialect, filters: Filters) -> Query:
    where_sql, params = _where(filters)
    return d.query(f"SELECT count(*) AS n FROM {{t}}entries e{where_sql}", params)


def entry_rows(d: Dialect, filters: Filters, limit: int | None) -> Query:
    where_sql, params = _where(filters)
    sql = f"SELECT {columns('entry', 'e')} FROM {{t}}entries e{where_sql} ORDER BY e.id"
    return limited(d, d.query(sql, params), limit)


def entry_row(d: Dialect, entry_id: int) -> Query:
    return d.query(f"SELECT {columns('entry')} FROM {{t}}entries WHERE id = ?", [entry_id])


def session_rows(d: Dialect, patient: str, session_id: str) -> Query:
    sql = (
        f"SELECT {_SUMMARY}, {_LAST_VERDICT} AS last_verdict FROM {{t}}entries e "
        "WHERE e.session_id = ? AND e.patient_id = ? ORDER BY e.reported_at, e.id"
    )
    return d.query(sql, [session_id, patient])


def next_check_after(d: Dialect, patient: str, after: str) -> Query:
    sql = (
        "SELECT min(reported_at) AS next_at FROM {t}entries "
        "WHERE patient_id = ? AND reported_at > ?"
    )
    return d.query(sql, [patient, after])


def review_rows(d: Dialect, entry_id: int) -> Query:
    sql = f"SELECT {columns('review')} FROM {{t}}reviews WHERE entry_id = ? ORDER BY id"
    return d.query(sql, [entry_id])


def review_rows_of(d: Dialect, entry_ids: list[int]) -> Query:
    return _rows_of(d, "review", entry_ids)


def contact_rows_of(d: Dialect, entry_ids: list[int]) -> Query:
    return _rows_of(d, "contact", entry_ids)


CONTACT_OBJECT = ", ".join(
    f"'{key}', c.{column}"
    for key, column in (
        ("id", "id"), ("entry_id", "entry_id"), ("contacted_at", "contacted_at"),
        ("by", "contacted_by"), ("outcome", "outcome"), ("note", "note"),
    )
)  # fmt: skip
"""A contact as ``Contact.to_dict`` gives it, built by the database's JSON functions (the
export's one query)."""


def _rows_of(d: Dialect, kind: Kind, entry_ids: list[int]) -> Query:
    """The ``kind`` records (reviews, contacts) of the entries ``entry_ids``, oldest first."""
    marks = ", ".join("?" * len(entry_ids))
    table = TABLES[kind]
    sql = f"SELECT {columns(kind)} FROM {{t}}{table} WHERE entry_id IN ({marks}) ORDER BY id"
    return d.query(sql, list(entry_ids))


# -- a patient's history (newest first: by reported_at, then id) ---------------------------------


def newest_of_patient(d: Dialect, patient: str, limit: int) -> Query:
    sql = (
        f"SELECT {columns('entry')} FROM {{t}}entries WHERE patient_id = ? "
        "ORDER BY reported_at DESC, id DESC LIMIT ?"
    )
    return d.query(sql, [patient, limit])


def patient_window(d: Dialect, patient: str, since: str, before: str, limit: int) -> Query:
    sql = (
        f"SELECT {columns('entry')} FROM {{t}}entries WHERE patient_id = ? AND reported_at >= ? "
        "AND reported_at < ? ORDER BY reported_at DESC, id DESC LIMIT ?"
    )
    return d.query(sql, [patient, since, before, limit])


def first_of_session(d: Dialect, patient: str, session_id: str) -> Query:
    sql = (
        f"SELECT {columns('entry')} FROM {{t}}entries WHERE patient_id = ? AND session_id = ? "
        "ORDER BY reported_at, id LIMIT 1"
    )
    return d.query(sql, [patient, session_id])


def patient_counts(d: Dialect, since: str) -> Query:
    sql = (
        "SELECT patient_id, count(*) AS entries FROM {t}entries WHERE reported_at >= ? "
        "GROUP BY patient_id ORDER BY patient_id"
    )
    return d.query(sql, [since])


def patients_entries(d: Dialect, first: str, last: str, since: str) -> Query:
    sql = (
        f"SELECT {', '.join(REPLAY_COLUMNS)} FROM {{t}}entries WHERE patient_id >= ? "
        "AND patient_id <= ? AND reported_at >= ? ORDER BY patient_id, reported_at, id"
    )
    return d.query(sql, [first, last, since])


def has_patient(d: Dialect, patient: str) -> Query:
    sql = (
        "SELECT 1 AS found FROM {t}entries WHERE patient_id = ? "
        "UNION ALL SELECT 1 FROM {t}patients WHERE patient_id = ? LIMIT 1"
    )
    return d.query(sql, [patient, patient])


def patient_ids(d: Dialect) -> Query:
    sql = (
        "SELECT patient_id FROM {t}entries UNION SELECT patient_id FROM {t}patients "
        "ORDER BY patient_id"
    )
    return d.query(sql)


def patient_rows(d: Dialect, patient: str, *, latest: bool = False) -> Query:
    """A patient's records, oldest first; or with ``latest`` only the newest."""
    order = "ORDER BY id DESC LIMIT 1" if latest else "ORDER BY id"
    sql = f"SELECT {columns('patient')} FROM {{t}}patients WHERE patient_id = ? {order}"
    return d.query(sql, [patient])


# -- the worklist --------------------------------------------------------------------------------


# The worklist's order: first the recent part (``store.Recent``: unreviewed emergency and urgent
# checks of the last 24 hours), most severe first then newest; then the rest, most severe first
# then oldest. ``band`` is 0 in the first part, 1 in the rest.

_IN_RECENT = "w.severity >= ? AND w.reported_at >= ?"


def _order(alias: str) -> str:
    a = alias
    return (
        f"{a}.band, {a}.severity DESC, CASE WHEN {a}.band = 0 THEN {a}.reported_at END DESC, "
        f"CASE WHEN {a}.band = 0 THEN {a}.entry_id END DESC, {a}.reported_at, {a}.entry_id"
    )


def _part(filters: Filters, recent: Recent | None, first: bool) -> Query:
    """The filters over the worklist, and with ``recent`` only its part (``first``) or the rest."""
    where_sql, params = _worklist_where(filters)
    if recent is None:
        return where_sql, params
    clause = _IN_RECENT if first else "(w.severity < ? OR w.reported_at < ?)"
    where_sql += (" AND " if where_sql else " WHERE ") + clause
    return where_sql, [*params, recent.severity, recent.since]


def worklist_rows(
    d: Dialect,
    filters: Filters,
    limit: int,
    offset: int,
    recent: Recent | None = None,
    first: bool = False,
) -> Query:
    where_sql, params = _part(filters, recent, first)
    order = (
        "w.severity DESC, w.reported_at DESC, w.entry_id DESC"
        if recent is not None and first
        else "w.severity DESC, w.reported_at, w.entry_id"
    )
    sql = (
        f"SELECT {_SUMMARY}, CAST(NULL AS TEXT) AS last_verdict, w.next_at FROM {{t}}worklist w "
        f"JOIN {{t}}entries e ON e.id = w.entry_id{where_sql} "
        f"ORDER BY {order} LIMIT ? OFFSET ?"
    )
    return d.query(sql, [*params, limit, offset])


def worklist_count(
    d: Dialect, filters: Filters, recent: Recent | None = None, first: bool = False
) -> Query:
    where_sql, params = _part(filters, recent, first)
    return d.query(f"SELECT count(*) AS n FROM {{t}}worklist w{where_sql}", params)


def _placed(filters: Filters, recent: Recent) -> Query:
    """``WITH`` the matching worklist rows ``placed`` in the order, each with its ``band``, its
    ``place`` among its patient's (1: the first) and its patient's ``open_checks``."""
    where_sql, params = _worklist_where(filters)
    ranked = (
        "SELECT w.entry_id, w.patient_id, w.severity, w.reported_at, w.next_at, "
        f"CASE WHEN {_IN_RECENT} THEN 0 ELSE 1 END AS band FROM {{t}}worklist w{where_sql}"
    )
    placed = (
        f"SELECT r.*, row_number() OVER (PARTITION BY r.patient_id ORDER BY {_order('r')}) "
        "AS place, count(*) OVER (PARTITION BY r.patient_id) AS open_checks FROM ranked r"
    )
    return f"WITH ranked AS ({ranked}), placed AS ({placed}) ", [
        recent.severity,
        recent.since,
        *params,
    ]


_PLACED_SUMMARY = (
    f"SELECT {_SUMMARY}, CAST(NULL AS TEXT) AS last_verdict, p.next_at, p.band, p.place, "
    "p.open_checks FROM placed p JOIN {t}entries e ON e.id = p.entry_id"
)


def worklist_patients(
    d: Dialect, filters: Filters, recent: Recent, limit: int, offset: int
) -> Query:
    with_sql, params = _placed(filters, recent)
    sql = f"{with_sql}{_PLACED_SUMMARY} WHERE p.place = 1 ORDER BY {_order('p')} LIMIT ? OFFSET ?"
    return d.query(sql, [*params, limit, offset])


def worklist_others(
    d: Dialect, filters: Filters, recent: Recent, patients: list[str], shown: int
) -> Query:
    with_sql, params = _placed(filters, recent)
    sql = (
        f"{with_sql}{_PLACED_SUMMARY} WHERE p.place > 1 AND p.place <= ? "
        f"AND p.patient_id IN ({', '.join('?' * len(patients))}) ORDER BY p.patient_id, p.place"
    )
    return d.query(sql, [*params, shown + 1, *patients])


def worklist_patient_count(d: Dialect, filters: Filters) -> Query:
    where_sql, params = _worklist_where(filters)
    return d.query(
        f"SELECT count(DISTINCT w.patient_id) AS n FROM {{t}}worklist w{where_sql}", params
    )


def worklist_counts(d: Dialect) -> Query:
    return d.query("SELECT severity, checks FROM {t}worklist_tally")


def worklist_waiting(d: Dialect, severity: int, answered_before: str) -> Query:
    sql = (
        "SELECT count(*) AS n FROM {t}worklist WHERE severity = ? AND reported_at < ? "
        "AND next_at IS NULL"
    )
    return d.query(sql, [severity, answered_before])


def worklist_check(d: Dialect) -> Query:
    """One row: how many unreviewed entries that need action the worklist is ``missing``, how
    many rows it holds that it should not (``extra``), and how many of its tally's counts are
    ``wrong``."""
    expected = (
        f"SELECT e.id, {SEVERITY}, e.reported_at, e.patient_id, "
        "(SELECT min(n.reported_at) FROM {t}entries n WHERE n.patient_id = e.patient_id "
        "AND n.reported_at > e.reported_at) FROM {t}entries e "
        "WHERE e.outcome <> 'continue' "
        "AND NOT EXISTS (SELECT 1 FROM {t}reviews r WHERE r.entry_id = e.id)"
    )
    held = "SELECT entry_id, severity, reported_at, patient_id, next_at FROM {t}worklist"
    counted = (
        "SELECT severity, count(*) FROM {t}worklist GROUP BY severity "
        "EXCEPT SELECT severity, checks FROM {t}worklist_tally WHERE checks <> 0"
    )
    tallied = (
        "SELECT severity, checks FROM {t}worklist_tally WHERE checks <> 0 "
        "EXCEPT SELECT severity, count(*) FROM {t}worklist GROUP BY severity"
    )
    return d.query(
        f"SELECT (SELECT count(*) FROM ({expected} EXCEPT {held}) AS m) AS missing, "
        f"(SELECT count(*) FROM ({held} EXCEPT {expected}) AS x) AS extra, "
        f"(SELECT count(*) FROM ({counted}) AS c) + (SELECT count(*) FROM ({tallied}) AS t) "
        "AS wrong"
    )


def worklist_problem(found: dict[str, Any]) -> str | None:
    """What ``worklist_check``'s row says is wrong, in words; None if nothing."""
    missing, extra, wrong = found["missing"], found["extra"], found["wrong"]
    if wrong and not missing and not extra:
        return "the worklist's counts do not match the worklist: they were edited outside triage"
    if not missing and not extra:
        return None
    return (
        f"the worklist does not match the log ({missing} unreviewed entries that need action "
        f"missing from it, {extra} rows it should not hold): it was edited outside triage"
    )


# -- the chain -----------------------------------------------------------------------------------


def records_after(d: Dialect, kind: Kind, after: int) -> Query:
    sql = f"SELECT {columns(kind)} FROM {{t}}{TABLES[kind]} WHERE seq > ? ORDER BY seq"
    return d.query(sql, [after])


def hash_at(d: Dialect, seq: int) -> Query:
    found = " UNION ALL ".join(
        f"SELECT hash FROM {{t}}{table} WHERE seq = ?" for table in TABLES.values()
    )
    return d.query(found, [seq] * len(TABLES))


def checkpoints(d: Dialect) -> Query:
    return d.query("SELECT * FROM {t}checkpoints ORDER BY id")


# -- writing -----------------------------------------------------------------------------------

BESIDE = ("clinicians", "api_tokens", "patient_links", "cds_cards", *TRANSIENT)
"""The tables beside the chain that ``add_row`` and its kin may write (never a chained one)."""


def _beside(table: str) -> str:
    if table not in BESIDE:
        raise ValueError(f"{table!r} is not a table beside the chain")
    return table


def _insert(d: Dialect, table: str, columns: Sequence[str], tail: str = "") -> str:
    marks = ", ".join("?" * len(columns))
    return d.query(f"INSERT INTO {{t}}{table} ({', '.join(columns)}) VALUES ({marks}){tail}")[0]


@cache  # once per dialect and kind: every append asks
def insert_records(d: Dialect, kind: Kind) -> tuple[str, tuple[str, ...]]:
    """The statement that appends records of ``kind`` to the chain, and its columns in order."""
    columns = names(kind)
    return _insert(d, TABLES[kind], columns), columns


@cache
def next_id(d: Dialect, table: str) -> str:
    """The id after the largest in ``table`` (the chain's writers hold its lock)."""
    return d.query(f"SELECT coalesce(max(id), 0) + 1 FROM {{t}}{table}")[0]


def expire_keys(d: Dialect, once: Once) -> Query:
    return d.query("DELETE FROM {t}idempotency_keys WHERE created_at < ?", [once.expired_before])


def key_taken(d: Dialect, once: Once) -> Query:
    return d.query("SELECT 1 FROM {t}idempotency_keys WHERE key_hash = ?", [once.key_hash])


def insert_key(d: Dialect, once: Once, entry_id: int) -> Query:
    columns = ("key_hash", "body_hash", "entry_id", "created_at")
    return _insert(d, "idempotency_keys", columns), [
        once.key_hash,
        once.body_hash,
        entry_id,
        once.at,
    ]


def insert_checkpoint(d: Dialect, row: Row) -> Query:
    return _insert(d, "checkpoints", list(row)), list(row.values())


def insert_row(d: Dialect, table: str, row: Row, *, unless_there: bool = False) -> Query:
    """A row added to a table beside the chain; with ``unless_there``, nothing when a row
    with the same unique key is there."""
    columns = [c for c in table_names(_beside(table)) if c in row]
    tail = " ON CONFLICT DO NOTHING" if unless_there else ""
    return _insert(d, table, columns, tail), [row[c] for c in columns]


def delete_rows(d: Dialect, table: str, column: str, value: Any, *, older: bool) -> Query:
    if table not in TRANSIENT or column not in table_names(table):
        raise ValueError(f"cannot delete rows of {table} by {column!r}")
    return d.query(f"DELETE FROM {{t}}{table} WHERE {column} {'<' if older else '='} ?", [value])


def find_rows(d: Dialect, table: str, column: str, value: Any) -> Query:
    columns = table_names(_beside(table))
    if column not in columns:
        raise ValueError(f"{table} has no column {column!r}")
    sql = f"SELECT {', '.join(columns)} FROM {{t}}{table} WHERE {column} = ? ORDER BY {columns[0]}"
    return d.query(sql, [value])


def all_rows(d: Dialect, table: str) -> Query:
    columns = table_names(_beside(table))
    return d.query(f"SELECT {', '.join(columns)} FROM {{t}}{table} ORDER BY {columns[0]}")


def update_row(d: Dialect, table: str, row_id: int, changes: Row) -> Query:
    unknown = set(changes) - set(table_names(_beside(table)))
    if unknown or not changes:
        raise ValueError(f"cannot set {sorted(unknown)} in {table}")
    assignments = ", ".join(f"{column} = ?" for column in changes)
    sql = f"UPDATE {{t}}{table} SET {assignments} WHERE id = ?"
    return d.query(sql, [*changes.values(), row_id])


# -- alerts: subscriptions and the outbox (``alerts.py``), beside the chain ---------------------

_ALERT = (
    "o.id, o.subscription_id, o.entry_id, o.created_at, o.status, o.attempts, o.due_at, "
    "o.last_error, o.last_attempt_at, o.delivered_at, s.kind, s.target, e.patient_id, "
    "e.outcome, e.urgency, e.recorded_at FROM {t}alert_outbox o "
    "JOIN {t}alert_subscriptions s ON s.id = o.subscription_id "
    "JOIN {t}entries e ON e.id = o.entry_id"
)
"""An outbox row with what its delivery needs of the subscription and the check (never the
subscription's secret: ``alert_with_secret`` adds it)."""
_SUBSCRIPTION = "id, kind, target, min_severity, created_at, removed_at"


def enqueue_alerts(d: Dialect, row: Row) -> Query:
    """The outbox rows of the check ``row``: one per subscription at or below its severity."""
    sql = (
        "INSERT INTO {t}alert_outbox (subscription_id, entry_id, created_at, status, attempts, "
        "due_at) SELECT s.id, ?, ?, 'pending', 0, ? FROM {t}alert_subscriptions s "
        "WHERE s.removed_at IS NULL AND s.min_severity <= ? ORDER BY s.id"
    )
    at = row["recorded_at"]
    return d.query(sql, [row["id"], at, at, severity(row["outcome"], row["urgency"])])


def add_subscription(d: Dialect, row: Row) -> list[Query]:
    """Store a subscription with the next id; then read that id."""
    insert = (
        "INSERT INTO {t}alert_subscriptions (id, kind, target, secret, min_severity, created_at) "
        "SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ? FROM {t}alert_subscriptions"
    )
    values = [row["kind"], row["target"], row["secret"], row["min_severity"], row["created_at"]]
    return [
        d.query(insert, values),
        d.query("SELECT max(id) AS id FROM {t}alert_subscriptions"),
    ]


def subscriptions(d: Dialect, subscription_id: int | None = None) -> Query:
    """The subscriptions not removed (or the one ``subscription_id``, even removed), without
    their secrets."""
    if subscription_id is None:
        sql = f"SELECT {_SUBSCRIPTION} FROM {{t}}alert_subscriptions WHERE removed_at IS NULL"
        return d.query(sql + " ORDER BY id")
    sql = f"SELECT {_SUBSCRIPTION}, secret FROM {{t}}alert_subscriptions WHERE id = ?"
    return d.query(sql, [subscription_id])


def remove_subscription(d: Dialect, subscription_id: int, at: str) -> list[Query]:
    """Mark a subscription removed and cancel its alerts not yet sent; then read it, if this
    removed it."""
    return [
        d.query(
            "UPDATE {t}alert_subscriptions SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
            [at, subscription_id],
        ),
        d.query(
            "UPDATE {t}alert_outbox SET status = 'cancelled', claimed_by = NULL "
            "WHERE subscription_id = ? AND status = 'pending'",
            [subscription_id],
        ),
        d.query(
            f"SELECT {_SUBSCRIPTION} FROM {{t}}alert_subscriptions WHERE id = ? AND removed_at = ?",
            [subscription_id, at],
        ),
    ]


def alerts_due(d: Dialect, now: str) -> Query:
    sql = "SELECT count(*) AS n FROM {t}alert_outbox WHERE status = 'pending' AND due_at <= ?"
    return d.query(sql, [now])


def claim_alerts(d: Dialect, now: str, until: str, token: str, limit: int) -> list[Query]:
    """Claim the alerts due at ``now`` (at most ``limit``, the longest due first) for the
    deliverer ``token`` until ``until``, then read them with their secrets. The condition is
    in the outer ``WHERE`` too, so that a second deliverer waiting on the same rows skips them
    once the first has claimed them (PostgreSQL re-reads it on the row's new version)."""
    claim = (
        "UPDATE {t}alert_outbox SET due_at = ?, claimed_by = ? "
        "WHERE status = 'pending' AND due_at <= ? AND id IN (SELECT id FROM {t}alert_outbox "
        "WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?)"
    )
    read = (
        f"SELECT {_ALERT.replace(' FROM ', ', s.secret FROM ', 1)} "
        "WHERE o.claimed_by = ? AND o.status = 'pending' ORDER BY o.id"
    )
    return [d.query(claim, [until, token, now, now, limit]), d.query(read, [token])]


def alert_sent(d: Dialect, alert_id: int, token: str, at: str) -> list[Query]:
    sql = (
        "UPDATE {t}alert_outbox SET status = 'delivered', attempts = attempts + 1, "
        "delivered_at = ?, last_attempt_at = ?, claimed_by = NULL "
        "WHERE id = ? AND claimed_by = ?"
    )
    return [d.query(sql, [at, at, alert_id, token])]


def alert_not_sent(
    d: Dialect, alert_id: int, token: str, at: str, error: str, status: str, due_at: str
) -> list[Query]:
    sql = (
        "UPDATE {t}alert_outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
        "last_attempt_at = ?, due_at = ?, claimed_by = NULL WHERE id = ? AND claimed_by = ?"
    )
    return [d.query(sql, [status, error, at, due_at, alert_id, token])]


def alerts(
    d: Dialect, *, statuses: Sequence[str] = (), entry_id: int | None = None, limit: int = 100
) -> Query:
    """Outbox rows (with ``statuses``, or of the check ``entry_id``), oldest first."""
    clauses: list[str] = []
    params: list[Any] = []
    if statuses:
        clauses.append(f"o.status IN ({', '.join('?' * len(statuses))})")
        params += list(statuses)
    if entry_id is not None:
        clauses.append("o.entry_id = ?")
        params.append(entry_id)
    return d.query(f"SELECT {_ALERT}{_joined(clauses)} ORDER BY o.id LIMIT ?", [*params, limit])


def alert_counts(d: Dialect) -> Query:
    return d.query("SELECT status, count(*) AS n FROM {t}alert_outbox GROUP BY status")
