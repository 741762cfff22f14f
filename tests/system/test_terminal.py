"""The real program in a pseudo-terminal of 80 columns: a person answering the questions at the
keyboard, in the scenarios of issue 11 and of questionnaire v3 (issue 24). Each asserts the
screens (what is asked, what is not, nothing wider than the terminal, no rule ids or hashes) and
the outcome, and pins the number of prompts."""

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
        """The rest of the screen (without the echo of the last answer typed, nor the
        "Your answer: ..." line that shows how it was read), and the exit status."""
        self.child.expect(pexpect.EOF)
        self.seen.append(self.child.before)
        self.child.close()
        rest = ANSI.sub("", self.child.before).replace("\x03", "")  # Ctrl-C, echoed as is
        echo = self.typed + "\r\n"
        rest = rest.removeprefix(echo) if self.typed else rest
        read_as = re.match(r"  Your answer: [^\n]*\n", rest)
        return rest.removeprefix(read_as[0]) if read_as else rest, self.child.exitstatus

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


FIRST = [("First: is any of these happening to you now?", "n")]
NEW_PATIENT = [
    ("Your patient ID", "pt-7"),
    ("This is the first check for 'pt-7'. Is that your patient ID?", "y"),
    ("How old are you?", ""),
    ("Do any of these apply to you?", "none"),
]
SESSION = [*FIRST, *NEW_PATIENT, ("When did the session end?", "just now")]
"""Questionnaire v3 (issue 24): what comes before the warning-sign groups."""
ROUTINE = [
    ("Which week of your programme is this?", ""),
    ("Did this session add a new exercise", ""),
    ("How hard was the session as a whole, from 0 to 10?", ""),
    ("how many more repetitions could you have done?", ""),
]
"""The routine questions, asked after the warning-sign groups since questionnaire v3."""
NO_HEART = [("During or since the session", "no")]
NO_SINCE = [("Since the session", "no")]
NO_PAIN = [("Any pain, soreness or stiffness", "no")]
CONFIRM = [("type a number to change that answer.", "")]


