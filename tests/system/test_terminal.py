"""The real program in a pseudo-terminal of 80 columns: a person answering the questions at the
keyboard, in the scenarios of issue 11. Each asserts the screens (what is asked, what is not,
nothing wider than the terminal, no rule ids or hashes) and the outcome, and pins the number of
prompts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pexpect
import pytest

import triage
from tests.support.helpers import BASE

pytestmark = pytest.mark.pty

TRIAGE = str(Path(sys.executable).parent / "triage")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLUMNS = 80
EMERGENCY = "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW"
URGENT = "GO TO AN EMERGENCY DEPARTMENT NOW."
TECHNICAL = re.compile(
    r"\b(emergency|urgent|same-day|routine|reduce-load|continue|history|note)\.[a-z0-9-]+|"
    r"sha256|\b[0-9a-f]{12,}\b|durable|reference engine|compiled|early-warning|\bRules:|"
    r"post-session-safety"
)
PACK = triage.default_pack()
NAMES = {rule.id for rule in PACK.rules} | {note.id for note in PACK.notes} | {PACK.name}


class Patient:
    """``triage check`` in a pty; ``answer`` waits for a question and types the reply."""

    def __init__(self, tmp_path: Path, *args: str, colour: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env.update(
            TERM="xterm-256color",
            COLUMNS=str(COLUMNS),
            LINES="24",
            TRIAGE_DB=str(tmp_path / "log.db"),
        )
        if not colour:
            env["NO_COLOR"] = "1"
        self.env = env
        self.child = pexpect.spawn(
            TRIAGE,
            ["check", *args],
            env=env,
            encoding="utf-8",
            timeout=60,  # generous: a busy machine is slow, not wrong
            dimensions=(24, COLUMNS),
            cwd=str(tmp_path),
        )
        self.seen: list[str] = []
        self.prompts = 0
        self.typed = ""
        self.tmp_path = str(tmp_path)

    def answer(self, question: str, reply: str | Callable[[str], str]) -> None:
        """Wait for ``question`` and its prompt, then type ``reply`` (or what ``reply`` makes
        of the screen so far)."""
        self.child.expect_exact(question)
        self.seen.append(self.child.before + self.child.after)
        self.child.expect_exact("> ")
        self.seen.append(self.child.before)
        self.prompts += 1
        if callable(reply):
            reply = reply(self.screen)
        self.typed = reply
        self.child.sendline(reply)

    def answers(self, pairs: list[tuple[str, str | Callable[[str], str]]]) -> None:
        for question, reply in pairs:
            self.answer(question, reply)

    def end(self) -> tuple[str, int]:
        """The rest of the screen (without the echo of the last answer typed), and the exit
        status."""
        self.child.expect(pexpect.EOF)
        self.seen.append(self.child.before)
        self.child.close()
        rest = ANSI.sub("", self.child.before).replace("\x03", "")  # Ctrl-C, echoed as is
        echo = self.typed + "\r\n"
        return rest.removeprefix(echo) if self.typed else rest, self.child.exitstatus

    @property
    def screen(self) -> str:
        return ANSI.sub("", "".join(self.seen))

    def log(self, *args: str) -> str:
        done = subprocess.run(
            [TRIAGE, "log", *args], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout


def well_laid_out(patient: Patient, result: str) -> None:
    """Nothing wider than the terminal (so nothing wraps mid-word; a file path aside), and
    nothing technical."""
    screen = patient.screen + result
    for line in screen.replace("\r", "").splitlines():
        assert len(line) <= COLUMNS or patient.tmp_path in line, line
    assert not TECHNICAL.search(screen), TECHNICAL.search(screen)
    assert not [name for name in NAMES if name in screen]  # no rule, note or pack name


def first_lines(result: str) -> list[str]:
    return [line for line in result.replace("\r", "").splitlines() if line.strip()]


SESSION = [
    ("Your patient ID", "pt-7"),
    ("When did the session end?", "just now"),
    ("Which week of your programme is this?", ""),
    ("Did this session add a new exercise", ""),
    ("How hard did the session feel?", ""),
    ("how many more repetitions could you have done?", ""),
]
NO_HEART = [("During or after the session", "no")]
NO_SINCE = [("Since the session", "no")]
NO_PAIN = [("Any pain or injury", "no")]
CONFIRM = [("type a number to change that answer.", "")]


def test_no_pain_at_all(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers([*SESSION[:-1], (SESSION[-1][0], "3"), *NO_HEART, *NO_SINCE, *NO_PAIN])
    patient.answers(CONFIRM)
    result, status = patient.end()
    assert status == 0 and patient.prompts == 10  # 9 questions and the summary
    assert first_lines(result)[0] == "Carry on with your programme."
    assert "Saved for your clinician in the triage log (reference number 1)." in result
    assert "Not answered" in patient.screen  # the skipped questions, which can still be answered
    well_laid_out(patient, result)


def test_next_day_doms_after_new_squats(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            ("Your patient ID", "pt-7"),
            ("When did the session end?", "yesterday"),
            ("Which week of your programme is this?", "3"),
            ("Did this session add a new exercise", "y"),
            ("How hard did the session feel?", "7"),
            ("how many more repetitions could you have done?", "2"),
            *NO_HEART,
            *NO_SINCE,
            ("Any pain or injury", "yes"),
            ("What was your worst pain during the session?", "3"),
            ("How bad is the pain right now?", "4"),
            ("Where does it hurt most?", "thigh"),
            ("What does the pain feel like it is in?", "muscle"),
            ("When did the pain start?", "next"),
            ("How long have you had this pain?", "new"),
            ("Does pain shoot down", "none"),
            ("Any sign of an injury", "no"),
            ("spread over an area", "1"),
            ("both sides of the body", "both"),
            ("What does the pain feel like?", "dull"),
            ("Does gentle movement ease the pain?", "y"),
            ("sit or lie still?", "n"),
            ("wake you from sleep?", "n"),
            ("What is your usual pain", ""),
            ("Compared with about a day ago", "worse"),
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 26
    # muscle soreness holds the load, and the first line says so (policy v3, section 4)
    assert (
        first_lines(result)[0] == "Carry on, without adding load to the sore muscle until it eases."
    )
    assert "Soreness in the muscle that starts hours after the session" in result
    screen = patient.screen
    assert " 8) Arm or elbow" in screen  # the fourteen regions in two columns
    assert "Did you feel a pop" not in screen  # no sign of injury: not asked one by one
    well_laid_out(patient, result)


def test_snap_in_the_chest_with_bruising_and_a_tender_chest_wall(tmp_path: Path) -> None:
    """A pectoral strain on the bench press: same day (S1, S4, S10), never the emergency line."""
    patient = Patient(tmp_path)
    patient.answers(
        [
            *SESSION,
            ("During or after the session", "yes"),
            ("Did you have chest pain", "3"),
            ("What was the chest pain like?", "4"),  # sore when pressed or moving the arm
            ("ache, pressure or heaviness", "1"),
            ("cold sweat", "n"),
            ("Did you faint", "1"),
            ("heart race", "1"),
            ("out of breath", "1"),
            ("dizzy", "1"),
            ("Any confusion", "n"),
            ("Did you get a headache", "1"),
            ("blurred, double or lost vision?", "n"),
            *NO_SINCE,
            ("Any pain or injury", "yes"),
            ("What was your worst pain during the session?", "7"),
            ("How bad is the pain right now?", "4"),
            ("Where does it hurt most?", "chest"),
            ("What does the pain feel like it is in?", "muscle"),
            ("When did the pain start?", "sudden"),
            ("How long have you had this pain?", ""),
            ("Does pain shoot down", "none"),
            ("Any sign of an injury", "yes"),
            ("Did you feel a pop, snap or tearing", "y"),
            ("Is there any swelling", "a little"),
            ("within 2 hours?", "n"),
            ("Is there any bruising", "y"),
            ("out of shape", "n"),
            ("dent, gap or bulge", "n"),
            ("weaker than usual?", "a little"),
            ("something new you cannot do", "n"),
            ("Does a joint give way?", ""),
            ("Is a joint stuck", ""),
            ("lump or bulge", "n"),
            ("spread over an area", "2"),
            ("both sides of the body", "one"),
            ("What does the pain feel like?", "sharp"),
            ("Does gentle movement ease the pain?", ""),
            ("sit or lie still?", "n"),
            ("wake you from sleep?", "n"),
            ("What is your usual pain", ""),
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 47
    lines = first_lines(result)
    assert lines[0] == "Contact your clinician today."
    assert EMERGENCY not in result and URGENT not in result
    assert "can be a sign of a torn muscle or tendon" in result
    well_laid_out(patient, result)


def test_ongoing_pressure_chest_pain_stops_right_after_the_chest_pain_answers(
    tmp_path: Path,
) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *SESSION,
            ("During or after the session", "yes"),
            ("Did you have chest pain", "3"),
            ("What was the chest pain like?", "1"),
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 9
    lines = first_lines(result)
    assert lines[0] == EMERGENCY and lines[1] == "(for example 999, 112 or 911)."
    assert "Did you faint" not in result  # no later question
    assert "can be a sign of a heart problem" in " ".join(result.split())
    assert "The other questions are not needed now" in result
    assert "reference number 1" in result
    listed = patient.log("list")
    assert "Stopped early: " in listed and "EMERGENCY" in listed
    shown = patient.log("show", "1")
    assert "Stopped early: the questionnaire stopped at the first red flag" in shown
    assert "chest_pain_kind: pressure" in shown and "Engine: early-warning" in shown
    well_laid_out(patient, result)


def test_saddle_numbness_with_numbness_in_one_leg(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *SESSION,
            *NO_HEART,
            ("Since the session", "yes"),
            ("Is your urine dark", "n"),
            ("tense, hard and swollen", "n"),
            ("calf or arm swollen", "n"),
            ("new loss of control?", "n"),
            ("Did you overheat", "1"),
            ("Any numbness or tingling?", "3 5"),
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 14
    assert first_lines(result)[0] == EMERGENCY
    assert "pressure on the nerves at the base of the spine" in " ".join(result.split())
    assert "fever" not in result and "Any pain or injury" not in result  # stopped early
    entry = json.loads(patient.log("show", "1", "--json"))
    assert entry["decision"]["stopped_early"] is True
    assert entry["decision"]["report"]["numbness"] == ["one_leg", "saddle"]
    well_laid_out(patient, result)


def test_a_dislocated_shoulder_is_urgent(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *SESSION,
            *NO_HEART,
            *NO_SINCE,
            ("Any pain or injury", "yes"),
            ("What was your worst pain during the session?", "8"),
            ("How bad is the pain right now?", "7"),
            ("Where does it hurt most?", "shoulder"),
            ("What does the pain feel like it is in?", "joint"),
            ("When did the pain start?", "sudden"),
            ("How long have you had this pain?", ""),
            ("Does pain shoot down", ""),
            ("Any sign of an injury", "yes"),
            ("Did you feel a pop, snap or tearing", "y"),
            ("Is there any swelling", "a little"),
            ("within 2 hours?", "y"),
            ("Is there any bruising", ""),
            ("out of shape", "y"),
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 22
    assert first_lines(result)[0] == URGENT
    assert "Do not drive yourself. If you cannot get there safely" in result
    assert "on the way, call your emergency number now" in " ".join(result.split())
    assert "weaker than usual" not in result
    well_laid_out(patient, result)


def test_ctrl_c_right_after_answering_fainted(tmp_path: Path) -> None:
    """The answer typed before Ctrl-C is acted on first: the emergency screen, recorded."""
    patient = Patient(tmp_path)
    patient.answers(
        [*SESSION, ("During or after the session", "yes"), ("Did you have chest pain", "1"),
         ("ache, pressure or heaviness", ""), ("cold sweat", "")]
    )  # fmt: skip
    patient.answer("Did you faint", "3")
    patient.child.sendintr()
    result, status = patient.end()
    assert "What was the chest pain like?" not in patient.screen  # no chest pain: not asked
    assert first_lines(result)[0] == EMERGENCY
    assert "Fainting during or after exercise" in result
    assert status == 0 and "reference number 1" in result
    assert "Stopped early: " in patient.log("list")
    well_laid_out(patient, result)


def test_ctrl_c_after_nearly_fainting_shows_what_to_do_and_keeps_it(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [*SESSION, ("During or after the session", "yes"), ("Did you have chest pain", "1"),
         ("ache, pressure or heaviness", ""), ("cold sweat", "")]
    )  # fmt: skip
    patient.answer("Did you faint", "2")  # same day: the questions go on
    patient.child.expect_exact("heart race")
    patient.child.expect_exact("> ")
    patient.child.sendintr()
    result, status = patient.end()
    assert status == 130
    assert first_lines(result)[:2] == ["Stopped.", "Contact your clinician today."]
    assert "call your emergency number now" in " ".join(result.split())
    assert "reference number 1" in result
    well_laid_out(patient, result)


def test_ctrl_c_with_nothing_alarming_saves_nothing(tmp_path: Path) -> None:
    saved = tmp_path / "answers.yaml"
    patient = Patient(tmp_path, "--save-answers", str(saved))
    patient.answer("Your patient ID", "pt-7")
    patient.child.expect_exact("When did the session end?")
    patient.child.expect_exact("> ")
    patient.child.sendintr()
    result, status = patient.end()
    assert "Stopped. Nothing was saved." in result
    assert "or have numbness around your groin or bottom, call your emergency number now." in (
        " ".join(result.split())
    )  # the red-flag advice, whatever was answered
    assert status == 130 and not saved.exists()


def test_a_follow_up_two_days_later(tmp_path: Path) -> None:
    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    first = {
        **BASE,
        "patient_id": "pt-7",
        "reported_at": two_days_ago.isoformat(timespec="seconds"),
        "program_week": 3,
        "session_rpe": 7,
        "reps_in_reserve": 2,
        "pain_during": 4,
        "pain_now": 2,
        "pain_region": "knee",
        "pain_site": "joint",
    }
    patient = Patient(tmp_path, "--follow-up")
    subprocess.run(
        [TRIAGE, "check", "--answers", "-"],
        input=json.dumps(first),
        text=True,
        env=patient.env,
        capture_output=True,
        check=True,
    )
    ended = (two_days_ago - timedelta(hours=0.5)).astimezone()
    patient.answers(
        [
            ("Your patient ID", "pt-7"),
            (f"ended on {ended:%A} at {ended:%H:%M}", "yes"),
            *NO_HEART,
            *NO_SINCE,
            ("How bad is the pain right now?", "3"),
            ("Where does it hurt most?", "knee"),
            ("What does the pain feel like it is in?", "joint"),
            ("When did the pain start?", ""),
            ("How long have you had this pain?", ""),
            ("Does pain shoot down", ""),
            ("Any sign of an injury", "no"),
            ("spread over an area", ""),
            ("both sides of the body", ""),
            ("What does the pain feel like?", ""),
            ("Does gentle movement ease the pain?", ""),
            ("sit or lie still?", ""),
            ("wake you from sleep?", ""),
            ("What is your usual pain", ""),
            ("Compared with about a day ago", "better"),
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 20
    screen = patient.screen
    asked_before = ("When did the session end?", "Which week", "add a new exercise", "How hard did",
                    "how many more repetitions", "worst pain")  # fmt: skip
    for not_again in asked_before:
        assert not_again not in screen
    assert "Worst pain during the session" in screen  # shown in the summary, from the log
    # pain 4/10 during the session: carry on, holding the load (C2 at 4-5)
    assert first_lines(result)[0].startswith("Carry on, without adding load")
    assert "reference number 2" in result
    assert (
        json.loads(patient.log("show", "2", "--json"))["session_id"]
        == json.loads(patient.log("show", "1", "--json"))["session_id"]
    )
    well_laid_out(patient, result)


def row(label: str) -> Callable[[str], str]:
    """The number of ``label``'s row in the last summary on the screen, typed to change it."""

    def number(screen: str) -> str:
        rows = screen.rsplit("Your answers", 1)[1].splitlines()
        return next(line.split(".")[0].strip() for line in rows if label in line)

    return number


