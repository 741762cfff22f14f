"""Every public vignette of policy v2 (shared/vignettes-v2) and every project case (tests/cases)
reaches exactly its expected outcome and urgency on both engines, and both engines fire the
same rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import triage
from tests.helpers import CASES_DIR, SHARED, load_case

ENGINES = ["durable-rules", "reference"]
VIGNETTES_V2 = SHARED / "vignettes-v2"


def case_files() -> list[Path]:
    public = sorted(VIGNETTES_V2.glob("*.yaml"))
    assert len(public) >= 64, f"expected the 64 public vignettes in {VIGNETTES_V2}"
    return public + sorted(CASES_DIR.glob("*.yaml"))


CASES = case_files()


def expected(case: dict[str, Any]) -> tuple[str, str | None]:
    return case["expected"]["outcome"], case["expected"].get("urgency")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_on_both_engines(path: Path) -> None:
    case = load_case(path)
    fired = {}
    for engine in ENGINES:
        decision = triage.evaluate(case["report"], engine=engine)
        assert decision.engine.name == engine
        got = (decision.outcome, decision.urgency)
        assert got == expected(case), (
            f"{engine}: {case['summary']} -> {got}; fired {[r.rule for r in decision.reasons]}"
        )
        fired[engine] = {r.rule for r in decision.reasons}
    assert fired["durable-rules"] == fired["reference"]


def test_pack_is_policy_v2() -> None:
    pack = triage.default_pack()
    assert (pack.version, pack.policy) == ("2.0.0", "triage policy v2")
