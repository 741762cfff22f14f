"""Scale of the triage log: fill it with generated entries, then time the clinician's queries.

Targets (issue 4): list --patient and list --unreviewed --outcome seek_medical_review each under
100 ms; appends at least 500 per second with durable commits (one transaction and fsync each).
Run: python benchmarks/bench_log.py [ENTRIES] [DB]   (default 1,000,000 entries in a temp folder)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triage  # noqa: E402 - after the path is set, so that tests.support.helpers imports
from tests.support.helpers import load_case, vignette_files  # noqa: E402
from triage.log import Filters, TriageLog  # noqa: E402

PATIENTS = 20_000
BATCH = 10_000
SPAN_DAYS = 730


def decision_pool() -> list[triage.Decision]:
    return [triage.evaluate(load_case(p)["report"]) for p in vignette_files()]


def fill(log: TriageLog, total: int) -> float:
    """Append ``total`` entries answered over two years; returns entries per second."""
    pool = decision_pool()
    start = datetime(2024, 11, 21, tzinfo=timezone.utc)
    step = timedelta(days=SPAN_DAYS) / total
    started = time.perf_counter()
    for first in range(0, total, BATCH):
        batch = []
        for n in range(first, min(first + BATCH, total)):
            base = pool[n % len(pool)]
            answered = {"patient_id": f"pt-{n % PATIENTS:05d}", "reported_at": start + step * n}
            batch.append(
                base.model_copy(update={"report": base.report.model_copy(update=answered)})
            )
        log.record_many(batch)
        done = min(first + BATCH, total)
        if done % 100_000 == 0:
            print(
                f"  filled {done:,} ({done / (time.perf_counter() - started):,.0f}/s)", flush=True
            )
    return total / (time.perf_counter() - started)


def median_ms(action, runs: int = 15) -> float:
    action()  # warm the cache once
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        action()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def cli_ms(*args: str, runs: int = 5) -> float:
    triage_bin = Path(sys.executable).parent / "triage"
    return median_ms(
        lambda: subprocess.run([str(triage_bin), *args], check=True, capture_output=True), runs
    )


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    folder = (
        Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="triage-bench-"))
    )
    path = folder / "bench.db"
    print(f"log: {path}")
    with TriageLog(path) as log:
        if log.entries(limit=1):
            print(f"reusing the {log.verify().entries:,} entries already there")
        else:
            print(
                f"filling {total:,} entries ({PATIENTS:,} patients, {SPAN_DAYS} days), "
                f"batches of {BATCH:,}:"
            )
            print(f"  bulk fill: {fill(log, total):,.0f} entries/s")
        print(f"file size: {path.stat().st_size / 1e9:.2f} GB")

        decision = decision_pool()[9]
        count = 1_000
        t0 = time.perf_counter()
        for _ in range(count):
            log.record(decision)
        appends = count / (time.perf_counter() - t0)
        print(f"append, one durable transaction each (synchronous=FULL): {appends:,.0f} entries/s")

        urgent = log.entries(Filters(outcome="seek_medical_review"), limit=2_000)
        t0 = time.perf_counter()
        for entry in urgent:
            log.review(entry.id, by="Dr Bench", verdict="accepted")
        reviews = len(urgent) / (time.perf_counter() - t0)
        print(
            f"review, one durable transaction each: {reviews:,.0f} reviews/s "
            f"(the newest {len(urgent):,} seek_medical_review entries are now reviewed)"
        )

        patient = "pt-00042"
        print("queries (library call, median of 15):")
        patient_ms = median_ms(lambda: log.entries(Filters(patient=patient)))
        print(f"  list --patient {patient}: {patient_ms:.2f} ms")
        unreviewed = Filters(outcome="seek_medical_review", unreviewed=True)
        unreviewed_ms = median_ms(lambda: log.entries(unreviewed))
        print(f"  list --unreviewed --outcome seek_medical_review: {unreviewed_ms:.2f} ms")
        middle = total // 2
        print(f"  show {middle}: {median_ms(lambda: log.entry(middle)):.2f} ms")

    since = (datetime(2024, 11, 21) + timedelta(days=SPAN_DAYS * 0.9)).date().isoformat()
    out = folder / "export.jsonl"
    t0 = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "triage"),
            "log",
            "export",
            "--db",
            str(path),
            "--format",
            "jsonl",
            "--since",
            since,
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    exported = sum(1 for _ in out.open())
    elapsed = time.perf_counter() - t0
    print(
        f"export --since {since} --format jsonl: {exported:,} entries in {elapsed:.1f} s "
        f"({exported / elapsed:,.0f}/s, {out.stat().st_size / 1e6:.0f} MB)"
    )
    print("whole commands (process start included, median of 5):")
    db = ("--db", str(path))
    patient_cli_ms = cli_ms("log", "list", *db, "--patient", patient)
    print(f"  triage log list --patient {patient}: {patient_cli_ms:.0f} ms")
    urgent_cli_ms = cli_ms("log", "list", *db, "--unreviewed", "--outcome", "seek_medical_review")
    print(f"  triage log list --unreviewed --outcome seek_medical_review: {urgent_cli_ms:.0f} ms")
    show_cli_ms = cli_ms("log", "show", *db, str(middle))
    print(f"  triage log show {middle}: {show_cli_ms:.0f} ms")
    print(f"  triage --version (process start alone): {cli_ms('--version'):.0f} ms")
    if os.environ.get("KEEP_BENCH_LOG") is None and len(sys.argv) <= 2:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
