"""What the patient reads: help for every question, screens that fit 80 columns without a word
broken, and no rule ids, hashes or engine names."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import triage
from tests.support.helpers import load_case, report, vignette_files
from triage.evaluation.questionnaire import GATES, ITEMS, Gate, Interview, Step, session_end
from triage.evaluation.warning import early_warning
from triage.views.prompts import UNSET, help_text, question_lines, summary_lines
from triage.views.render import render_decision, render_early_warning

STEPS: list[Step] = [*(item for _, item in ITEMS.values()), *GATES.values()]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.key)
def test_every_question_has_help_written_for_a_patient(step: Step) -> None:
    text = help_text(step)
    assert len(text) > 20, step.key
    for token in ("true or false", "one of ", "[]"):
        assert token not in text, (step.key, token)
    assert not re.search(r"[a-z]_[a-z]", text), step.key  # no field names


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.key)
@pytest.mark.parametrize("width", [80, 60])
def test_every_question_fits_the_width(step: Step, width: int) -> None:
    value = step.spec.choices[-1] if not isinstance(step, Gate) and step.spec.choices else None
    if not isinstance(step, Gate) and step.spec.kind == "set":
        value = list(step.spec.choices)
    for keep in (UNSET, None, value):
        for line in question_lines(step, width, keep):
            assert len(line.text) <= width, (step.key, line.text)


def test_the_body_regions_fit_one_screen_in_two_columns() -> None:
    lines = question_lines(ITEMS["pain_region"][1], 80)
    assert len(lines) <= 12  # blank, question, 7 rows, hint
    assert any("1) Head" in line.text and "8) Arm or elbow" in line.text for line in lines)


def test_the_trend_question_reads_right_at_exactly_24_hours() -> None:
    interview = Interview({"patient_id": "p", "hours_since_session": 24})
    for key, value in (("program_week", None), ("new_load", None), ("session_rpe", None),
                       ("reps_in_reserve", None), ("heart", False), ("since", False),
                       ("pain", True), ("pain_during", 3), ("pain_now", 3)):  # fmt: skip
        interview.answer(interview.step(key), value)
    assert "pain_trend" in interview.pending()
    assert ITEMS["pain_trend"][1].spec.ask.question.startswith(
        "Compared with when it started, or with yesterday if it began before"
    )


def test_the_summary_fits_80_columns() -> None:
    interview = Interview({"patient_id": "pt-0042"})
    answers = report(pain_during=4, pain_now=3, pain_region="upper_back", pain_site="other",
                     chest_pain="resolved", chest_pain_kind="tearing", numbness=["one_arm",
                     "both_legs", "saddle"], hours_since_session=30, pain_trend="same")  # fmt: skip
    from tests.support.helpers import gate_answer

    while (step := interview.next_step()) is not None:
        value = gate_answer(step, answers) if isinstance(step, Gate) else answers.get(step.key)
        interview.answer(step, value)
    lines = summary_lines(interview.summary(), 80)
    assert all(len(line.text) <= 80 for line in lines), [l.text for l in lines]  # noqa: E741
    text = "\n".join(line.text for line in lines)
    assert "Upper back, between the shoulder blades" in " ".join(text.split())


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_the_result_screen_names_no_rule_hash_or_engine(path: Path) -> None:
    decision = triage.evaluate(load_case(path)["report"])
    text = "\n".join(line.text for line in render_decision(decision))
    assert decision.rule_pack.sha256[:12] not in text
    for reason in decision.reasons:
        assert reason.rule not in text
    assert decision.engine.name not in text and "Rules:" not in text


def test_the_early_warning_screen_names_no_rule_either() -> None:
    found = early_warning({"patient_id": "p", "deformity": True}, {"fainting"})
    assert found is not None
    text = "\n".join(line.text for line in render_early_warning(found))
    assert text.startswith("GO TO AN EMERGENCY DEPARTMENT NOW.")
    assert "urgent.deformity" not in text and "early-warning" not in text


def test_when_a_session_ended_in_words() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc).astimezone()
    at = now.replace(hour=9, minute=10)
    assert session_end(at, now) == "today at 09:10"
    assert session_end(at - timedelta(days=1), now).startswith("yesterday at ")
    assert session_end(at - timedelta(days=3), now).startswith(f"on {at - timedelta(days=3):%A}")
    assert session_end(at - timedelta(days=10), now).startswith("on 11 November")
