""" "Why not": for each rule more severe than the outcome that did not fire, the fewest answers
that kept it from firing; the same with both engines, only when asked, for clinicians only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given

import triage
from tests.support.helpers import ROOT, examples, report, reports
from triage.outcomes import severity
from triage.pack.explain import why_not
from triage.pack.history import build_context
from triage_cli.cli import main

PAIN_5 = report(pain_during=5, pain_now=3, pain_region="knee", pain_site="joint")


def reasons(data: dict[str, Any], **options: Any) -> dict[str, Any]:
    decision = triage.evaluate(data, explain=True, **options)
    assert decision.why_not is not None
    return {w.rule: w.model_dump(mode="json", exclude_none=True) for w in decision.why_not}


def test_one_answer_away_names_the_answer_and_what_the_rule_needs() -> None:
    found = reasons(PAIN_5)
    assert found["reduce.pain-during-above-5"] == {
        "rule": "reduce.pain-during-above-5",
        "title": "Pain above 5/10 during the session",
        "outcome": "reduce_load",
        "answers_away": 1,
        "blocked_by": [[{"field": "pain_during", "was": 5, "needs": "6 or more"}]],
    }
    assert found["routine.severe-pain-now"]["blocked_by"] == [
        [{"field": "pain_now", "was": 3, "needs": "8 or more"}]
    ]
    assert found["same-day.joint-locked"]["blocked_by"] == [
        [{"field": "joint_locked", "needs": "true"}]  # not given: no 'was'
    ]


@pytest.mark.parametrize(
    ("data", "rule", "ways"),
    [
        (  # either of two answers would do: each is a way of its own
            report(),
            "emergency.chest-pain-heart-disease",
            [[("chest_pain", "none", "resolved or ongoing"),
              ("conditions", [], "to include heart_disease")]],
        ),
        (
            report(),
            "emergency.cauda-equina",
            [[("numbness", [], "to include both_legs or saddle")],
             [("radiating_pain", [], "to include both_legs")],
             [("bladder_bowel_change", False, "true")]],
        ),
        (
            report(hours_since_session=30, pain_now=3, pain_during=3, pain_region="knee",
                   pain_site="joint", pain_trend="better"),
            "routine.worse-after-48h-not-muscle",
            [[("hours_since_session", 30, "at least 48"), ("pain_trend", "better", "worse")]],
        ),
        (  # a comparison with another answer: pain_now must be 2 above the usual pain
            report(hours_since_session=14, pain_before=2, pain_now=3, pain_during=3,
                   pain_region="knee", pain_site="joint"),
            "reduce.above-baseline-next-morning",
            [[("pain_before", 2, "1 or less")], [("pain_now", 3, "4 or more")]],
        ),
    ],
    ids=["two-answers", "alternatives", "hours", "field-reference"],
)  # fmt: skip
def test_smallest_sets_of_answers(data: dict, rule: str, ways: list) -> None:
    found = reasons(data)[rule]
    assert found["answers_away"] == len(ways[0])
    shown = [[(b["field"], b.get("was"), b["needs"]) for b in way] for way in found["blocked_by"]]
    assert shown == [[(f, w, n) for f, w, n in way] for way in ways]


def test_only_more_severe_rules_that_did_not_fire_closest_first() -> None:
    decision = triage.evaluate(
        report(pain_during=6, pain_region="thigh", pain_site="muscle"), explain=True
    )
    assert decision.outcome == "reduce_load" and decision.why_not is not None
    fired = {r.rule for r in decision.reasons}
    pack = triage.default_pack()
    listed = [w.rule for w in decision.why_not]
    expected = {
        r.id for r in pack.rules if severity(r.outcome, r.urgency) > 1 and r.id not in fired
    }
    assert set(listed) == expected and len(listed) == len(expected)
    distances = [w.answers_away if w.answers_away is not None else 99 for w in decision.why_not]
    assert distances == sorted(distances)


def test_history_rules_say_whether_the_earlier_checks_were_known_or_met() -> None:
    now = report(pain_during=2, pain_region="thigh", pain_site="muscle")
    now["reported_at"] = "2026-03-09T18:00:00+00:00"
    unknown = reasons(now)["history.repeated-reduce-load"]
    assert unknown == {
        "rule": "history.repeated-reduce-load",
        "title": "Load reduced three times in two weeks",
        "outcome": "seek_medical_review",
        "urgency": "routine",
        "blocked_by": [],
        "history": "not known",
    }
    earlier = {**now, "pain_during": 6, "reported_at": "2026-03-08T18:00:00+00:00"}
    known = reasons(now, history=[earlier])
    assert known["history.repeated-reduce-load"]["history"] == "not met"
    rose = known["history.pain-rose-since-last-session"]
    assert rose["history"] == "not met"  # the previous session's pain was higher
    assert rose["blocked_by"] == [[{"field": "pain_during", "was": 2, "needs": "4 or more"}]]


YES_NO_SYMPTOMS = ("confusion", "dark_urine", "tense_swollen_limb", "bladder_bowel_change",
                   "deformity", "vision_change", "swollen_warm_limb", "groin_lump", "unwell",
                   "functional_loss")  # fmt: skip


@given(reports())
@examples(200)
def test_explanations_agree_on_both_engines_and_one_answer_away_is_exactly_that(
    data: dict[str, Any],
) -> None:
    """Both engines give the same explanations. Giving the one yes/no answer a rule needs makes
    it fire."""
    reference = triage.evaluate(data, engine="reference", explain=True)
    durable = triage.evaluate(data, engine="durable-rules", explain=True)
    assert durable.why_not == reference.why_not
    for reason in reference.why_not or ():
        for way in reason.blocked_by:
            if len(way) == 1 and way[0].field in YES_NO_SYMPTOMS and way[0].needs == "true":
                changed = triage.evaluate({**data, way[0].field: True}, engine="reference")
                assert reason.rule in {r.rule for r in changed.reasons}, reason


def test_explanations_only_when_asked_and_never_in_the_log(tmp_path: Path) -> None:
    plain = triage.evaluate(PAIN_5)
    assert plain.why_not is None and "why_not" not in plain.to_dict()
    assert "why_not" in triage.evaluate(PAIN_5, explain=True).to_dict()
    result = triage.check(PAIN_5, log=tmp_path / "log.db", explain=True)
    assert result.decision.why_not
    with triage.TriageLog(tmp_path / "log.db") as log:
        stored = next(log.export())
    assert "why_not" not in stored.decision


def test_why_not_of_a_context_without_a_decision() -> None:
    pack = triage.default_pack()
    context = build_context(triage.parse_report(PAIN_5), [])
    found = why_not(pack, context, set(), "seek_medical_review", "urgent")
    assert [w.urgency for w in found] == ["emergency"] * len(found)


# -- the command line -------------------------------------------------------------------------


def test_check_explain_shows_the_section_after_the_patients_result(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(PAIN_5))
    runner = CliRunner()
    shown = runner.invoke(main, ["check", "--answers", str(answers), "--explain", "--no-log"])
    assert shown.exit_code == 0
    text = shown.stdout
    assert text.index("Carry on, without adding load") < text.index("For clinicians:")
    assert "reduce load    reduce.pain-during-above-5: pain_during was 5, needs 6 or more" in text
    plain = runner.invoke(main, ["check", "--answers", str(answers), "--no-log"])
    assert "For clinicians" not in plain.stdout and "pain_during was" not in plain.stdout
    as_json = runner.invoke(main, ["check", "--answers", str(answers), "--explain", "--json",
                                   "--no-log"])  # fmt: skip
    assert json.loads(as_json.stdout)["why_not"][0]["answers_away"] == 1


def test_the_questionnaire_never_explains() -> None:
    result = CliRunner().invoke(main, ["check", "--explain", "--patient", "pt-1"])
    assert result.exit_code == 2
    assert "--explain is for clinicians checking a report file" in result.output


def test_log_show_explains_with_the_rules_the_check_was_decided_by(tmp_path: Path) -> None:
    db = str(tmp_path / "log.db")
    triage.check(PAIN_5, log=db)
    runner = CliRunner()
    shown = runner.invoke(main, ["log", "show", "1", "--db", db], catch_exceptions=False)
    assert "reduce.pain-during-above-5: pain_during was 5, needs 6 or more" in shown.stdout
    data = json.loads(runner.invoke(main, ["log", "show", "1", "--db", db, "--json"]).stdout)
    assert data["why_not"][0]["answers_away"] == 1
    other = str(ROOT / "tests" / "support" / "packs" / "coverage")
    elsewhere = runner.invoke(main, ["log", "show", "1", "--db", db, "--rules", other])
    assert "Rules that did not fire: not shown, this check was decided by" in elsewhere.stdout
    assert (
        "why_not_unavailable"
        in runner.invoke(main, ["log", "show", "1", "--db", db, "--rules", other, "--json"]).stdout
    )
