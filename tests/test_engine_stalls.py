"""A stalled process or a stepped clock must never make durable-rules answer "no rule fired".

Under durable-rules' own Python host, an action that completed more than 10 s (wall clock) after
it started was dropped and the session stayed leased: every later evaluation fired nothing, and
emergencies became "continue" (issue 8). Each test runs tests/probes/engine_loop.py in a
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

from tests.helpers import ROOT

PROBE = [sys.executable, "-m", "tests.probes.engine_loop"]


def _finish(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"the probe died (status {process.returncode}): {err[-2000:]}"
    return dict(json.loads(out.splitlines()[-1]))


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> dict[str, Any]:
    process = subprocess.Popen(
        [*PROBE, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    return _finish(process, timeout)


def _assert_every_result_right(stats: dict[str, Any]) -> None:
    assert stats["silent_failures"] == 0, stats
    assert stats["evaluations"] > 1000, stats
    assert stats["correct_after_last_event"] > 100, stats  # correct again after any trouble


def test_a_clock_step_in_durable_rules_python_host_changes_no_result() -> None:
    """The clock of durable-rules' Python host, stepped 11 s forward every 701 reads, is never
    read: no timeout of that host applies to our actions."""
    stats = _run("--seconds", "4", "--python-clock-step", "11", "--every", "701")
    _assert_every_result_right(stats)
    assert stats["raised"] == 0
    assert stats["python_clock"]["reads"] == 0


def test_a_clock_step_in_the_c_core_changes_no_result(tmp_path: Path) -> None:
    """time(), which the C core reads for its action leases, stepped 11 s forward every 701
    calls (an NTP step, a resumed virtual machine), many times during the run."""
    shim = tmp_path / "time_shim.so"
    source = ROOT / "tests" / "probes" / "time_shim.c"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim, source, "-ldl"], check=True)
    stats = _run("--seconds", "4", env={"LD_PRELOAD": str(shim), "TRIAGE_SHIM_STEP": "11"})
    _assert_every_result_right(stats)
    assert stats["raised"] == 0
    assert stats["c_clock"]["steps"] > 100, stats


def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def _resume_after(process: subprocess.Popen[str], seconds: float) -> None:
    time.sleep(seconds)
    process.send_signal(signal.SIGCONT)


def test_a_process_stopped_for_11_seconds_gives_the_same_results() -> None:
    """Stopped three times for 11 s right after durable-rules started a rule's action (the
    probe stops itself there), and twice more from outside, wherever the loop happens to be."""
    process = subprocess.Popen(
        [*PROBE, "--seconds", "4", "--stop-inside-actions", "3"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        for _ in range(3):
            deadline = time.monotonic() + 20  # no more actions start if the engine is stuck
            while not _stopped(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _stopped(process.pid):
                _resume_after(process, 11)
        for _ in range(2):
            time.sleep(0.5)
            process.send_signal(signal.SIGSTOP)
            _resume_after(process, 11)
        stats = _finish(process, timeout=120)
    finally:
        process.kill()
        process.wait()
    _assert_every_result_right(stats)
    assert stats["stalls"] == 5, stats
