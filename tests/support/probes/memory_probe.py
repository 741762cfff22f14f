"""Evaluates the cases pickled in the file named by its argument with durable-rules, on the
bundled pack and on the packs that use every construct; run under valgrind by
tests/system/test_engine_memory.py, which requires that durable-rules' C core read no uninitialised
or freed memory. The cases are generated outside valgrind, so that only triage, pydantic and the
engine run under it (see cpython-3.11.supp for why hypothesis does not)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import triage
from triage.engines import get_engine
from triage.pack.history import build_context

ROOT = Path(__file__).resolve().parents[3]
PACKS = [
    triage.default_pack(),
    triage.load_pack(ROOT / "tests" / "support" / "packs" / "coverage"),
    triage.load_pack(ROOT / "tests" / "support" / "packs" / "history-coverage"),
]
ENGINE = get_engine("durable-rules")


def run(cases_file: Path) -> None:
    cases = pickle.loads(cases_file.read_bytes())
    for current, earlier in cases:
        context = build_context(triage.parse_report(current), earlier)
        for pack in PACKS:
            ENGINE.fired(pack, context)
    print(f"evaluated {len(cases)}", flush=True)


if __name__ == "__main__":
    run(Path(sys.argv[1]))
