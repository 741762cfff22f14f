"""Speed of triage.evaluate per backend, and of `triage check --answers FILE --json` as a process.

Targets (issue 2): at least 5,000 evaluations/s with durable-rules in one process, p99 under 1 ms;
`triage check --answers` under 300 ms median. Run: python benchmarks/bench_evaluate.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triage  # noqa: E402 - after the path is set, so that tests.support.helpers imports
from tests.support.helpers import load_case, vignette_files  # noqa: E402

ROUNDS = 100


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_engine(engine: str, reports: list[dict]) -> None:
    for report in reports:  # warm up: load the pack, compile and register the ruleset
        triage.evaluate(report, engine=engine)
    latencies = []
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for report in reports:
            t0 = time.perf_counter()
            triage.evaluate(report, engine=engine)
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    print(
        f"  {engine:<14} {len(latencies) / elapsed:>9,.0f} evaluations/s   "
        f"p50 {percentile(latencies, 0.5) * 1e3:.3f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms"
    )


def bench_history(engine: str, rounds: int = 300) -> None:
    """A follow-up with a three-week history of six earlier checks (all the history rules run)."""
    from datetime import timedelta

    from tests.support.helpers import NOW, report

    history = [
        triage.evaluate(
            report(
                patient_id="pt-b",
                reported_at=(NOW - timedelta(days=d)).isoformat(),
                session_id=f"s{d}",
                pain_during=3,
                pain_now=4,
                pain_site="muscle",
                pain_region="thigh",
            )
        )
        for d in (20, 16, 12, 8, 4, 2)
    ]
    current = report(
        patient_id="pt-b",
        reported_at=NOW.isoformat(),
        session_id="s2",
        hours_since_session=50,
        pain_during=3,
        pain_now=4,
        pain_site="muscle",
        pain_region="thigh",
        pain_trend="same",
    )
    triage.evaluate(current, history=history, engine=engine)
    latencies = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        triage.evaluate(current, history=history, engine=engine)
        latencies.append(time.perf_counter() - t0)
    print(
        f"  {engine:<14} {len(latencies) / sum(latencies):>9,.0f} evaluations/s   "
        f"p50 {percentile(latencies, 0.5) * 1e3:.3f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms"
    )


def bench_cli(*extra: str, runs: int = 15) -> None:
    triage_bin = Path(sys.executable).parent / "triage"
    case = vignette_files()[9]
    times = []
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "TRIAGE_DB": str(Path(folder) / "log.db")}
        for _ in range(runs):
            t0 = time.perf_counter()
            command = [str(triage_bin), "check", "--answers", str(case), "--json", *extra]
            subprocess.run(command, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - t0)
    print(
        f"  triage check --answers FILE --json {' '.join(extra)}: median "
        f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f}, "
        f"max {max(times) * 1e3:.0f}) over {runs} runs"
    )


def main() -> None:
    reports = [load_case(p)["report"] for p in vignette_files()]
    print(
        f"triage.evaluate over {len(reports)} vignettes x {ROUNDS} rounds "
        "(validation, rules, decision):"
    )
    for engine in ("durable-rules", "reference"):
        bench_engine(engine, reports)
    print("with a history of six earlier checks (history=):")
    for engine in ("durable-rules", "reference"):
        bench_history(engine)
    print("whole process (the check is logged to a temporary file, or not with --no-log):")
    bench_cli()
    bench_cli("--no-log")


if __name__ == "__main__":
    main()
