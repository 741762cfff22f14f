"""The triage logs the guides' examples start from (tests/system/test_doc_examples.py): a block of
a page preceded by ``<!-- doc-test log: NAME -->`` runs on a fresh copy of the log built here.

- ``demo``: the clinic of docs/clinician.md. Six checks from the published vignettes, answered
  on 2026-11-21; four weekly checks of pt-0042 (pain during 2, 4, 6, 5); and a check of pt-0107
  that the questionnaire stopped early at ongoing pressure-like chest pain.
- ``follow-up``: a check of pt-0042 about a session that ended 50.5 hours ago, with pain now
  5/10 in the knee: ``triage check --follow-up`` then links to it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import triage
from tests.support.helpers import VIGNETTE_DIR, load_case, report
from triage.checking.check import stop_early
from triage.contract.reading import FIELDS
from triage.evaluation.warning import EarlyWarning, early_warning
from triage.log import TriageLog

ANSWERED = "2026-11-21T06:22:00+00:00"
VIGNETTES = ["p03-doms-30h", "p17-fever", "p06-snap-deadlift", "p10-chest-pain-ongoing",
             "p15-knee-mild-swelling", "p21-saddle-numbness"]  # fmt: skip
WEEKLY = [("2026-10-31", 2, 1), ("2026-11-07", 4, 3), ("2026-11-14", 6, 5), ("2026-11-21", 5, 4)]
KNEE = {"pain_region": "knee", "pain_site": "joint"}


def demo(path: Path) -> None:
    with TriageLog(path) as log:
        for name in VIGNETTES:
            vignette = load_case(VIGNETTE_DIR / f"{name}.yaml")["report"]
            triage.check({**vignette, "reported_at": ANSWERED}, log=log)
        for day, during, now in WEEKLY:
            at = f"{day}T06:22:00+00:00"
            answers = report(patient_id="pt-0042", reported_at=at, hours_since_session=0.5,
                             pain_during=during, pain_now=now, **KNEE)  # fmt: skip
            triage.check(answers, log=log)
        stop_early(_chest_pain_stopped_early(), log=log)


def _chest_pain_stopped_early() -> EarlyWarning:
    """pt-0107's answers up to ongoing pressure-like chest pain, where the questionnaire stops."""
    given = {"patient_id": "pt-0107", "hours_since_session": 0, "program_week": 5,
             "new_load": False, "session_rpe": 8, "reps_in_reserve": 2, "chest_pain": "ongoing",
             "chest_pain_kind": "pressure", "reported_at": "2026-11-22T06:13:00Z"}  # fmt: skip
    unknown = [name for name in FIELDS if name not in given]
    warning = early_warning(given, unknown)
    assert warning is not None
    return warning


def follow_up(path: Path) -> None:
    ended = datetime.now(timezone.utc) - timedelta(hours=50.5)
    answered = (ended + timedelta(hours=0.5)).isoformat()
    answers = report(patient_id="pt-0042", reported_at=answered, hours_since_session=0.5,
                     pain_during=5, pain_now=5, **KNEE)  # fmt: skip
    with TriageLog(path) as log:
        triage.check(answers, log=log)


STATES: dict[str, Callable[[Path], Any]] = {"demo": demo, "follow-up": follow_up}