def test_no_pain_at_all(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers([*SESSION, *NO_HEART, *NO_SINCE, *NO_PAIN, *ROUTINE[:-1]])
    patient.answer(ROUTINE[-1][0], "3")
    patient.answers(CONFIRM)
    result, status = patient.end()
    # 13 questions and the summary; 10 before questionnaire v3, +4: the first screen, the new
    # ID confirmed, age, conditions
    assert status == 0 and patient.prompts == 14
    assert first_lines(result)[0] == "Carry on with your programme."
    assert "Saved for your clinician in the triage log (reference number 1)." in result
    assert "Not answered" in patient.screen  # the skipped questions, which can still be answered
    well_laid_out(patient, result)


def test_next_day_doms_after_new_squats(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *FIRST,
            *NEW_PATIENT,
            # "yesterday" alone now asks for a time; a day and a half is over 24 hours whatever
            # the time of day, so the pain trend is asked
            ("When did the session end?", "a day and a half ago"),
            *NO_HEART,
            *NO_SINCE,
            ("Any pain, soreness or stiffness", "yes"),
            ("What was your worst pain during the session?", "3"),
            ("How bad is the pain right now?", "4"),
            ("Where does it hurt most?", "thigh"),
            ("What does the pain feel like it is in?", "muscle"),
            ("How long have you had this pain?", "new"),
            ("When did this pain start, or get worse", "next"),
            ("Does pain shoot down", "none"),
            ("Any sign of an injury", "no"),
            ("spread over an area", "1"),
            ("both sides of the body", "both"),
            ("What does the pain feel like?", "dull"),
            ("Does gentle movement ease the pain?", "y"),
            ("sit or lie still?", "n"),
            ("wake you from sleep?", "n"),
            ("What is your usual pain", ""),
            ("Compared with when it started, or with yesterday", "worse"),
            ("Which week of your programme is this?", "3"),
            ("Did this session add a new exercise", "y"),
            ("How hard was the session as a whole", "7"),
            ("how many more repetitions could you have done?", "2"),
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    # 26 before questionnaire v3; +4: the first screen, the new ID confirmed, age, conditions
    assert status == 0 and patient.prompts == 30
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
            ("During or since the session", "yes"),
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
            ("Any pain, soreness or stiffness", "yes"),
            ("What was your worst pain during the session?", "7"),
            ("How bad is the pain right now?", "4"),
            ("Where does it hurt most?", "chest"),
            ("What does the pain feel like it is in?", "muscle"),
            ("How long have you had this pain?", ""),
            ("When did this pain start, or get worse", "sudden"),
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
            *ROUTINE,
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    # 47 before questionnaire v3; +4: the first screen, the new ID confirmed, age, conditions
    assert status == 0 and patient.prompts == 51
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
            ("During or since the session", "yes"),
            ("Did you have chest pain", "3"),
            ("What was the chest pain like?", "1"),
        ]
    )
    result, status = patient.end()
    # 9 before questionnaire v3 too: +4 (the first screen, the new ID confirmed, age,
    # conditions), -4 (the routine questions, now after the warning signs: never reached)
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
            ("a whole muscle such as the calf", "n"),
            ("calf or arm swollen", "n"),
            ("new loss of control?", "n"),
            ("Did you get too hot", "1"),
            ("do you have numbness or tingling?", "3 5"),
        ]
    )
    result, status = patient.end()
    # 14 before questionnaire v3 too: +4 (the first screen, the new ID confirmed, age,
    # conditions), -4 (the routine questions, now after the warning signs: never reached)
    assert status == 0 and patient.prompts == 14
    assert first_lines(result)[0] == EMERGENCY
    assert "pressure on the nerves at the base of the spine" in " ".join(result.split())
    assert "fever" not in result and "Any pain, soreness" not in result  # stopped early
    assert "Which week" not in patient.screen + result
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
            ("Any pain, soreness or stiffness", "yes"),
            ("What was your worst pain during the session?", "8"),
            ("How bad is the pain right now?", "7"),
            ("Where does it hurt most?", "shoulder"),
            ("What does the pain feel like it is in?", "joint"),
            ("How long have you had this pain?", ""),
            ("When did this pain start, or get worse", "sudden"),
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
    # 22 before questionnaire v3 too: +4 (the first screen, the new ID confirmed, age,
    # conditions), -4 (the routine questions, now after the warning signs: never reached)
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
        [*SESSION, ("During or since the session", "yes"), ("Did you have chest pain", "1"),
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
        [*SESSION, ("During or since the session", "yes"), ("Did you have chest pain", "1"),
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
    patient.answers([*FIRST, *NEW_PATIENT[:-1], (NEW_PATIENT[-1][0], "4")])  # blood thinners
    patient.child.expect_exact("When did the session end?")
    patient.child.expect_exact("> ")
    patient.child.sendintr()
    result, status = patient.end()
    assert "Stopped. Nothing was saved." in result
    assert "or have numbness around your groin or bottom, call your emergency number now." in (
        " ".join(result.split())
    )  # the red-flag advice, whatever was answered
    assert status == 130 and not saved.exists()
    assert not (tmp_path / "log.db").exists()  # nor the age and conditions typed


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
            *FIRST,
            ("Your patient ID", "pt-7"),
            ("How old are you?", ""),  # pt-7 has had a check, but has no record
            ("Do any of these apply to you?", "none"),
            (f"ended on {ended:%A} at {ended:%H:%M}", "yes"),
            *NO_HEART,
            *NO_SINCE,
            ("How bad is the pain right now?", "3"),
            ("Where does it hurt most?", "knee"),
            ("What does the pain feel like it is in?", "joint"),
            ("How long have you had this pain?", ""),
            ("When did this pain start", ""),
            ("Does pain shoot down", ""),
            ("Any sign of an injury", "no"),
            ("spread over an area", ""),
            ("both sides of the body", ""),
            ("What does the pain feel like?", ""),
            ("Does gentle movement ease the pain?", ""),
            ("sit or lie still?", ""),
            ("wake you from sleep?", ""),
            ("What is your usual pain", ""),
            ("Compared with when it started", "better"),
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 23  # +3: the first screen, age, conditions
    screen = patient.screen
    asked_before = ("When did the session end?", "Which week", "add a new exercise", "How hard was",
                    "how many more repetitions", "worst pain")  # fmt: skip
    for not_again in asked_before:
        assert not_again not in screen
    assert "Worst pain during the session" in screen  # shown in the summary, from the log
    # pain 4/10 during the session: carry on, holding the load (C2 at 4-5)
    assert first_lines(result)[0].startswith("Carry on, without adding load")
    assert "reference number 2" in result
    assert "Since your check on " in result and "pain now 2/10 -> 3/10 (worse)" in result
    assert result.index("Since your check on ") < result.index("If you get chest pain")
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
    patient.answers([*SESSION, *NO_HEART, *NO_SINCE, *NO_PAIN, (ROUTINE[0][0], "3"), *ROUTINE[1:]])
    patient.answers([(CONFIRM[0][0], row("Programme week")), ("Which week", "")])
    assert "(1 to 520; Enter keeps: 3; ? for help)" in patient.screen
    patient.answers([(CONFIRM[0][0], row("How hard the session felt")), ("How hard", "6")])
    assert "Enter keeps: Not answered" in patient.screen
    patient.answers(
        [
            (CONFIRM[0][0], row("Pain or injury")),
            ("Any pain, soreness or stiffness", "yes"),
            ("What was your worst pain during the session?", "2"),
            ("How bad is the pain right now?", "0"),
            ("Where does it hurt most?", "lower back"),  # pain during the session: now needed
            ("What does the pain feel like it is in?", "muscle"),
            ("How long have you had this pain?", ""),
            ("When did this pain start, or get worse", ""),
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
            *SESSION[:-1],
            ("When did the session end?", "?"),
            ("For example: just now, 45 minutes ago, this morning", "3 hours ago"),
            *NO_HEART,
            ("Since the session", "?"),
            ("Answer yes even if you are not sure it is related", "yes"),
            ("Is your urine dark", "n"),
            ("a whole muscle such as the calf", "n"),
            ("calf or arm swollen", "n"),
            ("new loss of control?", "n"),
            ("Did you get too hot", "1"),
            ("do you have numbness or tingling?", "?"),
            ("Choose every place where you have it", "1 none"),
            ("'none' is an answer of its own", "none"),
            ("Do you have a fever", "n"),
            ("leak a little urine", "n"),
            *NO_PAIN,
            *ROUTINE,
            *CONFIRM,
        ]
    )
    screen = patient.screen
    assert "type every number that applies, separated by spaces or commas, or 'none'" in screen
    assert not re.search(r"\btrue or false\b|\bone of \w+, |\[\]|[a-z]_[a-z]", screen)  # no tokens
    assert "Recovered means normal" not in screen  # help only when asked for
    result, status = patient.end()
    assert status == 0 and first_lines(result)[0] == "Carry on with your programme."
    assert "Not saved in the triage log: recording was not asked for (--no-log)." in result
    assert not (tmp_path / "log.db").exists()
    well_laid_out(patient, result)


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path, colour: bool) -> None:
    patient = Patient(tmp_path, colour=colour)
    patient.answers([*SESSION, *NO_HEART, *NO_SINCE, *NO_PAIN, *ROUTINE, *CONFIRM])
    patient.child.expect(pexpect.EOF)
    output = patient.child.before
    patient.child.close()
    assert "Carry on with your programme." in output
    assert ("\x1b[" in output) is colour


# -- questionnaire v3 (issue 24) ----------------------------------------------------------------


def test_red_flag_first_shows_the_emergency_screen_before_the_patient_id(tmp_path: Path) -> None:
    """What is happening now is asked first: chest pain now gives the emergency screen at once,
    and only then the two questions that let the clinician see the check."""
    patient = Patient(tmp_path)
    patient.answer(FIRST[0][0], "2")  # chest pain, pressure or tightness now
    patient.answer("Your patient ID (Enter to skip)", "pt-7")
    shown = patient.screen
    assert first_lines(shown.split("Your answer: ", 1)[1])[1] == EMERGENCY
    assert shown.index(EMERGENCY) < shown.index("Your patient ID")
    assert "Call for help first." in shown
    patient.answer("When did the session end? (Enter to skip)", "2 hours ago")
    result, status = patient.end()
    assert status == 0 and patient.prompts == 3  # the first screen, the ID, the time
    assert first_lines(result)[0] == (
        "Saved for your clinician in the triage log (reference number 1)."
    )
    for not_asked in ("This is the first check", "How old are you?", "During or since"):
        assert not_asked not in patient.screen + result
    listed = patient.log("list")
    assert "pt-7" in listed and "EMERGENCY" in listed and "Stopped early: " in listed
    entry = json.loads(patient.log("show", "1", "--json"))
    assert (entry["urgency"], entry["decision"]["stopped_early"]) == ("emergency", True)
    assert entry["decision"]["report"]["hours_since_session"] == 2.0
    well_laid_out(patient, result)


@pytest.mark.parametrize(
    "typed", [[""], ["pt-7", ""]], ids=["id-skipped", "time-skipped"]
)  # fmt: skip
def test_red_flag_first_with_the_details_skipped_is_not_saved(
    tmp_path: Path, typed: list[str]
) -> None:
    patient = Patient(tmp_path)
    patient.answer(FIRST[0][0], "2")
    patient.answer("Your patient ID (Enter to skip)", typed[0])
    if len(typed) > 1:
        patient.answer("When did the session end? (Enter to skip)", typed[1])
    result, status = patient.end()
    # with no ID there is nothing to record the check under: the time is not asked
    assert status == 0 and patient.prompts == 1 + len(typed)
    assert EMERGENCY in patient.screen
    assert ("When did the session end?" in patient.screen) is (len(typed) > 1)
    assert first_lines(result)[0].startswith("Not saved in the triage log")
    assert not (tmp_path / "log.db").exists()
    well_laid_out(patient, result)


def test_blood_thinners_with_no_record_and_a_knee_swollen_within_the_hour(
    tmp_path: Path,
) -> None:
    """A 70-year-old on blood thinners, first check, no record: the age and conditions given
    make fast swelling urgent, and go onto the record for the next check."""
    patient = Patient(tmp_path)
    patient.answers(
        [
            *FIRST,
            ("Your patient ID", "pt-7"),
            ("This is the first check for 'pt-7'. Is that your patient ID?", "y"),
            ("How old are you?", "70"),
            ("Do any of these apply to you?", "4"),
            ("When did the session end?", "an hour and a half ago"),
            *NO_HEART,
            *NO_SINCE,
            ("Any pain, soreness or stiffness", "yes"),
            ("What was your worst pain during the session?", "4"),
            ("How bad is the pain right now?", "5"),
            ("Where does it hurt most?", "knee"),
            ("What does the pain feel like it is in?", "joint"),
            ("How long have you had this pain?", "new"),
            ("When did this pain start, or get worse", "gradual"),  # or within an hour after
            ("Does pain shoot down", "none"),
            ("Any sign of an injury", "yes"),
            ("Did you feel a pop, snap or tearing", "n"),
            ("Is there any swelling", "a lot"),
            ("within 2 hours?", "y"),
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 20
    assert first_lines(result)[0] == URGENT
    assert "On blood thinners, swelling that came up within two hours" in " ".join(result.split())
    assert "The other questions are not needed now" in result
    screen = patient.screen
    assert "Your answer: Taking blood thinners (anticoagulants)" in screen
    assert "Your answer: ended about " in screen or "Your answer: ended yesterday" in screen
    assert "Is there any bruising" not in screen + result  # stopped early
    entry = json.loads(patient.log("show", "1", "--json"))
    assert (entry["urgency"], entry["decision"]["stopped_early"]) == ("urgent", True)
    assert entry["decision"]["reasons"][0]["rule"] == "urgent.fast-swelling-on-blood-thinners"
    report = entry["decision"]["report"]
    assert (report["age"], report["conditions"]) == (70, ["blood_thinners"])
    well_laid_out(patient, result)

    again = Patient(tmp_path)  # the same log: the record is there now
    again.answers(
        [
            *FIRST,
            ("Your patient ID", "pt-7"),
            ("Your record says: age 70; taking blood thinners (anticoagulants). Is that right?",
             "y"),
            ("When did the session end?", "just now"),
            *NO_HEART,
            *NO_SINCE,
            *NO_PAIN,
            *ROUTINE,
            *CONFIRM,
        ]
    )  # fmt: skip
    result, status = again.end()
    # 14 for a new patient: -3 (the ID confirmed, age, conditions), +1 (the record confirmed)
    assert status == 0 and again.prompts == 12
    for not_asked in ("This is the first check", "How old are you?", "Do any of these apply"):
        assert not_asked not in again.screen
    summary = " ".join(again.screen.rsplit("Your answers", 1)[1].split())
    assert "Age 70" in summary and "Taking blood thinners (anticoagulants)" in summary
    assert first_lines(result)[0] == "Carry on with your programme."
    assert "reference number 2" in result
    well_laid_out(again, result)


def test_an_ache_in_the_jaw_and_arm_still_there_is_an_emergency(tmp_path: Path) -> None:
    """Heart pain felt only in the jaw, neck or arm: no chest pain, the ache still there."""
    patient = Patient(tmp_path)
    patient.answers(
        [
            *SESSION,
            ("During or since the session", "yes"),
            ("Did you have chest pain", "n"),
            ("ache, pressure or heaviness", "3"),  # Yes, and I still have it
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 9
    assert first_lines(result)[0] == EMERGENCY
    assert "can be a sign of a heart problem, even without chest pain" in " ".join(result.split())
    assert "What was the chest pain like?" not in patient.screen  # no chest pain: not asked
    assert "cold sweat or feel" not in patient.screen + result  # stopped early
    entry = json.loads(patient.log("show", "1", "--json"))
    assert entry["urgency"] == "emergency" and entry["decision"]["stopped_early"] is True
    rules = [reason["rule"] for reason in entry["decision"]["reasons"]]
    assert rules == ["emergency.referred-ache-ongoing"]
    well_laid_out(patient, result)


def test_no_symptoms_the_shortest_way_through(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *FIRST,
            *NEW_PATIENT,  # age skipped, conditions none
            ("When did the session end?", "30 minutes ago"),
            *NO_HEART,
            *NO_SINCE,
            *NO_PAIN,
            *ROUTINE,
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 14
    assert first_lines(result)[0] == "Carry on with your programme."
    assert "Saved for your clinician in the triage log (reference number 1)." in result
    screen = patient.screen
    ended = r"(about \d\d:\d\d today|yesterday at about \d\d:\d\d)"
    assert re.search(rf"Your answer: ended {ended}, 30 minutes ago", screen)
    summary = " ".join(screen.rsplit("Your answers", 1)[1].split())
    for row_shown in (
        "Happening now None of these",
        "Patient ID pt-7",
        "Age Not answered",
        "Known conditions None",
        "Session ended 30 minutes ago",
    ):
        assert row_shown in summary
    record = subprocess.run(
        [TRIAGE, "patient", "show", "pt-7"],
        env=patient.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "by the patient (questionnaire)" in record  # the answers kept for the next check
    well_laid_out(patient, result)


def test_idk_is_not_a_patient_id(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *FIRST,
            ("Your patient ID", "idk"),
            ("'idk' is not a patient ID", "pt-7"),  # the ID asked again
            *NEW_PATIENT[1:],
            ("When did the session end?", "just now"),
            *NO_HEART,
            *NO_SINCE,
            *NO_PAIN,
            *ROUTINE,
            *CONFIRM,
        ]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 15  # the shortest way, and the ID typed again
    assert first_lines(result)[0] == "Carry on with your programme."
    assert "This is the first check for 'idk'" not in patient.screen
    assert json.loads(patient.log("show", "1", "--json"))["patient_id"] == "pt-7"
    well_laid_out(patient, result)


def test_time_phrases_yesterday_needs_a_time(tmp_path: Path) -> None:
    patient = Patient(tmp_path)
    patient.answers(
        [
            *FIRST,
            *NEW_PATIENT,
            ("When did the session end?", "yesterday"),
            ("Yesterday at roughly what time? For example: yesterday at 6pm", "yesterday at 6pm"),
        ]
    )
    typed_at = datetime.now().astimezone()
    patient.answers(
        [*NO_HEART, *NO_SINCE, *NO_PAIN, (ROUTINE[0][0], "3 months"), *ROUTINE[1:], *CONFIRM]
    )
    result, status = patient.end()
    assert status == 0 and patient.prompts == 15  # the shortest way, and the time typed again
    assert first_lines(result)[0] == "Carry on with your programme."
    read_as = re.search(
        r"Your answer: ended yesterday at about (\d\d):(\d\d), (\d+) hours?(?: (\d+) minutes)? ago",
        patient.screen,
    )
    assert read_as, patient.screen
    six_pm = datetime.combine(typed_at.date() - timedelta(days=1), datetime.min.time())
    six_pm = six_pm.replace(hour=18).astimezone()
    hours, minutes = int(read_as[3]), int(read_as[4] or 0)
    assert abs(hours * 60 + minutes - (typed_at - six_pm).total_seconds() / 60) <= 10
    # The echo should read "about 18:00"; it can be 5 minutes off, as the hours are rounded to
    # 0.1 before the clock time is worked back from them and rounded to 5 minutes.
    assert abs(int(read_as[1]) * 60 + int(read_as[2]) - 18 * 60) <= 5
    summary = " ".join(patient.screen.rsplit("Your answers", 1)[1].split())
    assert "Programme week 13" in summary
    report = json.loads(patient.log("show", "1", "--json"))["decision"]["report"]
    assert report["program_week"] == 13
    assert abs(report["hours_since_session"] - (typed_at - six_pm).total_seconds() / 3600) < 0.2
    well_laid_out(patient, result)
