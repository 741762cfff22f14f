"""`triage check` asking the questions, driven by scripted input through CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import triage_cli.cli as cli
from tests.support.helpers import keystrokes, load_case, vignette_files
from triage.contract.reading import read_report
from triage.evaluation.questionnaire import ITEMS
from triage_cli.cli import main

PUBLIC = [p for p in vignette_files() if p.parent.name == "vignettes-v3"]
START = ["n", "pt-1", "yes", "", "none"]
"""Nothing needs an ambulance now; the ID, new to the log, confirmed; no age; no conditions."""
NO_PAIN = [*START, "0.5", "no", "no", "no", "", "", "", ""]
"""Then the session's end, no to each group, the four routine questions skipped."""


def ask(lines: list[str], *args: str) -> Result:
    return CliRunner().invoke(
        main, ["check", "--interactive", *args], input="\n".join(lines) + "\n"
    )


def ask_case(report: dict, *args: str) -> Result:
    """Answer the questions as the patient of ``report``. With a profile, which the
    questionnaire does not ask, the clinician first sets the record (profile, age and known
    conditions) and the patient confirms it; otherwise the patient gives their age and
    conditions (policy v3 section 5): both ways are taken by the vignettes."""
    if "profile" not in report:
        return ask(keystrokes(report), *args)
    record = [f"--profile={report['profile']}"]
    record += [f"--age={report['age']}"] if "age" in report else []
    record += [f"--condition={c}" for c in report.get("conditions", [])]
    done = CliRunner().invoke(main, ["patient", "set", report["patient_id"], *record])
    assert done.exit_code == 0, done.output
    return ask(keystrokes(report, record=True), *args)


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_vignette_answered_through_the_questions(path: Path, tmp_path: Path) -> None:
    """Every public vignette typed in: its expected outcome, and its answers saved as given;
    an emergency or urgent one stops early, recorded with the answers given so far."""
    case = load_case(path)
    saved = tmp_path / "answers.yaml"
    result = ask_case(case["report"], "--json", "--save-answers", str(saved))
    assert result.exit_code == 0, result.stderr[-2000:]
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision.get("urgency")) == (
        case["expected"]["outcome"],
        case["expected"].get("urgency"),
    )
    given = read_report(str(path)).answers()
    if decision.get("stopped_early"):
        if "profile" not in given:  # the patient answered "none" to the conditions
            given.setdefault("conditions", [])
        assert decision["logged"] and not saved.exists()
        so_far = {k: v for k, v in decision["report"].items() if k != "reported_at"}
        assert so_far == {k: v for k, v in given.items() if k in so_far}
        return
    answers = read_report(str(saved)).answers()
    assert answers.pop("session_id").startswith("s-")  # a new session gets an id
    assert {k: v for k, v in answers.items() if k != "reported_at"} == {
        k: v for k, v in given.items() if k in answers and k != "reported_at"
    }
    # only what the questionnaire does not ask may be missing (a trend before 24 h)
    assert set(given) - set(answers) <= {"pain_trend"}


def test_no_pain_path_asks_no_pain_or_group_details() -> None:
    result = ask([*NO_PAIN, ""])
    assert result.exit_code == 0
    for detail in ("Where does it hurt most?", "Did you have chest pain", "Is your urine dark"):
        assert detail not in result.stderr
    assert result.stdout.startswith("Carry on with your programme.")


def test_questions_go_to_stderr_and_the_result_to_stdout() -> None:
    result = ask([*NO_PAIN, ""], "--json")
    assert json.loads(result.stdout)["outcome"] == "continue"
    assert "When did the session end?" in result.stderr