def test_changing_answers_at_the_summary(tmp_path: Path) -> None:
    """Each change shows the answer in force, Enter keeps it; a skipped question can be
    answered; a group opened at the summary asks the questions it now needs."""
    patient = Patient(tmp_path)
    patient.answers(
        [*SESSION[:2], (SESSION[2][0], "3"), *SESSION[3:], *NO_HEART, *NO_SINCE, *NO_PAIN]
    )
    patient.answers([(CONFIRM[0][0], row("Programme week")), ("Which week", "")])
    assert "(1 to 520; Enter keeps: 3; ? for help)" in patient.screen
    patient.answers([(CONFIRM[0][0], row("How hard the session felt")), ("How hard", "6")])
    assert "Enter keeps: Not answered" in patient.screen
    patient.answers(
        [
            (CONFIRM[0][0], row("Pain or injury")),
            ("Any pain or injury", "yes"),
            ("What was your worst pain during the session?", "2"),
            ("How bad is the pain right now?", "0"),
            ("Where does it hurt most?", "lower back"),  # pain during the session: now needed
            ("What does the pain feel like it is in?", "muscle"),
            ("When did the pain start?", ""),
            ("How long have you had this pain?", ""),
            ("Does pain shoot down", "none"),
            ("Any sign of an injury", "no"),
            ("spread over an area", ""),
            ("both sides of the body", ""),
            ("What does the pain feel like?", ""),
            ("Does gentle movement ease the pain?", ""),
            ("sit or lie still?", ""),
            ("wake you from sleep?", ""),
            ("What is your usual pain", ""),
            *CONFIRM,
        ]
    )
    assert "Enter keeps: No" in patient.screen  # the gate's answer in force, before "yes"
    summary = " ".join(patient.screen.rsplit("Your answers", 1)[1].split())
    assert "Programme week 3" in summary and "How hard the session felt 6/10" not in summary
    assert "How hard the session felt 6" in summary and "Signs of injury None of these" in summary
    result, status = patient.end()
    assert status == 0 and "reference number 1" in result
    report = json.loads(patient.log("show", "1", "--json"))["decision"]["report"]
    assert (report["program_week"], report["session_rpe"], report["pain_during"]) == (3, 6, 2)
    assert report["pain_region"] == "lower_back" and "reps_in_reserve" not in report
    well_laid_out(patient, result)


