"""Where a check's answers were given (issue 27: "the clinician sees where it came from"): the
entry's ``channel``, covered by its hash from canonical form 5, shown by ``log show`` and kept
by a check stopped early too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import triage
from tests.support.backends import tamper
from tests.support.cli_runs import run
from tests.support.helpers import report
from triage.checking.check import stop_early
from triage.evaluation.warning import early_warning
from triage.log import TriageLog
from triage.log.records import CHANNELS
from triage.pack.loading import default_pack

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

CHEST = {"chest_pain": "ongoing", "chest_pain_kind": "unsure"}


@pytest.fixture
def log(private_log: Path) -> Iterator[TriageLog]:
    with TriageLog(private_log) as opened:
        yield opened


def test_a_check_from_the_phone_says_so_and_the_hash_covers_it(
    private_log: Path | str,
) -> None:
    with TriageLog(private_log) as log:
        phoned = triage.check(report(patient_id="pt-ph"), log=log, channel="phone")
        plain = triage.check(report(patient_id="pt-ph"), log=log)
        assert phoned.entry is not None and plain.entry is not None
        entry = log.entry(phoned.entry.id)
        assert (entry.channel, entry.form) == ("phone", 5)
        assert entry.to_dict()["channel"] == "phone" and log.entry(plain.entry.id).channel == ""
        assert entry.channel_words == CHANNELS["phone"] and log.verify().ok
    shown = " ".join(run("log", "show", str(entry.id)).output.split())
    assert f"session {entry.session_id}, answered on a phone, through the patient's link" in shown
    tamper(private_log, "UPDATE entries SET channel = '' WHERE id = 1")
    with TriageLog(private_log, create=False) as log:
        result = log.verify()
    assert str(result.first_bad).startswith("entry 1 (record 1) does not match its hash")


def test_a_check_stopped_early_on_the_phone_is_recorded_with_its_channel(log: TriageLog) -> None:
    answers = {"patient_id": "pt-ph2", "hours_since_session": 0.5, **CHEST}
    warning = early_warning(answers, [], default_pack())
    assert warning is not None
    stopped = stop_early(warning, log=log, channel="phone")
    assert stopped.entry is not None and log.entry(stopped.entry.id).channel == "phone"


def test_an_unknown_channel_is_a_programming_error(log: TriageLog) -> None:
    decision = triage.evaluate(report(patient_id="pt-x"))
    with pytest.raises(ValueError, match="'fax' is not a channel"):
        log.record(decision, channel="fax")
    assert log.count() == 0
