"""Evaluates the vignettes and generated histories with durable-rules on the bundled pack and
on the packs that use every construct; run under valgrind by tests/test_engine_memory.py, which
requires that durable-rules' C core read no uninitialised or freed memory."""

from __future__ import annotations

import sys

from hypothesis import HealthCheck, given, seed, settings

import triage
from tests.helpers import ROOT, histories, load_case, reports, vignette_files
from triage.engines import get_engine
from triage.history import build_context

PACKS = [
    triage.default_pack(),
    triage.load_pack(ROOT / "tests" / "packs" / "coverage"),
    triage.load_pack(ROOT / "tests" / "packs" / "history-coverage"),
]
ENGINE = get_engine("durable-rules")


def run(count: int) -> None:
    for path in vignette_files():
        context = build_context(triage.parse_report(load_case(path)["report"]), None)
        for pack in PACKS:
            ENGINE.fired(pack, context)

    @seed(20261122)
    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(histories(), reports())
    def one(case: tuple, single: dict) -> None:
        current, earlier = case
        for context in (build_context(triage.parse_report(current), earlier),
                        build_context(triage.parse_report(single), None)):  # fmt: skip
            for pack in PACKS:
                ENGINE.fired(pack, context)

    one()
    print("evaluated", flush=True)


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
