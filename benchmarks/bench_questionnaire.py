"""The figures of issue 24's note: the prompts of each pty scenario before and after, what each
run ended with, the first screen the patient sees, and the time to the first prompt as a ratio
to ``python -c "import click"``, measured in one run.

BEFORE is the questionnaire as of commit 318563a (the last commit before issue 24), checked
out into a temporary ``git worktree`` that is removed afterwards; AFTER is this checkout. Both
run as a real program in a pseudo-terminal of 80 columns (pexpect), started the same way
(``import cli`` from the tree, with that tree first on the path), and both are driven by the
same code: each scenario gives the reply to each question by field or gate name, and the
question on the screen is recognised from that version's own ``questionnaire.describe()`` (so a
reworded question is still recognised). The questions before the report's, that issue 24 added,
are recognised from ``describe()["first"]`` (the first screen, "now") and
``describe()["patient_record"]`` (the gates "first" and "record", whose texts hold the ID or the
record, and the questions "age" and "conditions"), where that version describes them. A question
the scenario does not mention gets Enter (skipped, when optional); a question asked twice in a
row (a reply refused) stops the run with an error. A prompt is a '> ' waiting for an answer, the
summary included. Replies are words or value prefixes that both versions read the same way
("yes"/"no", never numbers: issue 24 lists "No" first). Where one version asks what the other
does not (BEFORE never asks age or conditions), the scenario says what that patient answers.

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

BEFORE = "318563a"
QUICK = "--quick" in sys.argv
RUNS = 5 if QUICK else 15
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SUMMARY = "Your answers"
CONFIRM_SESSION = "Is that the one?"
PROMPT = re.compile(r"\n> ")  # at the start of a line: "->" in a follow-up's comparison is not one
PLACEHOLDER = re.compile(r"<[^>]*>")  # '<ID>', '<age; conditions>' in describe()'s texts


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
    "patient_id=pt-7; hours_since_session=just now; reps_in_reserve=3;"
    # issue 24's questions before the report's: nothing needs an ambulance now, the ID is theirs,
    # the record is right; without a record, no age given and no known conditions
    "now=n; first=yes; record=yes; age=; conditions=none"
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
        "no symptoms",  # the shortest path: no warning sign, no pain, the routine ones skipped
        replies(NOTHING_ELSE, "reps_in_reserve="),
    ),
    Scenario(
        "blood thinners, no record",  # BEFORE never asks conditions: it cannot be said there
        replies(
            NOTHING_ELSE,
            "age=70; conditions=blood_thinners; hours_since_session=1 hour ago; pain=yes;"
            "pain_during=6; pain_now=6; pain_region=knee; pain_site=joint;"
            "pain_onset=hours_after; pain_duration=new; injury=yes; snap_or_tear=no;"
            "swelling=marked; swelling_fast=yes; bruising=no; muscle_bulge=no; weakness=none;"
            "joint_giving_way=no; joint_locked=no; pain_spread=focal; pain_sides=one;"
            "pain_character=throbbing; eases_with_movement=no; rest_pain=yes; night_pain=no",
        ),
    ),
    Scenario(
        "jaw and arm ache",  # an ache that came on with the effort and is still there
        replies(
            NOTHING_ELSE,
            "heart=yes; chest_pain=none; referred_ache=ongoing; cold_sweat=no",
        ),
    ),
    Scenario(
        "next-day DOMS after new squats",
        replies(
            NOTHING_ELSE,
            "hours_since_session=20 hours ago; program_week=3; new_load=yes; session_rpe=7;"
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
        "fainted, and says so on the first screen",  # AFTER: the emergency screen at once
        replies(NOTHING_ELSE, "now=fainted; heart=yes; fainting=fainted"),
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
    shown: list[str] = field(default_factory=list)  # each question's text as on the screen
    result: str = ""  # the screen after the last prompt
    transcript: str = ""  # the whole screen
    status: int | None = None

    @property
    def first_screen(self) -> str:
        return self.shown[0] if self.shown else "(none)"


Questions = list[tuple[re.Pattern[str], str]]  # (question text as a pattern, field or gate)


def _pattern(text: str) -> re.Pattern[str]:
    """A question's text (whitespace normalised) as a pattern; a placeholder of describe()
    ('<ID>') stands for any text."""
    parts = PLACEHOLDER.split(" ".join(text.split()))
    return re.compile(".+?".join(re.escape(part) for part in parts))


def _questions(tree: Path) -> Questions:
    """Each question's text (as a pattern) and its field or gate name, from that version's own
    description of the questionnaire: the first screen and the patient's record too, where that
    version has them (issue 24)."""
    code = (
        "import json\n"
        "try:\n    from triage.evaluation.questionnaire import describe\n"
        "except ImportError:  # a version before the layered package\n"
        "    from triage.questionnaire import describe\n"
        "print(json.dumps(describe()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tree),
        cwd=str(tree),  # not this checkout: "-c" puts the working directory first on the path
        capture_output=True,
        text=True,
        check=True,
    )
    found: Questions = []

    def walk(steps: list[dict[str, object]]) -> None:
        for step in steps:
            found.append((_pattern(str(step["question"])), str(step.get("gate") or step["field"])))
            walk(step.get("if_yes", []))  # type: ignore[arg-type]

    described = json.loads(done.stdout)
    if "first" in described:
        found.append((_pattern(described["first"]["question"]), described["first"]["screen"]))
    record = described.get("patient_record")
    if record:
        found.append((_pattern(record["first_check"]), "first"))
        found.append((_pattern(record["confirm"]), "record"))
        walk(record["asks"])
    walk(described["steps"])
    found.append((_pattern(SUMMARY), "summary"))
    found.append((_pattern(CONFIRM_SESSION), "session"))
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


def _shown(text: str, questions: Questions) -> tuple[str, str] | None:
    """The name and the text of the last question on this part of the screen."""
    flat = " ".join(ANSI.sub("", text).split())
    found = None  # (where, end, name)
    for pattern, name in questions:
        for match in pattern.finditer(flat):
            if found is None or match.start() > found[0]:
                found = (match.start(), match.end(), name)
    if found is None:
        return None
    where, end, name = found
    if name == "session":  # the follow-up's question starts a sentence before "Is that the one?"
        where = max(flat.rfind("This follow-up", 0, where), 0)
    return name, flat[where:end]


def play(tree: Path, scenario: Scenario, questions: Questions, folder: Path) -> Run:
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
    while child.expect([PROMPT, pexpect.EOF]) == 0:
        run.transcript += child.before + "\n> "
        if "This question needs an answer" in child.before:
            raise RuntimeError(f"{scenario.name}: no reply for the required question {last}")
        shown = _shown(child.before, questions)
        if shown is None:
            refused = f" (the reply to {last} refused?)" if last else ""
            raise RuntimeError(
                f"{scenario.name}: no question recognised{refused} in {child.before!r}"
            )
        last, text = shown
        if run.asked and run.asked[-1] == last:
            raise RuntimeError(f"{scenario.name}: the reply to {last} was refused: {text!r}")
        run.prompts += 1
        run.asked.append(last)
        run.shown.append(text)
        child.sendline("" if last == "summary" else scenario.replies.get(last, ""))
        if last == scenario.interrupt_after:
            child.sendintr()
    run.transcript += child.before
    run.transcript, run.result = (
        ANSI.sub("", text).replace("\x03", "").replace("^C", "")  # Ctrl-C echoed
        for text in (run.transcript, child.before)
    )
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
    """What the patient was told first, and the reference number they were given, if any: the
    instruction at the end, or else the one shown earlier (issue 24's emergency screen comes
    before the questions that let it be recorded)."""
    told = next(
        (
            line.strip()
            for text in (run.result, run.transcript)
            for line in text.replace("\r", "").splitlines()
            if line.strip().startswith(INSTRUCTIONS)
        ),
        "(no instruction)",
    )
    told = told.split(" (for example")[0].split(" Nothing was saved")[0]
    number = re.search(r"reference number (\d+)", run.result)
    given = f"reference number {number[1]}" if number else "no reference number"
    return f"{told} | {given} | exit {run.status}"


@contextlib.contextmanager
def before_tree() -> Iterator[Path]:
    """The questionnaire before issue 24, in a temporary worktree."""
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
        trees = {f"before ({BEFORE})": before, "after (this checkout)": ROOT}
        questions = {name: _questions(tree) for name, tree in trees.items()}
        print("Prompts per scenario ('> ' waiting for an answer, the summary included), and the")
        print("first screen (the name of the first question asked):\n")
        print(f"{'scenario':<52} {'before':>6} {'after':>6}  first screen before / after")
        details, asked, first_screens = [], [], []
        for scenario in SCENARIOS:
            runs = []
            for name, tree in trees.items():
                with tempfile.TemporaryDirectory() as folder:
                    run = play(tree, scenario, questions[name], Path(folder))
                runs.append(run)
                details.append(f"  {scenario.name} / {name}: {outcome(run)}")
                asked.append(f"  {scenario.name} / {name}: {' '.join(run.asked)}")
                first_screens.append(f"  {scenario.name} / {name}: {run.first_screen}")
            firsts = " / ".join(run.asked[0] if run.asked else "-" for run in runs)
            print(f"{scenario.name:<52} {runs[0].prompts:>6} {runs[1].prompts:>6}  {firsts}")
        print("\nWhat each run ended with (first instruction | saved | exit status):")
        print("\n".join(details))
        print("\nThe first screen, as the patient reads its question:")
        print("\n".join(first_screens))
        print("\nThe questions asked, in order:")
        print("\n".join(asked))
        print(f"\nTime to the first prompt (CPU of the child, best of {RUNS}, interleaved):")
        for name, ms, ratio in first_prompt_rows(trees):
            print(f"  {name:<28} {ms:7.1f} ms  {ratio:4.2f}x import click")


if __name__ == "__main__":
    main()
