"""Soak: one million evaluations with durable-rules in one process; the resident memory is
sampled every 100,000 evaluations and must stay flat (a few MB of growth at most). Every result
is compared with the reference backend's every 1,000th evaluation.

    python benchmarks/soak_durable.py [--evaluations 1000000] [--full]

By default each evaluation is the engine call alone (the facts, the C core, the sentinel check);
--full runs triage.evaluate (validation and the decision too), about three times slower.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triage  # noqa: E402 - after the path is set, so that tests.support.helpers imports
from tests.support.helpers import load_case, vignette_files  # noqa: E402
from triage.engines import get_engine  # noqa: E402
from triage.pack.history import build_context  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evaluations", type=int, default=1_000_000)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    pack = triage.default_pack()
    reports = [triage.parse_report(load_case(p)["report"]) for p in vignette_files()]
    contexts = [build_context(r, None) for r in reports]
    durable, reference = get_engine("durable-rules"), get_engine("reference")
    expected = [reference.fired(pack, c) for c in contexts]
    for context in contexts:  # warm up
        durable.fired(pack, context)
    start, base = time.perf_counter(), rss_mb()
    print(f"{args.evaluations:,} evaluations ({'triage.evaluate' if args.full else 'engine'})")
    print(f"{'evaluations':>12}  {'RSS MB':>8}  {'growth MB':>9}  {'per second':>10}")
    print(f"{0:>12,}  {base:>8.1f}  {0:>9.1f}")
    wrong = 0
    for n in range(1, args.evaluations + 1):
        index = n % len(contexts)
        if args.full:
            fired = {r.rule for r in triage.evaluate(reports[index], pack=pack).reasons}
        else:
            fired = durable.fired(pack, contexts[index])
        if n % 1000 == 0 and not args.full and fired != expected[index]:
            wrong += 1
        if n % 100_000 == 0:
            rate = n / (time.perf_counter() - start)
            print(f"{n:>12,}  {rss_mb():>8.1f}  {rss_mb() - base:>9.1f}  {rate:>10,.0f}")
    print(f"results that differed from the reference backend: {wrong}")


if __name__ == "__main__":
    main()
