"""A stalled process or a stepped clock must never make durable-rules answer "no rule fired".

Under durable-rules' own Python host, an action that completed more than 10 s (wall clock) after
it started was dropped and the session stayed leased: every later evaluation fired nothing, and
emergencies became "continue" (issue 8). Each test runs tests/support/probes/engine_loop.py in a
subprocess, so that a crash of the C engine fails the test, not the suite; the probe compares
every durable-rules result with the reference backend's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import ROOT

pytestmark = pytest.mark.slow

PROBE = [sys.executable, "-m", "tests.support.probes.engine_loop"]


STOP_SECONDS = 11  # past durable-rules' own 10 s action timeout
WAIT = 300  # for a state the test arranged: generous, as a busy machine is slow, never wrong


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The probe's figures, once it has finished (its standard input is closed first)."""
    out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, f"the probe died (status {process.returncode}): {err[-2000:]}"
    return dict(json.loads(out.splitlines()[-1]))


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The probe, loaded and evaluating (it has printed "ready")."""
    process = subprocess.Popen(
        [*PROBE, *args], cwd=ROOT, text=True, env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _assert_every_result_right(stats: dict[str, Any]) -> None:
    assert stats["silent_failures"] == 0, stats
    assert stats["evaluations"] > 1000, stats
    assert stats["correct_after_last_event"] >= 1000, stats  # correct again after any trouble


def test_a_clock_step_in_durable_rules_python_host_changes_no_result() -> None:
    """The clock of durable-rules' Python host, stepped 11 s forward every 701 reads, is never
    read: no timeout of that host applies to our actions."""
    process = _start("--evaluations", "5000", "--python-clock-step", "11", "--every", "701")
    stats = _finish(process)
    _assert_every_result_right(stats)
    assert stats["raised"] == 0
    assert stats["python_clock"]["reads"] == 0


def test_a_clock_step_in_the_c_core_changes_no_result(tmp_path: Path) -> None:
    """time(), which the C core reads for its action leases, stepped 11 s forward every 701
    calls (an NTP step, a resumed virtual machine), many times during the run: 20,000
    evaluations read it about 90,000 times."""
    shim = tmp_path / "time_shim.so"
    source = ROOT / "tests" / "support" / "probes" / "time_shim.c"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim, source, "-ldl"], check=True)
    process = _start(
        "--evaluations", "20000", env={"LD_PRELOAD": str(shim), "TRIAGE_SHIM_STEP": "11"}
    )
    stats = _finish(process)
    _assert_every_result_right(stats)
    assert stats["raised"] == 0
    assert stats["c_clock"]["steps"] > 100, stats


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from its third field (the state); index 11 is user CPU time, in ticks."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _state(pid: int) -> str:
    return _stat(pid)[0]


def _wait_until_it_ran(process: subprocess.Popen[str], ticks: int = 5) -> None:
    """Until the process has used ``ticks`` more of CPU (50 ms: hundreds of evaluations), so that
    two stops from outside are two stalls, not one long one, however late it is scheduled."""
    start = int(_stat(process.pid)[11])
    deadline = time.monotonic() + WAIT
    while int(_stat(process.pid)[11]) < start + ticks:
        assert time.monotonic() < deadline, f"the probe did not run for {WAIT} s"
        time.sleep(0.02)


def _wait_until_stopped(process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while _state(process.pid) != "T":
        assert process.poll() is None, "the probe ended before it stopped itself"
        assert time.monotonic() < deadline, f"the probe did not stop itself in {WAIT} s"
        time.sleep(0.05)


def _stop_for(process: subprocess.Popen[str], seconds: float) -> None:
    """Stop the running process for ``seconds``, then resume it and let it run a little."""
    process.send_signal(signal.SIGSTOP)
    _wait_until_stopped(process)
    time.sleep(seconds)
    process.send_signal(signal.SIGCONT)
    _wait_until_it_ran(process)


def test_a_process_stopped_for_11_seconds_gives_the_same_results() -> None:
    """One probe stops itself three times for 11 s right after durable-rules started a rule's
    action (at its 500th, 1,000th and 1,500th action); another is stopped twice from outside,
    wherever its loop happens to be. Both run until told to finish, so every stop lands while
    they evaluate, however busy the machine; the two run side by side to halve the wait."""
    inside = _start("--until-stdin-closes", "--evaluations", "2000", "--stop-inside-actions", "3")
    outside = _start("--until-stdin-closes", "--evaluations", "2000")
    try:
        for stop in range(3):
            _wait_until_stopped(inside)
            if stop < 2:
                _stop_for(outside, STOP_SECONDS)  # meanwhile, as 'inside' waits too
                outside_waited = STOP_SECONDS
            else:
                outside_waited = 0
            time.sleep(STOP_SECONDS - outside_waited)
            inside.send_signal(signal.SIGCONT)
        results = {"inside": _finish(inside), "outside": _finish(outside)}  # closes stdin
    finally:
        for process in (inside, outside):
            process.kill()
            process.wait()
    for stats in results.values():
        _assert_every_result_right(stats)
    assert results["inside"]["stops_made"] == 3, results
    assert results["inside"]["stalls"] >= 3, results
    assert results["outside"]["stalls"] >= 2, results
