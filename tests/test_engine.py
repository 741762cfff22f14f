"""The durable-rules adapter handles each measured pitfall, and evaluation fails closed."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from cli import main
from tests.helpers import ROOT, load_case, report, vignette_files
from triage.engines import durable as adapter
from triage.engines import get_engine
from triage.history import Context

REPORTS = [triage.parse_report(load_case(p)["report"]) for p in vignette_files()]


def tiny_pack(folder: Path, when: str = "unwell: true") -> triage.RulePack:
    """A one-rule pack whose content (so its hash and ruleset name) is unique to this test."""
    folder.mkdir()
    (folder / "pack.yaml").write_text(
        f"name: tiny\nversion: 1.0.0\npolicy: tests\nno_alert: '{folder}'\n"
    )
    (folder / "rules.yaml").write_text(
        "rules:\n  - id: tiny.rule\n    title: t\n    outcome: reduce_load\n"
        f"    when: {{{when}}}\n    patient: p\n    clinician: c\n"
        "    source: {policy: T1, reference: tests}\n"
    )
    return triage.load_pack(folder)


def test_eight_threads_give_the_single_threaded_results() -> None:
    expected = [triage.evaluate(r).to_dict() for r in REPORTS]
    results: list[list[dict]] = [[] for _ in range(8)]

    def work(slot: int) -> None:
        for _ in range(10):
            results[slot].append([triage.evaluate(r).to_dict() for r in REPORTS])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(run == expected for slot in results for run in slot)
    assert sum(len(slot) for slot in results) == 80


def test_several_true_branches_fire_a_rule_once() -> None:
    decision = triage.evaluate(
        report(
            numbness="saddle",
            bladder_bowel_change=True,
            chest_pain="resolved",
            breathless="resolved",
            dizziness="resolved",
            fainting="nearly",
            palpitations="resolved",
        )
    )
    rules = [r.rule for r in decision.reasons]
    assert len(rules) == len(set(rules))
    assert {"emergency.cauda-equina", "emergency.chest-pain-with-features"} <= set(rules)


def test_matching_nothing_is_continue_not_an_error() -> None:
    context = Context(triage.parse_report(report()).answers())
    assert get_engine("durable-rules").fired(triage.default_pack(), context) == set()


def test_one_session_serves_thousands_of_evaluations_and_keeps_no_facts() -> None:
    engine = get_engine("durable-rules")
    pack = triage.default_pack()
    for i in range(1500):  # more than the 1024 sessions a ruleset can hold
        triage.evaluate(REPORTS[i % len(REPORTS)], engine="durable-rules")
    ruleset = engine._ruleset(pack)  # type: ignore[attr-defined]
    assert engine._host.get_facts(ruleset.name, adapter._SESSION) == []  # type: ignore[attr-defined]


def test_report_data_never_becomes_the_fact_identity() -> None:
    with pytest.raises(triage.ReportError, match="'id'"):
        triage.evaluate(report(id="x"))
    engine = get_engine("durable-rules")
    ruleset = engine._ruleset(triage.default_pack())  # type: ignore[attr-defined]
    fact = ruleset.fact(
        "current", {"pain_now": 3, "unwell": True, "id": "x", "sid": "y"}, "report-7"
    )
    assert (fact["id"], fact["sid"]) == ("report-7", adapter._SESSION)
    same = report(unwell=True)
    assert triage.evaluate(same).reasons == triage.evaluate(same).reasons  # same answers, new fact


def test_a_failing_action_fails_the_evaluation_and_is_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_action(self: adapter._Ruleset, rule_id: str):
        def boom(closure: object) -> None:
            raise RuntimeError("action failed")

        return boom

    monkeypatch.setattr(adapter._Ruleset, "_action", failing_action)
    engine = adapter.DurableEngine()
    pack = tiny_pack(tmp_path / "p")
    with pytest.raises(triage.EvaluationError, match="action failed"):
        engine.fired(pack, Context({"unwell": True}))
    assert (
        engine.fired(pack, Context({"unwell": False})) == set()
    )  # the swallowed error was cleared


def test_an_engine_fault_fails_closed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(adapter.DurableEngine, "fired", broken)
    with pytest.raises(triage.EvaluationError, match="engine exploded") as info:
        triage.evaluate(report(), engine="durable-rules")
    assert "call your local emergency number" in info.value.advice

    case = vignette_files()[0]
    result = CliRunner().invoke(main, ["check", "--answers", str(case), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "could not be checked" in result.stderr and "emergency number" in result.stderr
    assert "Traceback" not in result.output


def test_a_changed_pack_gets_a_new_ruleset_and_the_same_pack_is_reused(tmp_path: Path) -> None:
    engine = get_engine("durable-rules")
    first = tiny_pack(tmp_path / "a")
    again = triage.load_pack(tmp_path / "a")
    other = tiny_pack(tmp_path / "b", when="unwell: false")
    assert engine.fired(first, Context({"unwell": True})) == {"tiny.rule"}
    assert engine.fired(again, Context({"unwell": True})) == {"tiny.rule"}
    assert engine.fired(other, Context({"unwell": False})) == {"tiny.rule"}
    names = {engine._ruleset(p).name for p in (first, again, other)}  # type: ignore[attr-defined]
    assert len(names) == 2


def test_reference_backend_serves_when_durable_rules_cannot_be_imported() -> None:
    code = (
        "import sys; sys.modules['durable'] = None; sys.modules['durable.engine'] = None\n"
        "import triage\n"
        "from tests.helpers import load_case, vignette_files\n"
        "d = triage.evaluate(load_case(vignette_files()[9])['report'])\n"
        "print(d.engine.name, d.outcome, d.urgency)\n"
        "try:\n    triage.evaluate(load_case(vignette_files()[0])['report'], engine='durable-rules')\n"
        "except triage.EvaluationError as e:\n    print('refused:', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "reference seek_medical_review emergency"
    assert lines[1].startswith("refused: durable-rules is not installed")


def test_decision_names_the_engine_and_pack() -> None:
    decision = triage.evaluate(REPORTS[0])
    assert decision.engine.name == "durable-rules" and decision.engine.version == "2.0.28"
    pack = triage.default_pack()
    assert decision.rule_pack.model_dump() == {
        "name": pack.name,
        "version": pack.version,
        "sha256": pack.sha256,
    }
