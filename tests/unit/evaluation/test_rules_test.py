"""Cases as data and coverage (`triage rules test`): the bundled pack's own cases, every case
format, failures shown with what was expected, what came out and what fired, and coverage
found from the rules alone (rules that can never fire, rules always overruled, uncited rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import triage
from tests.support.helpers import BASE, ROOT, VIGNETTE_DIR
from triage.evaluation.cases import run_cases, run_tests
from triage.pack.coverage import coverage
from triage_cli.cli import main

BUNDLED_CASES = ROOT / "rules" / "cases"


def rule(rule_id: str, outcome: str, when: dict[str, Any], row: str = "T1", **more: Any) -> dict:
    data = {
        "id": rule_id,
        "title": rule_id,
        "outcome": outcome,
        "when": when,
        "patient": "p",
        "clinician": "c",
        "source": {"policy": row, "reference": "tests"},
        **more,
    }
    if outcome == "seek_medical_review":
        data.setdefault("urgency", "routine")
    if outcome == "continue":
        data.setdefault("advice", "a")
    return data


def write_pack(folder: Path, rules: list[dict], rows: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"name": "probe", "version": "1.0.0", "policy": "probe policy", "no_alert": "none"}
    if rows is not None:
        meta["rows"] = rows
    (folder / "pack.yaml").write_text(yaml.safe_dump(meta))
    (folder / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return folder


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["rules", "test", *args], catch_exceptions=False)


# -- the bundled pack -------------------------------------------------------------------------


def test_the_bundled_pack_passes_its_own_cases_strictly() -> None:
    result = run("--strict")
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    for line in (
        "every rule fires in some case (94 rules)",
        "every policy row is cited by a rule (88 rows)",
        "every rule can fire",
        "every rule can change a decision",
    ):
        assert f"ok       {line}" in result.output


@pytest.mark.parametrize("engine", ["durable-rules", "reference"])
def test_every_bundled_case_passes_on_both_engines(engine: str) -> None:
    tests = run_tests(triage.default_pack(), engine=engine)
    assert not tests.run.failed, [r.name for r in tests.run.failed]
    assert len(tests.run.results) > 100
    assert tests.unfired == () and tests.findings() == []


def test_each_threshold_row_has_a_case_on_both_sides_of_it() -> None:
    """A clinician who moves a threshold makes a bundled case fail, whichever way it moves."""
    text = "\n".join(p.read_text() for p in BUNDLED_CASES.glob("*.yaml"))
    for row in ("e16", "u3", "u4", "u5", "s9", "s14", "s17", "s19", "r2", "r3", "r4", "l1", "l2"):
        assert f"id: {row}-not-" in text, row
    for row in ("l3", "l10", "l11", "c1", "c4", "c5", "h1", "h2", "h2b"):
        assert f"id: {row}-not-" in text, row
    # policy v3: the new and changed rows, each on the other side of its threshold or exception
    for row in (
        "e1b", "e2", "e2c", "e2d", "e16", "e17", "e18", "u1", "s1", "s1b", "s4", "s10", "s18",
        "s21", "r5", "r7", "r9", "r13", "r14", "r15", "r16", "l5", "c6", "c7",
    ):  # fmt: skip
        assert f"id: {row}-not-" in text, row


def test_the_vignettes_and_the_project_cases_are_cases_too() -> None:
    locations = [
        VIGNETTE_DIR,
        ROOT / "tests" / "support" / "cases",
        ROOT / "tests" / "support" / "sequences",
    ]
    found = run_cases(locations, triage.default_pack())
    assert not found.failed, [r.name for r in found.failed]
    assert len(found.results) >= 64 + 23
    assert {r.name for r in found.results} >= {"p01-no-pain", "h3-repeated-reduce-load step 6"}


def test_the_pack_of_a_wheel_ships_its_cases() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"triage.rules" = ["*.yaml", "cases/*.yaml"]' in pyproject


# -- failures ---------------------------------------------------------------------------------


def case_file(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_failing_case_shows_what_was_expected_what_came_out_and_what_fired(
    tmp_path: Path,
) -> None:
    report = {**BASE, "pain_during": 5, "pain_region": "thigh", "pain_site": "muscle"}
    case_file(
        tmp_path,
        "pain-5.yaml",
        {
            "id": "pain-5",
            "summary": "pain 5 during",
            "expected": {"outcome": "reduce_load"},
            "fires": ["reduce.pain-during-above-5"],
            "does_not_fire": ["continue.hold-load"],
            "report": report,
        },
    )
    result = run(str(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("FAIL"))
    assert lines[first].split() == ["FAIL", "pain-5", "expected", "reduce_load"]
    assert lines[first + 1 : first + 5] == [
        "      got:      continue",
        "      fired:    continue.hold-load",
        "      must fire, did not: reduce.pain-during-above-5",
        "      must not fire, did: continue.hold-load",
    ]
    assert "1 case: 0 passed, 1 failed." in result.output


def test_json_gives_every_case_and_the_coverage(tmp_path: Path) -> None:
    case_file(
        tmp_path,
        "ok.yaml",
        {"id": "ok", "expected": {"outcome": "continue"}, "report": BASE},
    )
    result = run(str(tmp_path), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert data["cases"] == [
        {
            "case": "ok",
            "file": str(tmp_path / "ok.yaml"),
            "passed": True,
            "expected": "continue",
            "got": "continue",
            "fired": [],
        }
    ]
    assert data["coverage"][0]["kind"] == "unfired"
    assert data["ok"] is True
    strict = json.loads(run(str(tmp_path), "--json", "--strict").stdout)
    assert strict["ok"] is False


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        (
            {"id": "x", "expeted": {"outcome": "continue"}, "report": BASE},
            "unknown key 'expeted' (did you mean 'expected'?)",
        ),
        (
            {"id": "x", "expected": {"outcome": "continue"}, "report": BASE,
             "fires": ["reduce.pain-during-above5"]},
            "'fires' names reduce.pain-during-above5, which is not a rule of post-session-safety "
            f"{triage.default_pack().version} (did you mean 'reduce.pain-during-above-5'?)",
        ),
        (
            {"id": "x", "expected": {"outcome": "seek_medical_review"}, "report": BASE},
            "'expected' needs an urgency",
        ),
        (
            {"id": "x", "expected": {"outcome": "continue"}, "report": {**BASE, "pain_now": 11}},
            "report: field 'pain_now': got 11, expected a whole number from 0 to 10",
        ),
    ],
    ids=["unknown-key", "unknown-rule", "urgency", "bad-report"],
)  # fmt: skip
def test_a_broken_case_fails_naming_its_problem(tmp_path: Path, case: dict, problem: str) -> None:
    case_file(tmp_path, "x.yaml", case)
    case_file(tmp_path, "y.yaml", {"id": "y", "expected": {"outcome": "continue"}, "report": BASE})
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert problem in result.output
    assert "pass  y" in result.output  # the other cases still run


def test_cases_in_a_list_with_a_shared_base_and_sequences(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        yaml.safe_dump({"base": BASE}, sort_keys=False).replace("base:", "base: &base", 1)
        + """cases:
  - id: pain-6
    expected: {outcome: reduce_load}
    report: {<<: *base, pain_during: 6, pain_region: thigh, pain_site: muscle}
  - id: rising
    patient: pt-seq
    steps:
      - {at: "2026-03-02T18:00:00+00:00", session: s1, expected: {outcome: continue},
         report: {<<: *base, pain_during: 2, pain_region: knee, pain_site: joint}}
      - {at: "2026-03-09T18:00:00+00:00", session: s2, expected: {outcome: reduce_load},
         fires: [history.pain-rose-since-last-session],
         report: {<<: *base, pain_during: 4, pain_region: knee, pain_site: joint}}
