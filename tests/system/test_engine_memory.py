"""durable-rules' C core must read no uninitialised or freed memory for anything the adapter
gives it: valgrind found both (references between answers evaluated through uninitialised
memory; retracting facts after a rule joining two of them had fired read freed frames; deleting
a session whose action context was never set frees garbage), and they crashed the process in
about one run in three of a few thousand generated histories. The adapter avoids each
(docs/engine.md); this test holds it to that, under valgrind (installed by the README's test
command), in a subprocess that evaluates the vignettes and generated histories."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.support.helpers import ROOT, THOROUGH, histories, load_case, reports, vignette_files
from triage.pack.history import Earlier

pytestmark = pytest.mark.valgrind

PROBES = ROOT / "tests" / "support" / "probes"


def generated_cases(count: int) -> list[tuple[dict[str, Any], list[Earlier] | None]]:
    """The vignettes, then ``count`` generated histories each followed by a lone report."""
    cases: list[tuple[dict[str, Any], list[Earlier] | None]] = [
        (load_case(path)["report"], None) for path in vignette_files()
    ]

    @seed(20261122)
    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(histories(), reports())
    def collect(history: tuple, single: dict) -> None:
        cases.extend([history, (single, None)])

    collect()
    return cases


def test_the_c_core_reads_no_uninitialised_or_freed_memory(tmp_path: Path) -> None:
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is needed: the README's test command installs it"
    cases = generated_cases(200 if THOROUGH else 40)
    cases_file = tmp_path / "cases.pickle"
    cases_file.write_bytes(pickle.dumps(cases))
    out = subprocess.run(
        [valgrind, "--error-exitcode=99", "--errors-for-leak-kinds=none", "--quiet",
         f"--suppressions={PROBES / 'cpython-3.11.supp'}",
         sys.executable, "-m", "tests.support.probes.memory_probe", str(cases_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.strip() == f"evaluated {len(cases)}"
