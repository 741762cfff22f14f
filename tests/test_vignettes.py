"""Every clinical vignette (public ones and ours in tests/cases) reaches its expected outcome and
urgency, through the Python API with each engine and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.helpers import load_case, vignette_files
from triage_cli.cli import main

CASES = vignette_files()
IDS = [p.stem for p in CASES]


def expected(case: dict) -> tuple[str, str | None]:
    return case["expected"]["outcome"], case["expected"].get("urgency")


@pytest.mark.parametrize("engine", ["durable-rules", "reference"])
@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_vignette_through_api(path: Path, engine: str) -> None:
    case = load_case(path)
    decision = triage.evaluate(case["report"], engine=engine)
    assert (decision.outcome, decision.urgency) == expected(case), case["summary"]
    assert decision.engine.name == engine


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_vignette_through_cli(path: Path) -> None:
    case = load_case(path)
    result = CliRunner().invoke(
        main, ["check", "--answers", str(path), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision.get("urgency")) == expected(case)


@pytest.mark.parametrize(
    "path", [p for p in CASES if "emergency" in p.read_text()], ids=lambda p: p.stem
)
def test_emergency_first_line_says_call_now(path: Path) -> None:
    case = load_case(path)
    if expected(case)[1] != "emergency":
        pytest.skip("not an emergency case")
    result = CliRunner().invoke(main, ["check", "--answers", str(path)], catch_exceptions=False)
    assert result.stdout.splitlines()[0].startswith(
        "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW"
    )


def test_every_single_report_row_is_exercised_by_some_vignette() -> None:
    rows = {r.policy_row for r in triage.default_pack().rules if not r.history}
    fired_rows = set()
    pack = triage.default_pack()
    for path in CASES:
        for reason in triage.evaluate(load_case(path)["report"]).reasons:
            fired_rows.add(pack.rule(reason.rule).policy_row)
    assert rows - fired_rows == set()
