"""The figures of issue 11's note: the prompts of each pty scenario before and after, and the
time to the first prompt as a ratio to ``python -c "import click"``, measured in one run.

BEFORE is the questionnaire as of commit e9b4be9 (the last commit before issue 11), checked
out into a temporary ``git worktree`` that is removed afterwards; AFTER is this checkout. Both
run as a real program in a pseudo-terminal of 80 columns (pexpect), started the same way
(``import cli`` from the tree, with that tree first on the path), and both are driven by the
same code: each scenario gives the reply to each question by field or gate name, and the
question on the screen is recognised from that version's own ``questionnaire.describe()`` (so a
reworded question is still recognised). A question the scenario does not mention gets Enter
(skipped, when optional). A prompt is a '> ' waiting for an answer, the summary included. The
replies are those of tests/system/test_terminal.py; where BEFORE asks more (it never stops early),
the scenario says what that patient answers (no to what they do not have).

The first prompt is timed in CPU seconds of the child (steadier than the wall clock on a shared
machine), best of N runs, interleaved with ``python -c "import click"``: see
benchmarks/bench_anchors.py, whose ``_first_prompt`` this reuses.

Run: python benchmarks/bench_questionnaire.py [--quick]
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_anchors import _first_prompt, _run, best_of  # noqa: E402
from tests.support.helpers import BASE  # noqa: E402

BEFORE = "e9b4be9"
QUICK = "--quick" in sys.argv
RUNS = 5 if QUICK else 15
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SUMMARY = "Your answers"
CONFIRM_SESSION = "Is that the one?"


def replies(*parts: str) -> dict[str, str]:
    """The replies by field or gate name ("session": the follow-up's "is that the one?"),
    from "name=reply; name=reply" texts; a later reply to a name replaces an earlier one."""
    found: dict[str, str] = {}
    for part in parts:
        for pair in part.split(";"):
            name, reply = pair.split("=")
            found[name.strip()] = reply.strip()
    return found


NOTHING_ELSE = (  # what a patient without these answers, when they are asked
    "heart=no; since=no; pain=no; injury=no; chest_pain=none; fainting=none; palpitations=none;"
    "breathless=none; dizziness=none; confusion=no; headache=none; vision_change=no;"
    "dark_urine=no; tense_swollen_limb=no; swollen_warm_limb=no; bladder_bowel_change=no;"
    "heat_illness=none; numbness=none; unwell=no; snap_or_tear=no; swelling=none; deformity=no;"
    "functional_loss=no; groin_lump=no; radiating_pain=none;"
    "patient_id=pt-7; hours_since_session=just now; reps_in_reserve=3"
)


@dataclass
class Scenario:
    name: str
    replies: dict[str, str]
    args: tuple[str, ...] = ()
    interrupt_after: str | None = None  # Ctrl-C right after answering this question
    follow_up: bool = False


SCENARIOS = [
    Scenario("no pain at all", replies(NOTHING_ELSE)),
    Scenario(
        "next-day DOMS after new squats",
        replies(
            NOTHING_ELSE,
            "hours_since_session=yesterday; program_week=3; new_load=yes; session_rpe=7;"
            "reps_in_reserve=2; pain=yes; pain_during=3; pain_now=4; pain_region=thigh;"
            "pain_site=muscle; pain_onset=next; pain_spread=diffuse; pain_sides=both;"
            "pain_character=dull; eases_with_movement=yes; night_pain=no; pain_trend=worse",
        ),
    ),
    Scenario(
        "snap in the chest on the bench press (same day)",
        replies(
            NOTHING_ELSE,
            "heart=yes; chest_pain=ongoing; chest_pain_kind=tender; pain=yes; pain_during=7;"
            "pain_now=4; pain_region=chest; pain_site=muscle; pain_onset=sudden; injury=yes;"
            "snap_or_tear=yes; swelling=mild; swelling_fast=no; bruising=yes; weakness=mild;"
            "pain_spread=focal; pain_sides=one; pain_character=sharp; night_pain=no",
        ),
    ),
    Scenario(
        "ongoing pressure-like chest pain (emergency)",
        replies(NOTHING_ELSE, "heart=yes; chest_pain=ongoing; chest_pain_kind=pressure"),
    ),
    Scenario(
        "saddle numbness and numbness in one leg (emergency)",
        replies(NOTHING_ELSE, "since=yes; numbness=one_leg saddle"),
    ),
    Scenario(
        "a dislocated shoulder (urgent)",
        replies(
            NOTHING_ELSE,
            "pain=yes; pain_during=8; pain_now=7; pain_region=shoulder; pain_site=joint;"
            "pain_onset=sudden; radiating_pain=; injury=yes; snap_or_tear=yes; swelling=mild;"
            "swelling_fast=yes; deformity=yes; weakness=marked; functional_loss=yes",
        ),
    ),
    Scenario(
        "Ctrl-C right after answering 'fainted'",
        replies(NOTHING_ELSE, "heart=yes; fainting=fainted"),
        interrupt_after="fainting",
    ),
    Scenario(
        "a follow-up two days later",
        replies(
            NOTHING_ELSE,
            "session=yes; pain=yes; pain_during=4; pain_now=3; pain_region=knee;"
            "pain_site=joint; pain_trend=better",
        ),
        args=("--follow-up",),
        follow_up=True,
    ),
]


@dataclass
class Run:
    prompts: int = 0
    asked: list[str] = field(default_factory=list)
    result: str = ""
    status: int | None = None


def _questions(tree: Path) -> dict[str, str]:
    """Each question's text (whitespace normalised) and its field or gate name, from that
    version's own description of the questionnaire."""
    code = (
        "import json\n"
        "try:\n    from triage.evaluation.questionnaire import describe\n"
        "except ImportError:  # a version before the layered package\n"
        "    from triage.questionnaire import describe\n"
        "print(json.dumps(describe()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(tree), capture_output=True, text=True, check=True
    )
    found: dict[str, str] = {}

    def walk(steps: list[dict[str, object]]) -> None:
        for step in steps:
            found[" ".join(str(step["question"]).split())] = str(step.get("gate") or step["field"])
            walk(step.get("if_yes", []))  # type: ignore[arg-type]

    walk(json.loads(done.stdout)["steps"])
    return found


def _env(tree: Path, db: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env.update(PYTHONPATH=str(tree), NO_COLOR="1", COLUMNS="80", LINES="24", TERM="xterm")
    if db is not None:
        env["TRIAGE_DB"] = str(db)
    return env


def _program(tree: Path) -> list[str]:
    """That tree's command line, started as the console script starts it (byte code cached)."""
    code = f"import sys; sys.path.insert(0, {str(tree)!r}); import cli; sys.exit(cli.main())"
    return [sys.executable, "-c", code]


def _shown(text: str, questions: dict[str, str]) -> str | None:
    """The name of the last question on this part of the screen."""
    flat = " ".join(ANSI.sub("", text).split())
    at = {name: flat.rfind(question) for question, name in questions.items()}
    at["summary"] = flat.rfind(SUMMARY)
    at["session"] = flat.rfind(CONFIRM_SESSION)
    name, where = max(at.items(), key=lambda kv: kv[1])
    return name if where >= 0 else None


def play(tree: Path, scenario: Scenario, questions: dict[str, str], folder: Path) -> Run:
    """One scenario, answered at the keyboard of a pseudo-terminal."""
    db = folder / "log.db"
    if scenario.follow_up:
        _first_check(tree, db)
    child = pexpect.spawn(
        _program(tree)[0],
        [*_program(tree)[1:], "check", *scenario.args],
        env=_env(tree, db),
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 80),
        cwd=str(folder),
    )
    run = Run()
    last: str | None = None
    while child.expect_exact(["> ", pexpect.EOF]) == 0:
        if "This question needs an answer" in child.before:
            raise RuntimeError(f"{scenario.name}: no reply for the required question {last}")
        last = _shown(child.before, questions) or last
        if last is None:
            raise RuntimeError(f"{scenario.name}: no question recognised in {child.before!r}")
        run.prompts += 1
        run.asked.append(last)
        child.sendline("" if last == "summary" else scenario.replies.get(last, ""))
        if last == scenario.interrupt_after:
            child.sendintr()
    run.result = ANSI.sub("", child.before).replace("\x03", "").replace("^C", "")  # Ctrl-C echoed
    child.close()
    run.status = child.exitstatus
    return run


def _first_check(tree: Path, db: Path) -> None:
    """The check being followed up: two days ago, knee pain."""
    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    first = {
        **BASE,
        "patient_id": "pt-7",
        "reported_at": two_days_ago.isoformat(timespec="seconds"),
        "program_week": 3, "session_rpe": 7, "reps_in_reserve": 2,
        "pain_during": 4, "pain_now": 2, "pain_region": "knee", "pain_site": "joint",
    }  # fmt: skip
    subprocess.run(
        [*_program(tree), "check", "--answers", "-"],
        input=json.dumps(first),
        text=True,
        env=_env(tree, db),
        capture_output=True,
        check=True,
    )


INSTRUCTIONS = ("STOP EXERCISING", "GO TO AN EMERGENCY", "Contact your", "Carry on", "Reduce",
                "Stopped.")  # fmt: skip


def outcome(run: Run) -> str:
    """What the patient was told first, and the reference number they were given, if any."""
    lines = [line.strip() for line in run.result.replace("\r", "").splitlines()]
    told = next((line for line in lines if line.startswith(INSTRUCTIONS)), "(no instruction)")
    told = told.split(" (for example")[0].split(" Nothing was saved")[0]
    number = re.search(r"reference number (\d+)", run.result)
    given = f"reference number {number[1]}" if number else "no reference number"
    return f"{told} | {given} | exit {run.status}"


@contextlib.contextmanager
def before_tree() -> Iterator[Path]:
    """The questionnaire before issue 11, in a temporary worktree."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BEFORE],
            check=True,
            capture_output=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=True,
                capture_output=True,
            )


def first_prompt_rows(trees: dict[str, Path]) -> list[tuple[str, float, float]]:
    """(version, first prompt ms, ratio to import click), best of RUNS, interleaved."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**_env(Path(folder), Path(folder) / "log.db")}
        click_floor = [sys.executable, "-c", "import click"]
        commands = {
            name: [*_program(tree), "check", "--interactive"] for name, tree in trees.items()
        }
        _run(click_floor, env)
        for command in commands.values():  # warm up, and write the byte code
            _first_prompt(command, env)
        times = best_of(
            RUNS,
            lambda: _run(click_floor, env),
            *(lambda c=command: _first_prompt(c, env) for command in commands.values()),
        )
    floor, *prompts = times
    return [
        (name, prompt * 1000, prompt / floor)
        for name, prompt in zip(commands, prompts, strict=True)
    ] + [("python -c 'import click'", floor * 1000, 1.0)]


def main() -> None:
    with before_tree() as before:
        trees = {"before (e9b4be9)": before, "after (this checkout)": ROOT}
        print("Prompts per scenario ('> ' waiting for an answer, the summary included):\n")
        print(f"{'scenario':<52} {'before':>6} {'after':>6}")
        details = []
        for scenario in SCENARIOS:
            counts = []
            for name, tree in trees.items():
                with tempfile.TemporaryDirectory() as folder:
                    run = play(tree, scenario, _questions(tree), Path(folder))
                counts.append(run.prompts)
                details.append(f"  {scenario.name} / {name}: {outcome(run)}")
            print(f"{scenario.name:<52} {counts[0]:>6} {counts[1]:>6}")
        print("\nWhat each run ended with (first instruction | saved | exit status):")
        print("\n".join(details))
        print(f"\nTime to the first prompt (CPU of the child, best of {RUNS}, interleaved):")
        for name, ms, ratio in first_prompt_rows(trees):
            print(f"  {name:<28} {ms:7.1f} ms  {ratio:4.2f}x import click")


if __name__ == "__main__":
    main()
