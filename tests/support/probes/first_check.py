"""The app process of tests/system/test_log_reliability.py's simultaneous start, forked from a
server that has imported triage and loaded the bundled rules once (multiprocessing's forkserver): a
new process each time, without the second of start-up that spawning one costs."""

from __future__ import annotations

import os
from typing import Any

import triage
from tests.support.helpers import report
from triage.log import TriageLog

triage.default_pack()  # loaded in the server, before it forks


def start_and_record(path: str, ready: Any, go: Any, results: Any) -> None:
    """One app process's first check, on a log that may not exist yet."""
    decision = triage.evaluate(report(patient_id=f"pt-{os.getpid()}"))
    ready.put("ready")
    go.wait()
    try:
        with TriageLog(path) as log:
            log.record(decision)
        results.put("ok")
    except Exception as exc:  # reported to the test
        results.put(f"{type(exc).__name__}: {exc}")