def test_bad_answers_are_explained_and_asked_again() -> None:
    lines = [
        "yes", "n",  # anything now: which one? then no
        "idk", "Jane Doe", "pt-1",  # patient id: not an id; no spaces
        "yes",  # the first check for pt-1: it is mine
        "200", "",  # age: out of range, then skipped
        "none",  # conditions
        "tomorrow", "3 weeks ago", "yesterday", "0.5",  # session end
        "no", "no",  # the heart and 'since' gates
        "maybe", "yes",  # the pain gate
        "3", "2",  # pain during, now
        "l", "lower b",  # where: ambiguous, then clear
        "m",  # a muscle
        "", "", "",  # how long, when it started, shooting pain
        "no",  # no sign of injury
        "", "", "", "", "", "",  # spread, sides, character, eases, when still, at night
        "?", "",  # usual pain: help, then skipped
        "0", "",  # week 0 is out of range; skipped
        "",  # new load
        "11", "seven", "",  # effort
        "",  # reps in reserve
        "",  # confirm
    ]  # fmt: skip
    result = ask(lines)
    assert result.exit_code == 0, result.stderr[-1500:]
    err = result.stderr
    assert "which one? Type its number (2 to 6)" in err
    assert "'idk' is not a patient ID" in err and "no spaces" in err  # bad patient ids
    assert "120" in err  # age 200
    assert "Yesterday at roughly what time?" in err
    assert "type a number of hours" in err and "last 14 days" in err
    assert "1 to 520" in err or "out of range" in err  # week 0
    assert "11 is out of range" in err and "whole number from 0 to 10" in err
    assert "'maybe' is not one of the answers" in err
    assert "could be 'Lower back' or 'Lower leg or calf'" in err  # ambiguous prefix
    assert "Your everyday level of a long-standing pain" in err  # '?' shows the help


def test_required_question_cannot_be_skipped() -> None:
    result = ask([*START, "", "0.5", "no", "no", "no", "", "", "", "", ""])
    assert "This question needs an answer." in result.stderr
    assert result.exit_code == 0


def summary_number(stderr: str, label: str) -> str:
    """The number of a row of the (last) summary."""
    rows = stderr.rsplit("Your answers", 1)[1].splitlines()
    return next(row.split(".")[0].strip() for row in rows if label in row)


def test_summary_can_go_back_and_change_an_answer() -> None:
    """The heart group from "no" to "yes": chest pain ongoing, like pressure: the emergency
    screen comes as soon as the kind of chest pain is given."""
    first = ask([*NO_PAIN, ""], "--no-log")
    heart = summary_number(first.stderr, "Chest, heart, breathing or head symptoms")
    result = ask([*NO_PAIN, heart, "yes", "3", "1"], "--json", "--no-log")
    assert result.exit_code == 0, result.stderr[-1500:]
    assert "Your answers" in result.stderr
    decision = json.loads(result.stdout)
    assert decision["urgency"] == "emergency" and decision["stopped_early"] is True


def test_changing_an_answer_shows_it_and_enter_keeps_it() -> None:
    reps = summary_number(ask([*NO_PAIN, ""], "--no-log").stderr, "Repetitions in reserve")
    result = ask([*NO_PAIN, reps, "", ""], "--json", "--no-log")
    assert "Enter keeps: 3" not in result.stderr  # NO_PAIN gives no reps: it was skipped
    assert "Enter keeps: Not answered" in result.stderr
    assert "reps_in_reserve" not in json.loads(result.stdout)["report"]
    with_reps = [*START, "0.5", "no", "no", "no", "", "", "", "2"]
    reps = summary_number(ask([*with_reps, ""], "--no-log").stderr, "Repetitions in reserve")
    kept = ask([*with_reps, reps, "", ""], "--json", "--no-log")
    assert "Enter keeps: 2" in kept.stderr
    assert json.loads(kept.stdout)["report"]["reps_in_reserve"] == 2
    changed = ask([*with_reps, reps, "4", ""], "--json", "--no-log")
    assert json.loads(changed.stdout)["report"]["reps_in_reserve"] == 4


def test_a_skipped_question_can_be_answered_at_the_summary() -> None:
    week = summary_number(ask([*NO_PAIN, ""], "--no-log").stderr, "Programme week")
    result = ask([*NO_PAIN, week, "2", ""], "--json", "--no-log")
    assert json.loads(result.stdout)["report"]["program_week"] == 2


