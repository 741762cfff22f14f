"""The queries both backends share (triage/log/sql.py): the severity scale in SQL is the one in
triage.outcomes, on an SQLite file and on a PostgreSQL database (conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.backends import Target, is_postgres, rows
from triage.log import TriageLog
from triage.log.sql import SEVERITY
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
