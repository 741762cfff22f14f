"""The real program in a pseudo-terminal: a person answering the questions at the keyboard."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect

TRIAGE = str(Path(sys.executable).parent / "triage")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def spawn(tmp_path: Path, *args: str, colour: bool = True) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(
        {
            "TERM": "xterm-256color",
            "COLUMNS": "100",
            "LINES": "40",
            "TRIAGE_DB": str(tmp_path / "log.db"),
        }
    )
    if not colour:
        env["NO_COLOR"] = "1"
    return pexpect.spawn(
        TRIAGE,
        ["check", *args],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 100),
        cwd=str(tmp_path),
    )


def answer(child: pexpect.spawn, question: str, reply: str) -> None:
    child.expect_exact(question)
    child.expect_exact("> ")
    child.sendline(reply)


def no_pain_no_heart_until(child: pexpect.spawn, heart: str = "no") -> None:
    answer(child, "Your patient ID", "pt-7")
    answer(child, "When did the session end?", "just now")
    answer(child, "Which week of your programme is this?", "")
    answer(child, "Did this session add a new exercise", "")
    answer(child, "How hard did the session feel?", "")
    answer(child, "how many more repetitions could you have done?", "3")
    answer(child, "Any pain or injury", "no")
    answer(child, "During or after the session", heart)


def test_full_check_in_a_terminal_ends_on_the_emergency_screen(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    no_pain_no_heart_until(child, heart="yes")
    answer(child, "Did you have chest pain", "3")
    answer(child, "What was the chest pain like?", "1")
    for question in ("faint", "heart race", "out of breath", "dizzy"):
        answer(child, question, "1")
    answer(child, "Any confusion", "n")
    answer(child, "Any sudden blurred, double or lost vision?", "n")
    answer(child, "Did you get a headache", "1")
    answer(child, "Since the session", "no")
    child.expect_exact("Your answers")
    child.expect_exact("to change it.")
    summary = ANSI.sub("", child.before)
    child.expect_exact("> ")
    assert "Chest pain" in summary and "Yes, and I still have it" in summary
    child.sendline("")
    child.expect(pexpect.EOF)
    screen = child.before
    child.close()
    assert child.exitstatus == 0
    lines = [ANSI.sub("", line) for line in screen.splitlines() if line.strip()]
    assert (
        lines[0]
        == "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW (for example 999, 112 or 911)."
    )
    assert "\x1b[" in screen.splitlines()[1] or "\x1b[" in screen  # coloured on a terminal
    assert "can be a sign of a heart problem" in " ".join(" ".join(lines).split())


def test_no_colour_when_no_color_is_set(tmp_path: Path) -> None:
    child = spawn(tmp_path, colour=False)
    no_pain_no_heart_until(child)
    answer(child, "Since the session", "no")
    child.expect_exact("to change it.")
    child.expect_exact("> ")
    child.sendline("")
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    assert "Carry on with your programme." in output
    assert "\x1b[" not in output
    assert child.exitstatus == 0


def test_ctrl_c_in_a_terminal_leaves_with_130(tmp_path: Path) -> None:
    saved = tmp_path / "answers.yaml"
    child = spawn(tmp_path, "--save-answers", str(saved))
    answer(child, "Your patient ID", "pt-7")
    child.expect_exact("When did the session end?")
    child.expect_exact("> ")
    child.sendintr()
    child.expect_exact("Stopped. Nothing was saved.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert not saved.exists()