"""
    )
    found = run_cases([path], triage.default_pack())
    assert [(r.name, r.passed) for r in found.results] == [
        ("list: pain-6", True),
        ("list: rising step 1", True),
        ("list: rising step 2", True),
    ]


def test_no_cases_folder_is_a_usage_error(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", [rule("a.b", "reduce_load", {"pain_now": 6})])
    result = CliRunner().invoke(main, ["rules", "test", "--rules", str(pack)])
    assert result.exit_code == 1
    assert "has no cases folder" in result.stderr


# -- coverage ---------------------------------------------------------------------------------


WHERE_CONTINUE_ROUTINE = {"outcome": "continue", "urgency": "routine"}


def test_a_contradictory_rule_can_never_fire(tmp_path: Path) -> None:
    pack = triage.load_pack(
        write_pack(
            tmp_path,
            [
                rule("never.range", "reduce_load", {"pain_now": {"at_least": 8, "at_most": 3}}),
                rule(  # the contract: no region without pain
                    "never.region-without-pain",
                    "reduce_load",
                    {"pain_region": "knee", "pain_during": 0, "pain_now": 0},
                ),
                rule(  # an earlier check has an urgency only for seek_medical_review
                    "never.history",
                    "reduce_load",
                    {
                        "earlier": {
                            "within_days": 7,
                            "where": {"outcome": "continue", "urgency": "routine"},
                        }
                    },
                ),
                rule("fine", "reduce_load", {"pain_now": {"at_least": 3, "at_most": 8}}),
            ],
        )
    )
    assert coverage(pack).never_fire == (
        "never.range",
        "never.region-without-pain",
        "never.history",
    )


def test_a_rule_always_overruled_by_a_more_severe_one(tmp_path: Path) -> None:
    pack = triage.load_pack(
        write_pack(
            tmp_path,
            [
                rule("review.severe", "seek_medical_review", {"pain_now": {"at_least": 8}}),
                rule("reduce.very-severe", "reduce_load", {"pain_now": {"at_least": 9}}),
                rule("review.breathless-resolved", "seek_medical_review",
                     {"breathless": "resolved"}, urgency="routine"),
                rule("review.breathless-ongoing", "seek_medical_review",
                     {"breathless": "ongoing"}, urgency="emergency"),
                rule("reduce.breathless", "reduce_load", {"breathless": {"not_equals": "none"}}),
                rule("reduce.pain-7", "reduce_load", {"pain_now": {"at_least": 7}}),
                rule("hist.any", "seek_medical_review",
                     {"earlier": {"within_days": 7}}, urgency="emergency"),
            ],
        )
    )  # fmt: skip
    found = {o.rule: o.by for o in coverage(pack).overruled}
    assert found == {
        "reduce.very-severe": ("review.severe",),
        "reduce.breathless": ("review.breathless-resolved", "review.breathless-ongoing"),
    }  # reduce.pain-7 is not: pain 7 fires nothing more severe; a history rule overrules nothing
    result = CliRunner().invoke(main, ["rules", "test", "--rules", str(tmp_path), str(tmp_path)])
    assert "reduce.very-severe always fires with review.severe" in result.output


def test_policy_rows_no_rule_cites_and_rules_citing_no_row(tmp_path: Path) -> None:
    rules = [rule("a.one", "reduce_load", {"pain_now": {"at_least": 6}}, row="X1")]
    pack = triage.load_pack(write_pack(tmp_path / "a", rules, rows=["X1", "X2"]))
    assert coverage(pack).uncited_rows == ("X2",)
    assert pack.sha256 == triage.load_pack(write_pack(tmp_path / "b", rules)).sha256
    with pytest.raises(triage.PackError) as error:
        triage.load_pack(write_pack(tmp_path / "c", rules, rows=["X01", "X2"]))
    assert 'source policy "X1" is not a row of the policy' in str(error.value)
    assert "did you mean 'X01'?" in str(error.value)


def test_strict_makes_coverage_findings_errors(tmp_path: Path) -> None:
    pack = write_pack(
        tmp_path / "pack",
        [rule("a.one", "reduce_load", {"pain_now": {"at_least": 6}}, row="X1")],
        rows=["X1", "X2"],
    )
    case_file(tmp_path / "pack" / "cases", "c.yaml",
              {"id": "c", "expected": {"outcome": "continue"}, "report": BASE})  # fmt: skip
    lenient = run("--rules", str(pack))
    assert lenient.exit_code == 0
    assert "warning  no case makes these rules fire: a.one" in lenient.output
    assert "warning  no rule cites these rows: X2" in lenient.output
    strict = run("--rules", str(pack), "--strict")
    assert strict.exit_code == 1
    assert "error    no rule cites these rows: X2" in strict.output


def test_the_draft_in_the_docs_is_the_bundled_pack_with_l1_raised() -> None:
    """examples/draft-rules (docs/rules.md, "Changing a rule safely") links to every bundled
    file but two: the rule file with L1 at 7, and pack.yaml with the next version."""
    draft = ROOT / "examples" / "draft-rules"
    bundled = ROOT / "rules"
    assert (draft / "cases").resolve() == (bundled / "cases").resolve()
    for path in bundled.glob("*.yaml"):
        mine = draft / path.name
        if path.name == "40-reduce-load.yaml":
            old = "      pain_during: {at_least: 6}\n"
            assert mine.read_text() == path.read_text().replace(old, old.replace("6", "7"))
        elif path.name == "pack.yaml":
            lines = [x for x in mine.read_text().splitlines() if not x.startswith("#")]
            wanted = [x for x in path.read_text().splitlines() if not x.startswith("#")]
            major, minor, _ = triage.default_pack().version.split(".")
            after = f"{major}.{int(minor) + 1}.0"
            assert lines == [x.replace(triage.default_pack().version, after) for x in wanted]
        else:
            assert mine.is_symlink() and mine.resolve() == path.resolve(), path.name