def test_a_gate_kept_at_the_summary_keeps_its_answers() -> None:
    pain = ["yes", "2", "1", "thigh", "muscle", "", "", "", "no", *[""] * 7]
    lines = [*START, "0.5", "no", "no", *pain, "", "", "", ""]
    first = ask([*lines, ""], "--no-log")
    injury = summary_number(first.stderr, "Signs of injury")
    result = ask([*lines, injury, "", ""], "--json", "--no-log")
    assert "Enter keeps: No" in result.stderr
    report = json.loads(result.stdout)["report"]
    assert report["pain_region"] == "thigh" and report["snap_or_tear"] is False


def test_summary_rejects_a_number_out_of_range() -> None:
    result = ask([*NO_PAIN, "99", ""])
    assert "Type a number from 1 to" in result.stderr and result.exit_code == 0


def test_patient_option_skips_the_id_question() -> None:
    without_id = ["n", "", "none", *NO_PAIN[len(START) :]]  # and not asked whether it is theirs
    result = ask([*without_id, ""], "--patient", "pt-9", "--json")
    assert json.loads(result.stdout)["report"]["patient_id"] == "pt-9"
    assert "Your patient ID" not in result.stderr


def test_bad_patient_option_is_a_usage_error() -> None:
    assert ask([], "--patient", "no spaces").exit_code == 2


def test_end_of_input_exits_1_and_saves_nothing(tmp_path: Path) -> None:
    saved = tmp_path / "answers.yaml"
    result = ask(NO_PAIN[:4], "--save-answers", str(saved))
    assert result.exit_code == 1
    assert "No more input. Nothing was saved." in result.stderr
    assert "call your emergency number now" in result.stderr  # the red-flag advice, always
    assert not saved.exists() and result.stdout == ""


