"""`triage log review` with several ids, and ``TriageLog.review_many`` under it: one review of
each, appended in one transaction (all or none), by the one rule; the chain still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_runs import P03, P10, P17, run
from triage.errors import NotFoundError, ReviewError
from triage.log import TriageLog

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)


@pytest.fixture
def filled(private_log: Path) -> Path:
    for path in (P03, P17, P10):
        assert run("check", "--answers", path).exit_code == 0
    return private_log


def test_several_ids_get_the_same_review_and_the_chain_verifies(filled: Path) -> None:
    result = run("log", "review", "1", "2", "3", "--by", "Dr Ada", "--accept", "--note", "Seen.")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Review {n} recorded: entry {n} accepted by Dr Ada." for n in (1, 2, 3)
    ]
    with TriageLog(filled) as log:
        for entry_id in (1, 2, 3):
            assert [(r.verdict, r.note) for r in log.entry(entry_id).reviews] == [
                ("accepted", "Seen.")
            ]
        verified = log.verify(full=True)
        assert verified.ok and verified.reviews == 3


def test_one_bad_id_or_a_broken_rule_records_none(filled: Path) -> None:
    missing = run("log", "review", "1", "99", "--by", "Dr Ada", "--accept")
    assert missing.exit_code != 0 and "no entry 99" in missing.stderr
    override = run("log", "review", "1", "2", "--by", "Dr Ada", "--override")
    assert override.exit_code != 0 and "reason" in override.stderr
    assert run("log", "review", "--by", "Dr Ada", "--accept").exit_code == 2  # no id
    with TriageLog(filled) as log:
        assert log.verify().reviews == 0
        with pytest.raises(NotFoundError):
            log.review_many([1, 99], by="Dr Ada", verdict="accepted")
        with pytest.raises(ReviewError) as error:
            log.review_many([1, 2], by="Dr Ada", verdict="overridden", note="")
        assert {p.field for p in error.value.problems} == {"reason", "note"}
        assert log.verify().reviews == 0
        done = log.review_many([2, 2, 1], by="Dr Ada", verdict="accepted")  # twice: once
        assert [r.entry_id for r in done] == [2, 1] and log.verify(full=True).ok