def test_help_at_the_questions_and_a_check_not_saved(tmp_path: Path) -> None:
    """'?' gives help written for a patient (a gate, a time, a set); with --no-log, the result
    says clearly that the check was not saved."""
    patient = Patient(tmp_path, "--no-log")
    patient.answers(
        [
            ("Your patient ID", "pt-7"),
            ("When did the session end?", "?"),
            ("For example: just now, this morning", "3 hours ago"),
            *SESSION[2:],
            *NO_HEART,
            ("Since the session", "?"),
            ("Answer yes even if you are not sure it is related", "yes"),
            ("Is your urine dark", "n"),
            ("tense, hard and swollen", "n"),
            ("calf or arm swollen", "n"),
            ("new loss of control?", "n"),
            ("Did you overheat", "1"),
            ("Any numbness or tingling?", "?"),
            ("The saddle area is around the groin", "1 none"),
            ("'none' is an answer of its own", "none"),
            ("Do you have a fever", "n"),
            ("leak a little urine", "n"),
            *NO_PAIN,
            *CONFIRM,
        ]
    )
    screen = patient.screen
    assert "type every number that applies, separated by spaces or commas, or 'none'" in screen
    assert not re.search(r"\btrue or false\b|\bone of \w+, |\[\]|[a-z]_[a-z]", screen)  # no tokens
    assert "Recovered means you felt normal" not in screen  # help only when asked for
    result, status = patient.end()
    assert status == 0 and first_lines(result)[0] == "Carry on with your programme."
    assert "Not saved in the triage log: recording was not asked for (--no-log)." in result
    assert not (tmp_path / "log.db").exists()
    well_laid_out(patient, result)


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path, colour: bool) -> None:
    patient = Patient(tmp_path, colour=colour)
    patient.answers([*SESSION, *NO_HEART, *NO_SINCE, *NO_PAIN, *CONFIRM])
    patient.child.expect(pexpect.EOF)
    output = patient.child.before
    patient.child.close()
    assert "Carry on with your programme." in output
    assert ("\x1b[" in output) is colour
