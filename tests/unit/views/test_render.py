"""What the patient reads (clinical.md section 7, v3): the reasons of the result's own level,
the others named for the clinician in a few words, a safety net read last on every result, in
the clinic's own words (the pack's ``contacts``), and a continue result that holds the load
saying so in its first line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

import triage
from tests.support.helpers import examples, load_case, report, reports, vignette_files
from triage.errors import PackError
from triage.evaluation.safety_net import IF_WORSE
from triage.evaluation.times import describe_hours
from triage.evaluation.warning import early_warning
from triage.views.render import render_decision, render_early_warning

PACK_YAML = """\
name: probe
version: 1.0.0
policy: probe policy
no_alert: Nothing to see.
{extra}
"""
RULE = """\
  - id: {id}
    title: {title}
    outcome: {outcome}
{urgency}    when:
      {when}
    patient: {patient}
    clinician: c
{more}    source: {{policy: T, reference: tests}}
"""
RULES = [
    ("faint", "Fainted", "seek_medical_review", "emergency", "fainting: fainted", "FAINTED.", ""),
    ("calf", "Swollen warm calf", "seek_medical_review", "same_day", "swollen_warm_limb: true",
     "CALF.", "    worse_if: If you get breathless, call your emergency number now.\n"),
    ("leak", "Leak when lifting", "seek_medical_review", "routine", "stress_leak: true",
     "LEAK.", ""),
    ("ill", "Unwell", "reduce_load", None, "unwell: true", "ILL.", ""),
    ("doms", "Muscle soreness", "continue", None, "pain_now: {at_least: 1}", "DOMS.",
     "    advice: Do lighter work for that muscle.\n"
     "    headline: Carry on, without adding load to the sore muscle until it eases.\n"),
]  # fmt: skip


def write_pack(folder: Path, extra: str = "", rules: list[tuple[str, ...]] = RULES) -> Path:
    folder.mkdir()
    (folder / "pack.yaml").write_text(PACK_YAML.format(extra=extra))
    text = "rules:\n" + "".join(
        RULE.format(
            id=f"probe.{rule_id}",
            title=title,
            outcome=outcome,
            urgency=f"    urgency: {urgency}\n" if urgency else "",
            when=when,
            patient=patient,
            more=more,
        )
        for rule_id, title, outcome, urgency, when, patient, more in rules
    )
    (folder / "rules.yaml").write_text(text)
    return folder


@pytest.fixture
def pack(tmp_path: Path) -> triage.RulePack:
    return triage.load_pack(write_pack(tmp_path / "pack"))


def screen(pack: triage.RulePack, **answers: object) -> str:
    decision = triage.evaluate(report(**answers), pack=pack, engine="reference")
    return "\n".join(line.text for line in render_decision(decision))


PAIN = {"pain_during": 3, "pain_now": 3, "pain_region": "thigh", "pain_site": "muscle"}


def test_an_emergency_shows_only_its_own_reasons_and_names_the_others(
    pack: triage.RulePack,
) -> None:
    text = screen(pack, fainting="fainted", swollen_warm_limb=True, unwell=True, **PAIN)
    assert "FAINTED." in text
    for lower in ("CALF.", "ILL.", "DOMS.", "lighter work", "breathless, call"):
        assert lower not in text
    assert "Your clinician will also see: Swollen warm calf; Unwell." in text


def test_a_same_day_result_shows_every_review_reason_and_its_own_safety_net(
    pack: triage.RulePack,
) -> None:
    text = screen(pack, swollen_warm_limb=True, stress_leak=True, unwell=True)
    assert "CALF." in text and "LEAK." in text and "ILL." not in text
    assert "Your clinician will also see: Unwell." in text
    net = text.split("LEAK.")[1]
    assert net.index("If you get breathless, call") < net.index(IF_WORSE[:30])
    assert net.rstrip().endswith("contact an urgent-care service today.")


def test_a_routine_result_says_to_come_sooner_if_it_gets_worse(pack: triage.RulePack) -> None:
    text = screen(pack, stress_leak=True)
    assert text.rstrip().endswith("If it gets worse before then, contact your clinician sooner.")
    assert IF_WORSE in text.replace("\n", " ") or IF_WORSE[:40] in text


def test_a_continue_result_that_holds_the_load_says_so_first(pack: triage.RulePack) -> None:
    decision = triage.evaluate(report(**PAIN), pack=pack, engine="reference")
    lines = [line.text for line in render_decision(decision)]
    assert lines[0] == "Carry on, without adding load to the sore muscle until it eases."
    assert decision.headline == lines[0] and decision.advice == (
        "Do lighter work for that muscle.",
    )
    assert "Carry on with your programme" not in "\n".join(lines)
    assert decision.safety_net == (IF_WORSE,)
    plain = triage.evaluate(report(), pack=pack, engine="reference")
    assert render_decision(plain)[0].text == "Carry on with your programme."


def test_the_safety_net_is_in_the_decision_for_every_interface(pack: triage.RulePack) -> None:
    decision = triage.evaluate(report(swollen_warm_limb=True), pack=pack, engine="reference")
    data = decision.to_dict()
    assert data["safety_net"] == [
        "If you get breathless, call your emergency number now.",
        IF_WORSE,
        "If you cannot speak to a clinician today, contact an urgent-care service today.",
    ]
    assert data["contacts"] == {
        "emergency_examples": "999, 112 or 911",
        "urgent_care": "an urgent-care service",
    }


def test_the_clinic_names_its_own_services(tmp_path: Path) -> None:
    extra = "contacts:\n  emergency_examples: '999'\n  urgent_care: NHS 111\n"
    pack = triage.load_pack(write_pack(tmp_path / "pack", extra))
    text = screen(pack, fainting="fainted")
    assert text.startswith(
        "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW (for example 999)."
    )
    assert screen(pack, swollen_warm_limb=True).rstrip().endswith("contact NHS 111 today.")
    default = triage.load_pack(write_pack(tmp_path / "default"))
    assert pack.sha256 != default.sha256  # what the patient is told is part of the rules


def test_an_early_warning_has_the_safety_net_of_its_level(pack: triage.RulePack) -> None:
    warning = early_warning({"fainting": "fainted"}, {"chest_pain"}, pack)
    assert warning is not None
    text = "\n".join(line.text for line in render_early_warning(warning))
    assert text.rstrip().endswith("call your emergency number again.")
    assert warning.to_dict()["safety_net"] == list(warning.safety_net)
    assert type(warning).from_dict(warning.to_dict()) == warning


@pytest.mark.parametrize(
    ("extra", "rules", "message"),
    [
        ("", [("x", "X", "reduce_load", None, "unwell: true", "X.", "    headline: Go on.\n")],
         "headline is only for continue rules"),
        ("contacts:\n  urgent_cares: NHS 111\n", RULES, "unknown key 'urgent_cares'"),
        ("contacts: NHS 111\n", RULES, "contacts must be a mapping"),
        ("", [("x", "X", "reduce_load", None, "unwell: true", "X.", "    worse_if: ''\n")],
         "worse_if must be a non-empty text"),
    ],
    ids=["headline-not-continue", "contacts-typo", "contacts-text", "worse-if-empty"],
)  # fmt: skip
def test_a_pack_that_words_the_screen_wrongly_is_refused(
    tmp_path: Path, extra: str, rules: list[tuple[str, ...]], message: str
) -> None:
    with pytest.raises(PackError, match=message):
        triage.load_pack(write_pack(tmp_path / "pack", extra, rules))


# -- the bundled pack: every result says one thing, and ends with its safety net ------------------

LEVEL_OF = {"emergency": 4, "urgent": 4, "same_day": 3, "routine": 3}


def _rank(outcome: str, urgency: str | None) -> int:
    """The level whose reasons a patient reads: emergency and urgent read together, and so do
    same day and routine (clinical.md section 7)."""
    return LEVEL_OF[urgency] if outcome == "seek_medical_review" and urgency else {
        "continue": 0, "reduce_load": 1}[outcome]  # fmt: skip


def says_one_thing(decision: triage.Decision) -> None:
    lines = [line.text for line in render_decision(decision)]
    text = "\n".join(lines)
    level = _rank(decision.outcome, decision.urgency)
    for reason in decision.reasons:
        shown = f"- {reason.patient}" in lines
        assert shown == (_rank(reason.outcome, reason.urgency) == level), reason.rule
    if decision.outcome != "continue":
        assert not any(advice in text for advice in decision.advice)
    net = [line for line in lines if line]
    assert decision.safety_net and net[-len(decision.safety_net) :] == list(decision.safety_net)


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_a_vignette_reads_one_level_and_ends_with_its_safety_net(path: Path) -> None:
    says_one_thing(triage.evaluate(load_case(path)["report"]))


@examples(1_000)
@given(reports())
def test_a_generated_report_reads_one_level_and_ends_with_its_safety_net(
    data: dict[str, object],
) -> None:
    says_one_thing(triage.evaluate(data))


@pytest.mark.parametrize(
    ("hours", "words"),
    [(0, "just now"), (0.5, "30 minutes ago"), (1, "1 hour ago"), (1.5, "1 hour 30 minutes ago"),
     (47, "47 hours ago"), (50.5, "50 hours 30 minutes ago (about 2 days)")],
)  # fmt: skip
def test_how_long_ago_a_session_ended_in_words(hours: float, words: str) -> None:
    assert describe_hours(hours) == words
