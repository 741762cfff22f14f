"""Reading and tampering with a test's log behind triage's back, on either backend: as
``sqlite3`` on the file, or as the PostgreSQL superuser with the triggers off (what an
administrator with full access could do)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.pg_server import SUPERUSER
from triage.outcomes import LEVELS

Target = Path | str


def is_postgres(target: Target) -> bool:
    return isinstance(target, str) and target.startswith("postgres")


def _superuser(target: str) -> Any:
    import psycopg
    from psycopg.rows import dict_row

    parts = urlsplit(target)
    url = target.replace(f"//{parts.username}@", f"//{SUPERUSER}@", 1)
    conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    conn.execute("SET search_path = triage")
    conn.execute("SET session_replication_role = replica")  # triggers off: superuser only
    return conn


def _pg_sql(sql: str) -> str:
    return re.sub(r"\?", "%s", sql)


def tamper(target: Target, sql: str, *params: object, careful: bool = True) -> None:
    """Run ``sql`` (with ``?`` parameters) on the log as someone with full access. A careful
    tamperer then makes what is derived from the records agree with them, so that only the
    chain (and the checkpoints) can tell: the worklist and its tally, on both backends, and on
    PostgreSQL the chain's head row (``careful=False`` leaves them)."""
    if not is_postgres(target):
        with sqlite3.connect(target) as conn:
            conn.execute(sql, params)
            if (
                careful
                and conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'worklist_tally'"
                ).fetchone()
            ):
                for statement in REBUILD_WORKLIST:
                    conn.execute(statement)
        conn.close()
        return
    with _superuser(str(target)) as conn:
        conn.execute(_pg_sql(sql), params)
        if careful:
            conn.execute(
                "UPDATE chain_head SET (seq, hash) = (SELECT seq, hash FROM (SELECT seq, hash "
                "FROM entries UNION ALL SELECT seq, hash FROM reviews UNION ALL SELECT seq, hash "
                "FROM patients UNION ALL SELECT seq, hash FROM contacts "
                "UNION ALL SELECT 0, repeat('0', 64)) AS r ORDER BY seq DESC LIMIT 1)"
            )
            for statement in REBUILD_WORKLIST:
                conn.execute(statement)


_SEVERITY = (
    "CASE e.outcome || '/' || coalesce(e.urgency, '') "
    + " ".join(f"WHEN '{lv.outcome}/{lv.urgency or ''}' THEN {n}" for n, lv in enumerate(LEVELS))
    + f" ELSE {len(LEVELS) - 1} END"
)
REBUILD_WORKLIST = (
    "DELETE FROM worklist",
    "INSERT INTO worklist (entry_id, severity, reported_at, patient_id, next_at) "
    f"SELECT e.id, {_SEVERITY}, e.reported_at, e.patient_id, (SELECT min(n.reported_at) "
    "FROM entries n WHERE n.patient_id = e.patient_id AND n.reported_at > e.reported_at) "
    "FROM entries e WHERE e.outcome <> 'continue' "
    "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.entry_id = e.id)",
    "DELETE FROM worklist_tally",
    "INSERT INTO worklist_tally (severity, checks) "
    "SELECT severity, count(*) FROM worklist GROUP BY severity",
)
"""The worklist and its tally made again from the entries and reviews, as they now are."""


def rows(target: Target, sql: str, *params: object) -> list[dict[str, Any]]:
    """The rows of a query on the log, by column name."""
    if not is_postgres(target):
        conn = sqlite3.connect(target)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()
    with _superuser(str(target)) as conn:
        return list(conn.execute(_pg_sql(sql), params).fetchall())


def explain(target: str, sql: str, params: list[Any]) -> str:
    """PostgreSQL's plan of a query of the store (``%s`` parameters), with sequential scans off:
    what it reads when the tables are large (a table of a few rows is read whole otherwise)."""
    with _superuser(target) as conn:
        conn.execute("SET enable_seqscan = off")
        found = conn.execute("EXPLAIN " + sql, params).fetchall()
    return "\n".join(row["QUERY PLAN"] for row in found)
