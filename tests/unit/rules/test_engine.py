"""The durable-rules adapter handles each measured pitfall, and evaluation fails closed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.support.helpers import ROOT, load_case, report, vignette_files
from triage.engines import durable as adapter
from triage.engines import get_engine
from triage.engines.durable import _core
from triage.pack.history import Context
from triage_cli.cli import main

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


@pytest.mark.slow  # eight threads, thousands of evaluations
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
            numbness=["saddle", "both_legs"],
            bladder_bowel_change=True,
            chest_pain="resolved",
            chest_pain_kind="pressure",
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
    last = ruleset.facts(Context(REPORTS[0].answers()), iter([1499]))[0]["sid"]
    with pytest.raises(_core.error, match="error code: 309"):  # no session is left behind
        _core.get_facts(ruleset.handle, last)


def test_report_data_never_becomes_the_fact_identity() -> None:
    with pytest.raises(triage.ReportError, match="'id'"):
        triage.evaluate(report(id="x"))
    engine = get_engine("durable-rules")
    ruleset = engine._ruleset(triage.default_pack())  # type: ignore[attr-defined]
    fact = ruleset.fact("current", {"pain_now": 3, "unwell": True, "id": "x", "sid": "y"}, "e7-0")
    assert (fact["id"], fact["sid"]) == ("e7-0", "e7")
    same = report(unwell=True)
    assert triage.evaluate(same).reasons == triage.evaluate(same).reasons  # same answers, new fact


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("complete_and_start_action", "durable-rules failed: lost"),
        ("start_action_for_state", "durable-rules failed: lost"),
        ("assert_facts", "durable-rules failed: lost"),
    ],
    ids=["mid-results", "first-result", "assert"],
)
def test_an_engine_call_that_fails_fails_the_evaluation_and_the_next_one_is_right(
    monkeypatch: pytest.MonkeyPatch, broken: str, message: str
) -> None:
    engine = adapter.DurableEngine()
    pack = triage.default_pack()
    context = Context(REPORTS[9].answers())
    want = get_engine("reference").fired(pack, context)
    real = getattr(_core, broken)

    def fails_once(*args: object) -> object:
        monkeypatch.setattr(_core, broken, real)
        raise RuntimeError("lost")

    monkeypatch.setattr(_core, broken, fails_once)
    with pytest.raises(triage.EvaluationError, match=message):
        engine.fired(pack, context)
    assert engine.fired(pack, context) == want
    assert engine._ruleset(pack).name.endswith("_2")  # a fresh generation


def test_an_action_left_in_flight_never_affects_the_next_evaluation() -> None:
    """An action started and never completed (as after a stall under durable-rules' own host)
    leased its session, and every later evaluation fired nothing. Each evaluation now has a
    session of its own: one left in flight changes nothing for the others."""
    engine = adapter.DurableEngine()
    pack = triage.default_pack()
    context = Context(REPORTS[9].answers())
    ruleset = engine._ruleset(pack)
    facts = ruleset.facts(context, iter([10**6]))
    _, state = _core.assert_facts(ruleset.handle, json.dumps(facts))
    assert _core.start_action_for_state(ruleset.handle, state) is not None  # started, never done
    want = get_engine("reference").fired(pack, context)
    assert [engine.fired(pack, context) for _ in range(50)] == [want] * 50


def test_no_sentinel_result_means_the_evaluation_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = adapter.DurableEngine()
    pack = triage.default_pack()
    monkeypatch.setattr(adapter, "_SENTINEL_RULE", {"all": [{"current": {"fact_kind": "never"}}]})
    with pytest.raises(triage.EvaluationError, match="sentinel rule fired 0 times"):
        engine.fired(pack, Context(REPORTS[9].answers()))


def test_the_durable_rules_c_api_behaves_as_the_adapter_assumes() -> None:
    """The adapter drives durable-rules 2.0.28's C core directly; these are its assumptions."""
    assert adapter.DurableEngine.version == "2.0.28"
    definition = {
        "a.rule": {"all": [{"m": {"$and": [{"kind": "x"}, {"$gte": {"n": 5}}]}}]},
        "b.rule": {"all": [{"m": {"kind": "x"}}, {"e": {"kind": "y"}}], "count": 2},
    }
    handle = _core.create_ruleset("triage_assumptions", json.dumps(definition))
    facts = json.dumps(
        [
            {"kind": "x", "n": 6, "id": "f1", "sid": "s"},
            *({"kind": "y", "id": f"f{i}", "sid": "s"} for i in (2, 3)),
            {"kind": "z", "id": "f4", "sid": "s"},  # matches nothing: still accepted
        ],
        separators=(",", ":"),
    )
    code, state = _core.assert_facts(handle, facts)
    assert (code, isinstance(state, int)) == (1, True)  # the code of the last fact: not handled
    first = _core.start_action_for_state(handle, state)
    assert isinstance(first, tuple) and len(first) == 2
    results = [first[1]]
    while (more := _core.complete_and_start_action(handle, state)) is not None:
        results.append(more)
    assert sorted(r[2 : r.index('"', 2)] for r in results) == ["a.rule", "b.rule"]
    assert all('"id":"f1"' in r for r in results)
    assert len(json.loads(_core.get_facts(handle, "s"))) == 3  # those that matched a pattern
    _core.delete_state(handle, "s")  # and go with it
    with pytest.raises(_core.error, match="error code: 309"):
        _core.get_facts(handle, "s")
    with pytest.raises(_core.error):
        _core.create_ruleset("triage_assumptions_bad", "{not json")


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
    assert json.loads(result.stdout)["error"] == "evaluation"  # --json: the error as JSON too
    assert "emergency number" in json.loads(result.stdout)["advice"]
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
        "import sys; sys.modules['durable_rules_engine'] = None; sys.modules['durable'] = None\n"
        "import triage\n"
        "from tests.support.helpers import load_case, vignette_files\n"
        "d = triage.evaluate(load_case(vignette_files()[9])['report'])\n"
        "print(d.engine.name, d.outcome, d.urgency)\n"
        "try:\n"
        "    triage.evaluate(load_case(vignette_files()[0])['report'], engine='durable-rules')\n"
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
