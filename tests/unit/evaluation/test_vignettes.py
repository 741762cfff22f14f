"""Every clinical vignette (the 92 public ones of policy v3 and ours in tests/support/cases) reaches
exactly its expected outcome and urgency, through the Python API with each engine (both firing
the same rules) and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.support.helpers import load_case, vignette_files
from triage_cli.cli import main

CASES = vignette_files()
IDS = [p.stem for p in CASES]
PUBLIC = [p for p in CASES if p.parent.name == "vignettes-v3"]


def expected(case: dict) -> tuple[str, str | None]:
    return case["expected"]["outcome"], case["expected"].get("urgency")


def test_the_public_vignettes_of_policy_v3_are_all_here() -> None:
    assert len(PUBLIC) == 92
    pack = triage.default_pack()
    assert (pack.version, pack.policy) == ("3.0.0", "triage policy v3")


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_vignette_through_api_on_both_engines(path: Path) -> None:
    case = load_case(path)
    report = triage.parse_report(case["report"])
    fired = {}
    for engine in ("durable-rules", "reference"):
        decision = triage.evaluate(report, engine=engine)
        assert decision.engine.name == engine
        got = (decision.outcome, decision.urgency)
        assert got == expected(case), f"{engine}: {case['summary']} -> {got}"
        fired[engine] = [r.rule for r in decision.reasons]
    assert fired["durable-rules"] == fired["reference"]


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_vignette_through_cli(path: Path) -> None:
    case = load_case(path)
    result = CliRunner().invoke(
        main, ["check", "--answers", str(path), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision.get("urgency")) == expected(case)


FIRST_LINES = {
    "emergency": "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW",
    "urgent": "GO TO AN EMERGENCY DEPARTMENT NOW.",
}
RED_FLAG_CASES = [p for p in CASES if expected(load_case(p))[1] in FIRST_LINES]


@pytest.mark.parametrize("path", RED_FLAG_CASES, ids=lambda p: p.stem)
def test_an_emergency_or_urgent_result_says_what_to_do_on_its_first_line(path: Path) -> None:
    urgency = expected(load_case(path))[1]
    result = CliRunner().invoke(main, ["check", "--answers", str(path)], catch_exceptions=False)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(FIRST_LINES[urgency])
    if urgency == "urgent":
        assert lines[1].startswith("Do not drive yourself.")


def test_every_single_report_row_is_exercised_by_some_vignette() -> None:
    rows = {r.policy_row for r in triage.default_pack().rules if not r.history}
    fired_rows = set()
    pack = triage.default_pack()
    for path in CASES:
        for reason in triage.evaluate(load_case(path)["report"]).reasons:
            fired_rows.add(pack.rule(reason.rule).policy_row)
    assert rows - fired_rows == set()
