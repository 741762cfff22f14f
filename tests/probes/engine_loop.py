"""Evaluates the vignettes in a loop with durable-rules and checks every result against the
reference backend; run as a subprocess by tests/test_engine_stalls.py, so that a crash of the
C engine fails that test rather than the whole suite.

    python -m tests.probes.engine_loop --seconds 20 [--python-clock-step 11 --every 701]

Prints one JSON object: how many evaluations ran, how many gave other rules than the reference
backend without raising (silent failures: must be 0), how many raised EvaluationError, the
stalls it noticed (the process stopped for more than 5 s), how many evaluations ran after the
last stall or error, and how often the clocks that durable-rules reads were stepped.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import time
from typing import Any

import triage
from tests.helpers import load_case, vignette_files
from triage.history import build_context


def _python_clock(step: float, every: int) -> dict[str, int]:
    """Wrap the wall clock durable-rules' Python host reads, stepping it forward."""
    counts = {"reads": 0, "steps": 0}
    try:
        import durable.engine as host
    except ImportError:
        return counts
    real = host._unix_now

    def stepped() -> float:
        counts["reads"] += 1
        if counts["reads"] % every == 0:
            counts["steps"] += 1
        return float(real() + counts["steps"] * step)

    host._unix_now = stepped
    return counts


def _c_clock() -> dict[str, int]:
    """What the LD_PRELOAD time() shim did, if it is loaded."""
    try:
        lib = ctypes.CDLL(None)
        return {"steps": lib.triage_shim_steps(), "calls": lib.triage_shim_calls()}
    except AttributeError:
        return {"steps": 0, "calls": 0}


def _stop_inside_actions(every: int, times: int) -> None:
    """Stop this process (SIGSTOP, for the test to resume) while a rule's action is in flight:
    right after the C core started it (``start_action_for_state`` returned a result) or, were
    durable-rules' own Python host in use, right after that host started its clock for it
    (``Closure``). Every ``every``-th such moment, ``times`` times: the worst moments to stall."""
    import os
    import signal

    import durable.engine as host
    import durable_rules_engine as core

    starts = {"n": 0}

    def started() -> None:
        starts["n"] += 1
        if starts["n"] % every == 0 and starts["n"] // every <= times:
            os.kill(os.getpid(), signal.SIGSTOP)

    real_start = core.start_action_for_state

    def start(*args: Any) -> Any:
        result = real_start(*args)
        if result is not None:
            started()
        return result

    real_closure = host.Closure.__init__

    def closure(self: Any, *args: Any) -> None:
        real_closure(self, *args)
        started()

    core.start_action_for_state = start
    host.Closure.__init__ = closure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--python-clock-step", type=float, default=0)
    parser.add_argument("--every", type=int, default=701)
    parser.add_argument("--stop-inside-actions", type=int, default=0, metavar="TIMES")
    args = parser.parse_args(argv)
    if args.stop_inside_actions:
        _stop_inside_actions(5000, args.stop_inside_actions)
    clock = _python_clock(args.python_clock_step, args.every) if args.python_clock_step else {}

    from triage.engines import get_engine

    pack = triage.default_pack()
    durable, reference = get_engine("durable-rules"), get_engine("reference")
    contexts = [
        build_context(triage.parse_report(load_case(p)["report"]), None) for p in vignette_files()
    ]
    expected = [reference.fired(pack, c) for c in contexts]
    print("ready", flush=True)
    stats: dict[str, Any] = {
        "evaluations": 0,
        "silent_failures": 0,
        "raised": 0,
        "stalls": 0,
        "correct_after_last_event": 0,
        "errors": [],
    }
    deadline = time.monotonic() + args.seconds
    last = time.monotonic()
    while time.monotonic() < deadline:
        for context, want in zip(contexts, expected, strict=True):
            now = time.monotonic()
            if now - last > 5:
                stats["stalls"] += 1
                stats["correct_after_last_event"] = 0
                deadline += now - last  # a stall does not count towards the running time
            last = now
            stats["evaluations"] += 1
            try:
                got = durable.fired(pack, context)
            except triage.EvaluationError as exc:
                stats["raised"] += 1
                stats["correct_after_last_event"] = 0
                if len(stats["errors"]) < 5:
                    stats["errors"].append(str(exc)[:200])
                continue
            if got != want:
                stats["silent_failures"] += 1
                stats["correct_after_last_event"] = 0
            else:
                stats["correct_after_last_event"] += 1
    stats["python_clock"] = clock
    stats["c_clock"] = _c_clock()
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