def _interrupted_after(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = iter(lines)

    def read(prompt: str = "> ") -> str:
        try:
            return next(calls)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(cli, "_read", read)


def test_ctrl_c_exits_130_and_saves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupted_after(NO_PAIN[:3], monkeypatch)
    saved = tmp_path / "answers.yaml"
    result = ask([], "--save-answers", str(saved))
    assert result.exit_code == 130
    assert "Stopped. Nothing was saved." in result.stderr
    assert not saved.exists()


def test_ctrl_c_after_an_answer_that_needs_a_clinician_shows_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nearly fainting is same day: the questions go on; Ctrl-C at the next question still
    shows what to do, and the clinician sees the check in the log."""
    _interrupted_after([*START, "0.5", "yes", "1", "2"], monkeypatch)
    db = tmp_path / "log.db"
    result = ask([], "--db", str(db))
    assert result.exit_code == 130
    assert result.stdout.startswith("Contact your clinician today.")
    assert "You stopped the questions" in result.stdout
    assert "reference number 1" in result.stdout
    listed = CliRunner().invoke(main, ["log", "list", "--db", str(db)])
    assert "Stopped early: " in listed.stdout and "same day" in listed.stdout


def test_without_a_terminal_and_without_answers_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(main, ["check"], input="")
    assert result.exit_code == 1
    assert "triage check --answers FILE" in result.stderr and "--answers -" in result.stderr


def test_saved_answers_replay_to_the_same_decision(tmp_path: Path) -> None:
    case = load_case(PUBLIC[5])
    saved = tmp_path / "replay.yaml"
    first = ask(keystrokes(case["report"]), "--json", "--save-answers", str(saved))
    replay = CliRunner().invoke(main, ["check", "--answers", str(saved), "--json"])
    a, b = json.loads(first.stdout), json.loads(replay.stdout)
    assert (a.pop("log_entry"), b.pop("log_entry")) == (1, 2)  # both logged
    assert a == b  # reported_at and the session id are saved too: the replay is identical


def test_questions_command_lists_the_flow() -> None:
    screen = CliRunner().invoke(main, ["questions"], env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in screen.splitlines())  # broken between words
    text = " ".join(screen.split())
    assert "[pain] Any pain, soreness or stiffness" in text and "If no: pain_during=0" in text
    assert "[injury] [after yes to [pain]] Any sign of an injury" in text
    assert (
        "pain_trend [after yes to [pain]; when hours_since_session is 24 or more and pain_now "
        "is above 0]: Compared with when it started" in text
    )
    # nested behind two gates: both named, then the question's own condition
    assert (
        "swelling_fast (optional) [after yes to [pain] and [injury]; when there is swelling "
        "(swelling is not none)]: Did the swelling come up within 2 hours?" in text
    )
    assert "groin_lump [after yes to [pain] and [injury]]: Have you noticed" in text
    assert "patient_id: Your patient ID" in text  # asked always: no condition
    assert text.index("[now] First: is any of these happening to you now?") < text.index(
        "patient_id: Your patient ID"
    )
    assert 'I fainted or blacked out, during or since the session -> fainting="fainted"' in text
    assert "This is the first check for '<ID>'. Is that your patient ID?" in text
    assert "numbness [after yes to [since]]: Where, if anywhere" in text and "<any of: " in text
    for field in ITEMS:  # every question the questionnaire asks, each at the start of a line
        assert re.search(rf"^ *{field}( \(optional\))?( \[|:)", screen, re.M), field
    data = json.loads(CliRunner().invoke(main, ["questions", "--json"]).stdout)
    assert data["contract_version"] == "3" and data["first"]["screen"] == "now"
    assert [a["field"] for a in data["patient_record"]["asks"]] == ["age", "conditions"]
    assert [s.get("gate") for s in data["steps"] if "gate" in s] == ["heart", "since", "pain"]
    pain = next(s for s in data["steps"] if s.get("gate") == "pain")
    trend = next(i for i in pain["if_yes"] if i.get("field") == "pain_trend")
    assert trend["asked_when"] == {
        "all": [{"hours_since_session": {"ge": 24}}, {"pain_now": {"gt": 0}}]
    }


EMERGENCIES = [
    p for p in vignette_files() if load_case(p)["expected"].get("urgency") == "emergency"
]


@pytest.mark.parametrize("path", EMERGENCIES, ids=lambda p: p.stem)
def test_emergency_banner_is_the_first_line_of_the_result(path: Path) -> None:
    result = ask_case(load_case(path)["report"])
    assert result.stdout.splitlines()[0].startswith(
        "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW"
    )
    assert "The other questions are not needed now" in result.stdout  # stopped early


def test_saved_answers_are_owner_only_and_a_bad_path_is_explained(tmp_path: Path) -> None:
    saved = tmp_path / "answers.yaml"
    ask([*NO_PAIN, ""], "--save-answers", str(saved))
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    result = ask([*NO_PAIN, ""], "--save-answers", str(tmp_path / "missing" / "a.yaml"))
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "--save-answers" in result.stderr


def test_end_of_input_after_an_answer_that_needs_a_clinician_shows_and_records_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    result = ask([*START, "0.5", "yes", "1", "2"], "--db", str(db))
    assert result.exit_code == 1
    assert result.stdout.startswith("Contact your clinician today.")
    assert "No more input." in result.stderr and "reference number 1" in result.stdout


def test_a_check_stopped_early_exits_with_its_outcome_when_asked(tmp_path: Path) -> None:
    lines = [*START, "0.5", "yes", "1", "3"]  # fainted
    result = ask(lines, "--exit-code", "--db", str(tmp_path / "log.db"))
    assert result.exit_code == 6  # emergency
    assert result.stdout.startswith("STOP EXERCISING")
    no_log = ask(lines, "--no-log", "--json", "--save-answers", str(tmp_path / "a.yaml"))
    assert no_log.exit_code == 0
    data = json.loads(no_log.stdout)
    assert data["stopped_early"] is True and data["logged"] is False
    assert "STOP EXERCISING" in no_log.stderr  # the person answering sees it, --json or not
    assert "were not written" in no_log.stderr and not (tmp_path / "a.yaml").exists()
