"""Replay of the triage log at scale (issue 14): `triage rules diff --log` over 1,000,000 checks.

Fills a log with generated checks (10,000 patients, 100 checks each over a year: a check every
few days, about a third of them follow-ups of the same session, so that each check has a few
earlier ones in the history window), then replays it under a copy of the bundled pack with L1
raised from pain_during >= 6 to >= 7, through the command line, and reports the time, the
checks per second and the peak memory of the command and of its worker processes.

The logged decisions come from a pool of generated reports each checked once without history
(filling the log with a real check each would take hours); the replay does the same work
whichever decisions are logged.

Run: python benchmarks/bench_replay.py [CHECKS] [FOLDER] [--workers N] [--engine NAME]
(default 1,000,000 checks in a temporary folder; an existing log in FOLDER is reused).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triage  # noqa: E402 - after the path is set, so that tests.support.generated_log imports
from tests.support.generated_log import random_report  # noqa: E402
from triage.log import TriageLog  # noqa: E402

PATIENTS = 10_000
BATCH = 10_000
SPAN_DAYS = 365
POOL = 3_000
L1 = "      pain_during: {at_least: 6}\n"


def decision_pool(rng: random.Random) -> list[triage.Decision]:
    """Generated reports, each checked once without history."""
    pool = []
    for _ in range(POOL):
        answers = {**random_report(rng), "patient_id": "pt-pool"}
        pool.append(triage.evaluate(answers, engine="reference"))
    return pool


def fill(log: TriageLog, total: int) -> float:
    """Append ``total`` checks; returns checks per second."""
    rng = random.Random(14)
    pool = decision_pool(rng)
    start = datetime(2025, 11, 21, tzinfo=timezone.utc)
    step = timedelta(days=SPAN_DAYS) / total
    sessions: dict[str, str] = {}
    began = time.perf_counter()
    for first in range(0, total, BATCH):
        batch = []
        for n in range(first, min(first + BATCH, total)):
            base = pool[rng.randrange(POOL)]
            patient = f"pt-{rng.randrange(PATIENTS):05d}"
            follow_up = patient in sessions and rng.random() < 0.35
            session = sessions[patient] if follow_up else f"s-{n:07d}"
            sessions[patient] = session
            answered = {
                "patient_id": patient,
                "session_id": session,
                "reported_at": start + step * n,
            }
            batch.append(
                base.model_copy(update={"report": base.report.model_copy(update=answered)})
            )
        log.record_many(batch)
        done = min(first + BATCH, total)
        if done % 100_000 == 0:
            print(f"  filled {done:,} ({done / (time.perf_counter() - began):,.0f}/s)", flush=True)
    return total / (time.perf_counter() - began)


def edited_pack(folder: Path) -> Path:
    """The bundled pack with L1 raised to pain_during >= 7."""
    pack = folder / "l1-at-7"
    if not pack.exists():
        shutil.copytree(ROOT / "rules", pack)
        rules = pack / "40-reduce-load.yaml"
        rules.write_text(rules.read_text().replace(L1, L1.replace("6", "7")))
    return pack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checks", nargs="?", type=int, default=1_000_000)
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--engine", default="reference")
    options = parser.parse_args()
    folder = options.folder or Path(tempfile.mkdtemp(prefix="triage-replay-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "replay.db"
    print(f"log: {path}")
    with TriageLog(path) as log:
        existing = log.checks_since("0001-01-01T00:00:00.000000Z")
        if existing:
            print(f"reusing the {existing:,} checks already there")
        else:
            print(f"filling {options.checks:,} checks ({PATIENTS:,} patients, {SPAN_DAYS} days):")
            print(f"  bulk fill: {fill(log, options.checks):,.0f} checks/s")
    print(f"file size: {path.stat().st_size / 1e9:.2f} GB")

    pack = edited_pack(folder)
    since = (datetime(2025, 11, 21) + timedelta(days=SPAN_DAYS * 0.9)).date().isoformat()
    for extra in (["--since", since], []):
        command = [
            str(Path(sys.executable).parent / "triage"),
            "rules", "diff", "--log", "--db", str(path), "--rules", str(pack),
            "--engine", options.engine, "--json", *extra,
        ]  # fmt: skip
        if options.workers:
            command += ["--workers", str(options.workers)]
        replay(command)
    print(f"cores: {len(os.sched_getaffinity(0))}")


MEASURED = """
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True)
sys.stdout.write(result.stdout)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
"""
"""Runs a command, and says the peak memory (kB) of the largest process it started, and the
CPU time (s) of all of them."""


def replay(command: list[str]) -> None:
    print("$ triage " + " ".join(command[1:]))
    began = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", MEASURED, *command], check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - began
    data = json.loads(run.stdout)
    peak_kb, cpu = run.stderr.strip().splitlines()[-1].split()
    peak = int(peak_kb) / 1024
    replayed = data["replayed"]
    print(
        f"  {replayed:,} checks replayed in {elapsed:.1f} s ({replayed / elapsed:,.0f} checks/s, "
        f"process start included); {data['changed']:,} would change"
    )
    print(
        f"  CPU time of all its processes: {float(cpu):.1f} s "
        f"({float(cpu) / max(replayed, 1) * 1e6:,.0f} us a check)"
    )
    for item in data["transitions"]:
        mark = "SAFETY " if item["safety"] else ""
        print(f"    {mark}{_level(item['from'])} -> {_level(item['to'])}: {item['checks']:,}")
    print(f"  peak memory of the largest process (the command or a worker): {peak:,.0f} MB")


def _level(level: dict[str, str | None]) -> str:
    return f"{level['outcome']} ({level['urgency']})" if level["urgency"] else str(level["outcome"])


if __name__ == "__main__":
    main()
