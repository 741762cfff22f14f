"""Evaluates the vignettes in a loop with durable-rules and checks every result against the
reference backend; run as a subprocess by tests/system/test_engine_stalls.py, so that a crash of the
C engine fails that test rather than the whole suite.

    python -m tests.support.probes.engine_loop --evaluations 20000 [--python-clock-step 11 --every
    701] python -m tests.support.probes.engine_loop --until-stdin-closes [--stop-inside-actions 3]

Runs a number of evaluations, or until its standard input closes (and then at least
--evaluations more, so that the last stall is followed by correct results), never for a time:
on a busy machine it does the same work, only more slowly. Prints "ready" once loaded, then one
JSON object: how many evaluations ran, how many gave other rules than the reference backend
without raising (silent failures: must be 0), how many raised EvaluationError, the stalls it
noticed (the process stopped for 10 s or more), the stops it made itself, how many evaluations
ran after the last stall or error, and how often the clocks that durable-rules reads were
stepped.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import sys
import threading
import time
from typing import Any

import triage
from tests.support.helpers import load_case, vignette_files
from triage.pack.history import build_context


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


def _stop_inside_actions(every: int, times: int, stops: dict[str, int]) -> None:
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
            stops["made"] += 1
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


STALL = 10.0
"""A pause of this many seconds between two evaluations is a stall (the tests stop the process for
11 s, past durable-rules' own 10 s action timeout); no load makes one evaluation take that long."""


def _closed_stdin() -> threading.Event:
    closed = threading.Event()

    def wait() -> None:
        sys.stdin.read()
        closed.set()

    threading.Thread(target=wait, daemon=True).start()
    return closed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evaluations", type=int, default=20_000)
    parser.add_argument("--until-stdin-closes", action="store_true")
    parser.add_argument("--python-clock-step", type=float, default=0)
    parser.add_argument("--every", type=int, default=701)
    parser.add_argument("--stop-inside-actions", type=int, default=0, metavar="TIMES")
    args = parser.parse_args(argv)
    stops = {"made": 0}
    if args.stop_inside_actions:
        _stop_inside_actions(500, args.stop_inside_actions, stops)
    clock = _python_clock(args.python_clock_step, args.every) if args.python_clock_step else {}

    from triage.engines import get_engine

    pack = triage.default_pack()
    durable, reference = get_engine("durable-rules"), get_engine("reference")
    contexts = [
        build_context(triage.parse_report(load_case(p)["report"]), None) for p in vignette_files()
    ]
    expected = [reference.fired(pack, c) for c in contexts]
    closed = _closed_stdin() if args.until_stdin_closes else None
    stats: dict[str, Any] = {
        "evaluations": 0,
        "silent_failures": 0,
        "raised": 0,
        "stalls": 0,
        "stops_made": 0,
        "correct_after_last_event": 0,
        "errors": [],
    }
    cases = itertools.cycle(zip(contexts, expected, strict=True))
    last = time.monotonic()
    print("ready", flush=True)  # after 'last' is set: a stop from now on is seen as a stall
    most = 20 * args.evaluations  # ends even if the engine never comes right again
    while (closed is not None and not closed.is_set()) or (
        stats["correct_after_last_event"] < args.evaluations and stats["evaluations"] < most
    ):
        context, want = next(cases)
        now = time.monotonic()
        if now - last >= STALL:
            stats["stalls"] += 1
            stats["correct_after_last_event"] = 0
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
    stats["stops_made"] = stops["made"]
    stats["python_clock"] = clock
    stats["c_clock"] = _c_clock()
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
