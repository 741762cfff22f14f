"""Reading and tampering with a test's log behind triage's back, on either backend: as
``sqlite3`` on the file, or as the PostgreSQL superuser with the append-only triggers off (what
an administrator with full access could do)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.pg_server import SUPERUSER

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


def tamper(target: Target, sql: str, *params: object, fix_head: bool = True) -> None:
    """Run ``sql`` (with ``?`` parameters) on the log as someone with full access. On
    PostgreSQL the chain's head row is then set to the newest record, as a careful tamperer
    would (``fix_head=False`` leaves it)."""
    if not is_postgres(target):
        with sqlite3.connect(target) as conn:
            conn.execute(sql, params)
        conn.close()
        return
    with _superuser(str(target)) as conn:
        conn.execute(_pg_sql(sql), params)
        if fix_head:
            conn.execute(
                "UPDATE chain_head SET (seq, hash) = (SELECT seq, hash FROM (SELECT seq, hash "
                "FROM entries UNION ALL SELECT seq, hash FROM reviews UNION ALL SELECT seq, hash "
                "FROM patients UNION ALL SELECT 0, repeat('0', 64)) AS r ORDER BY seq DESC LIMIT 1)"
            )


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
