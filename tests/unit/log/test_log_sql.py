"""The queries both backends share (triage/log/sql.py): the severity scale in SQL is the one in
triage.outcomes, on an SQLite file and on a PostgreSQL database (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.backends import Target, is_postgres, rows
from triage.log import TriageLog
from triage.log import sql as queries
from triage.log.sql import POSTGRES, SEVERITY, SQLITE
from triage.log.store import Store
from triage.outcomes import LEVELS, Level, severity

BACKENDS = True


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.key)
def test_the_severity_sql_agrees_with_the_outcomes(private_log: Target, level: Level) -> None:
    TriageLog(private_log).close()  # the schema, so that the query runs where the store's do
    outcome, urgency = level.outcome, level.urgency
    entry = "(SELECT CAST(? AS TEXT) AS outcome, CAST(? AS TEXT) AS urgency) AS e"
    found = rows(private_log, f"SELECT {SEVERITY} AS severity FROM {entry}", outcome, urgency)
    assert found == [{"severity": severity(outcome, urgency)}]
    if is_postgres(private_log):  # the function the triggers use (migration 2) agrees too
        sql = "SELECT severity(CAST(? AS TEXT), CAST(? AS TEXT)) AS severity"
        assert rows(private_log, sql, outcome, urgency) == [
            {"severity": severity(outcome, urgency)}
        ]


def test_an_outcome_no_triage_writes_counts_as_the_most_severe(private_log: Target) -> None:
    TriageLog(private_log).close()
    entry = "(SELECT CAST(? AS TEXT) AS outcome, CAST(NULL AS TEXT) AS urgency) AS e"
    found = rows(private_log, f"SELECT {SEVERITY} AS severity FROM {entry}", "edited")
    assert found == [{"severity": len(LEVELS) - 1}]


@pytest.mark.parametrize(
    "write",
    [
        lambda store: store.find_rows("entries", "id", 1),
        lambda store: store.all_rows("reviews"),
        lambda store: store.update_row("clinicians", 1, {"no_such_column": 1}),
        lambda store: store.delete_rows("clinicians", "name", "ada"),
        lambda store: store.add_once("checkpoints", {"id": 1}),
    ],
    ids=["find-chained", "all-chained", "unknown-column", "delete-kept", "add-chained"],
)
def test_both_backends_refuse_the_same_writes_beside_the_chain(
    private_log: Target, write: Callable[[Store], object]
) -> None:
    with TriageLog(private_log) as log, pytest.raises(ValueError, match=r"chain|column|delete"):
        write(log._store)


def test_a_statement_differs_between_the_databases_only_in_marks_and_table_names() -> None:
    row = {"name": "ada", "password_hash": "h", "created_at": "t"}
    sqlite_sql, sqlite_values = queries.insert_row(SQLITE, "clinicians", row)
    postgres_sql, postgres_values = queries.insert_row(POSTGRES, "clinicians", row)
    assert sqlite_values == postgres_values == list(row.values())
    assert postgres_sql == sqlite_sql.replace("?", "%s").replace("INTO ", "INTO triage.")
