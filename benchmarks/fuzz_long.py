"""The long fuzz run: many malformed reports (through the library's reader and the CLI's
parser) and mutated rule packs, each of which must give a decision or a clean error; prints the
counts. The suite runs the same strategies, bounded (tests/unit/rules/test_fuzz.py).

    python benchmarks/fuzz_long.py [--reports 20000] [--packs 2000]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

import triage  # noqa: E402 - after the path is set, so that tests.support.helpers imports
from tests.support.fuzz import mutate_pack, report_texts  # noqa: E402
from tests.support.helpers import load_case, vignette_files  # noqa: E402
from triage.contract.reading import read_answers  # noqa: E402
from triage.engines import get_engine  # noqa: E402
from triage.pack.history import build_context  # noqa: E402


def fuzz_reports(count: int) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(report_texts())
    def one(case: tuple[str, bytes]) -> None:
        start = time.perf_counter()
        try:
            data, source = read_answers("-", case[1])
            triage.evaluate(triage.parse_report(data, source), engine="reference")
            counts["decision"] += 1
        except (triage.InputError, triage.ReportError) as error:
            counts[type(error).__name__] += 1
        counts["slowest ms"] = max(counts["slowest ms"], int((time.perf_counter() - start) * 1000))

    one()
    return counts


def fuzz_packs(count: int) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    source = Path(triage.default_pack().path)
    reports = [triage.parse_report(load_case(p)["report"]) for p in vignette_files()]
    durable, reference = get_engine("durable-rules"), get_engine("reference")
    with tempfile.TemporaryDirectory() as work:
        for seed in range(count):
            folder = Path(work) / f"p{seed}"
            mutate_pack(source, folder, seed)
            try:
                pack = triage.load_pack(folder)
            except (triage.PackError, triage.InputError):
                counts["refused with a located error"] += 1
                continue
            counts["loaded"] += 1
            for report in reports:
                context = build_context(report, None)
                if durable.fired(pack, context) != reference.fired(pack, context):
                    counts["ENGINES DISAGREE"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--packs", type=int, default=2_000)
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"malformed reports: {dict(fuzz_reports(args.reports))}")
    print(f"mutated packs: {dict(fuzz_packs(args.packs))}")
    print(
        f"{time.perf_counter() - started:.0f} s; no traceback, crash or hang (else it stops here)"
    )


if __name__ == "__main__":
    main()
