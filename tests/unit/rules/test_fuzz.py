"""Malformed reports and mutated rule packs (strategies in tests/support/fuzz.py): each gives a
decision or a clean, located error; never a traceback, a crash, a hang or a disagreement between the
engines. The long run is benchmarks/fuzz_long.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import triage
from tests.support.fuzz import mutate_pack, report_texts
from tests.support.helpers import THOROUGH, examples, load_case, vignette_files
from triage.contract.reading import read_answers
from triage.engines import get_engine
from triage.pack.history import build_context
from triage_cli.cli import main

CLEAN = (triage.InputError, triage.ReportError)
SECONDS = 5  # CPU seconds, far above any real input: the bounds make every case take milliseconds


@examples(1_000)
@given(report_texts())
def test_a_malformed_report_gives_a_decision_or_a_clean_error(case: tuple[str, bytes]) -> None:
    name, raw = case
    start = time.process_time()
    message = "error: (a decision)"
    try:
        data, source = read_answers("-", raw)
        triage.evaluate(triage.parse_report(data, source), engine="reference")
    except CLEAN as error:
        message = error.explain()  # every value quoted in it is cut short
    assert message.startswith("error: ") and len(message) < 20_000
    assert time.process_time() - start < SECONDS, name


@examples(200)
@given(report_texts())
def test_a_malformed_report_file_never_gives_a_traceback_in_the_cli(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bytes]
) -> None:
    name, raw = case
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(raw)
    result = CliRunner().invoke(main, ["check", "--answers", str(path), "--no-log", "--json"])
    assert result.exit_code in (0, 1), result.output[-500:]
    assert "Traceback" not in result.output and not isinstance(result.exception, Exception)


REPORTS = [triage.parse_report(load_case(p)["report"]) for p in vignette_files()[::4]]
PACKS = 400 if THOROUGH else 40


@pytest.mark.parametrize("seed", range(PACKS))
def test_a_mutated_pack_is_refused_or_runs_the_same_on_both_engines(
    tmp_path: Path, seed: int
) -> None:
    what = mutate_pack(Path(triage.default_pack().path), tmp_path / "pack", seed)
    start = time.process_time()
    try:
        pack = triage.load_pack(tmp_path / "pack")
    except (triage.PackError, triage.InputError) as error:
        refused = error.problems
    else:
        refused = []
    assert time.process_time() - start < SECONDS, what
    if refused:
        assert all(p.file for p in refused), what
        return
    durable, reference = get_engine("durable-rules"), get_engine("reference")
    for report in REPORTS:
        context = build_context(report, None)
        assert durable.fired(pack, context) == reference.fired(pack, context), what


@examples(120)
@given(seed=st.integers(0, 10**9))
def test_mutated_packs_by_the_hundred(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same as above over random seeds (the parametrized run keeps fixed ones)."""
    folder = tmp_path_factory.mktemp("mutant") / "pack"
    what = mutate_pack(Path(triage.default_pack().path), folder, seed)
    try:
        pack = triage.load_pack(folder)
    except (triage.PackError, triage.InputError):
        return
    context = build_context(REPORTS[0], None)
    assert get_engine("durable-rules").fired(pack, context) == get_engine("reference").fired(
        pack, context
    ), what
