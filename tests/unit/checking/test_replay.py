"""Replay (`triage rules diff --log`): a copy of the bundled pack with a threshold moved,
replayed over a log, gives exactly the transitions a check of each logged report with the
history it had would give; the unchanged pack changes nothing; safety transitions come first."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import triage
from tests.support.generated_log import checks
from tests.support.helpers import ROOT, load_case, report, vignette_files
from tests.support.pg_server import APP, Server
from triage.checking.replay import replay
from triage.log import TriageLog
from triage.outcomes import severity
from triage_cli.cli import main

L1 = "      pain_during: {at_least: 6}\n"
R4 = "      pain_now: {at_least: 8}\n"


def edited_pack(folder: Path, file: str, old: str, new: str) -> Path:
    """A copy of the bundled pack (its cases too) with one line of one rule file changed."""
    shutil.copytree(ROOT / "rules", folder)
    path = folder / file
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    return folder


@pytest.fixture(scope="module")
def l1_at_7(tmp_path_factory: pytest.TempPathFactory) -> triage.RulePack:
    """L1 raised from pain_during >= 6 to >= 7: a less safe edit."""
    folder = tmp_path_factory.mktemp("l1") / "pack"
    return triage.load_pack(edited_pack(folder, "40-reduce-load.yaml", L1, L1.replace("6", "7")))


@pytest.fixture(scope="module")
def r4_at_7(tmp_path_factory: pytest.TempPathFactory) -> triage.RulePack:
    """R4 lowered from pain_now >= 8 to >= 7: a more cautious edit."""
    folder = tmp_path_factory.mktemp("r4") / "pack"
    return triage.load_pack(edited_pack(folder, "30-routine.yaml", R4, R4.replace("8", "7")))


def at(day: int, hour: int = 18) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00+00:00"


THIGH = {"pain_region": "thigh", "pain_site": "muscle"}
HAND_MADE = [  # (patient, day, answers): entry ids 1.. in this order
    ("pt-a", 2, report(pain_during=6, **THIGH)),  # 1: L1 alone: reduce -> continue
    ("pt-b", 2, report(pain_during=7, **THIGH)),  # 2: still L1
    ("pt-c", 2, report(pain_during=6, pain_now=6, **THIGH)),  # 3: L2 stays: other rules
    ("pt-d", 2, report(pain_during=6, snap_or_tear=True, **THIGH)),  # 4: same day stays
    ("pt-e", 2, report(pain_during=5, pain_now=7, **THIGH)),  # 5: L2; R4 at 7: -> routine
    ("pt-f", 2, report(pain_during=6, **THIGH)),  # 6, 7, 8: three reduce-loads (L1) ...
    ("pt-f", 4, report(pain_during=6, **THIGH)),
    ("pt-f", 6, report(pain_during=6, **THIGH)),
    ("pt-f", 8, report(pain_during=2, **THIGH)),  # 9: ... so H3, by the outcomes logged
]


@pytest.fixture(scope="module")
def hand_made_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "hand.db"
    with TriageLog(path) as log:
        for number, (patient, day, answers) in enumerate(HAND_MADE, 1):
            data = {**answers, "patient_id": patient, "reported_at": at(day)}
            data["session_id"] = f"s-{number}"
            triage.check(data, log=log)
    return path


def test_raising_a_threshold_gives_exactly_its_transitions(
    hand_made_log: Path, l1_at_7: triage.RulePack
) -> None:
    found = replay(hand_made_log, l1_at_7).to_dict()
    assert (found["replayed"], found["changed"], found["unchanged"]) == (9, 4, 5)
    assert found["transitions"] == [
        {
            "from": {"outcome": "reduce_load", "urgency": None},
            "to": {"outcome": "continue", "urgency": None},
            "safety": True,
            "checks": 4,
            "changes": [
                {
                    "fires_now": [],
                    "no_longer_fires": ["reduce.pain-during-above-5"],
                    "entries": [1, 6, 7, 8],
                }
            ],
        }
    ]
    # entry 9 keeps H3: its history is the outcomes logged then, not those of the new rules
    assert found["same_outcome_other_rules"] == [
        {"fires_now": [], "no_longer_fires": ["reduce.pain-during-above-5"], "entries": [3, 4]}
    ]


def test_lowering_a_threshold_is_not_a_safety_transition(
    hand_made_log: Path, r4_at_7: triage.RulePack
) -> None:
    found = replay(hand_made_log, r4_at_7).to_dict()
    assert [(t["from"], t["to"], t["safety"], t["checks"]) for t in found["transitions"]] == [
        (
            {"outcome": "reduce_load", "urgency": None},
            {"outcome": "seek_medical_review", "urgency": "routine"},
            False,
            1,
        )
    ]
    assert found["transitions"][0]["changes"] == [
        {"fires_now": ["routine.severe-pain-now"], "no_longer_fires": [], "entries": [5]}
    ]


def test_the_text_puts_safety_transitions_first_and_marks_them(
    tmp_path: Path, hand_made_log: Path
) -> None:
    both = edited_pack(tmp_path / "pack", "40-reduce-load.yaml", L1, L1.replace("6", "7"))
    routine = both / "30-routine.yaml"
    routine.write_text(routine.read_text().replace(R4, R4.replace("8", "7")))
    args = ["rules", "diff", "--log", "--db", str(hand_made_log), "--rules", str(both)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = lines[lines.index("Transitions (logged -> now: checks):") + 1 :][:2]
    assert table == [
        "  !! reduce load     -> continue                4   SAFETY: less urgent",
        "     reduce load     -> routine review          1",
    ]
    text = result.stdout
    assert "5 decisions would change; 4 would not." in text
    assert text.index("!! reduce load -> continue (less urgent): 4 checks") < text.index(
        "reduce load -> routine review: 1 check"
    )
    assert "no longer fires: reduce.pain-during-above-5\n    4 entries: 1, 6, 7, 8" in text


def test_only_since_a_day_with_the_history_before_it(
    hand_made_log: Path, l1_at_7: triage.RulePack
) -> None:
    found = replay(hand_made_log, l1_at_7, since=date(2026, 3, 4)).to_dict()
    assert found["replayed"] == 3  # entries 7, 8, 9; entry 9 still sees 6, 7 and 8
    assert found["transitions"][0]["changes"][0]["entries"] == [7, 8]
    assert found["unchanged"] == 1


# -- a generated log --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("generated") / "log.db"
    with TriageLog(path) as log:
        for answers in checks(40):
            triage.check(answers, log=log, engine="reference")
    return path


def expected_changes(path: Path, pack: triage.RulePack) -> dict[tuple[Any, Any], list[int]]:
    """Each logged report checked again through the API, with the history the log gives it."""
    found: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    with TriageLog(path) as log:
        for entry in log.export():
            report = triage.parse_report(entry.report)
            history = log.history(
                report.patient_id, before=report.reported_at, days=pack.history_days
            )
            decision = triage.evaluate(report, pack=pack, history=history, engine="reference")
            before, after = (entry.outcome, entry.urgency), (decision.outcome, decision.urgency)
            if before != after:
                found[(before, after)].append(entry.id)
    return dict(found)


def transitions(result: dict[str, Any]) -> dict[tuple[Any, Any], list[int]]:
    return {
        (tuple(t["from"].values()), tuple(t["to"].values())): sorted(
            e for change in t["changes"] for e in change["entries"]
        )
        for t in result["transitions"]
    }


def test_the_unchanged_pack_changes_no_logged_decision(generated_log: Path) -> None:
    found = replay(generated_log, triage.default_pack()).to_dict()
    assert found["replayed"] > 400
    assert found["changed"] == 0 and found["same_outcome_other_rules"] == []
    levels = {(e["outcome"], e.get("urgency")) for e in _entries(generated_log)}
    assert len(levels) >= 5, levels  # the log reaches most tiers, the history ones included


def _entries(path: Path) -> list[dict[str, Any]]:
    with TriageLog(path) as log:
        return [{"outcome": e.outcome, "urgency": e.urgency} for e in log.export()]


@pytest.mark.slow  # a generated log, replayed in worker processes
@pytest.mark.parametrize("workers", [1, 2])
def test_an_edited_pack_over_a_generated_log_gives_the_apis_transitions(
    generated_log: Path, l1_at_7: triage.RulePack, r4_at_7: triage.RulePack, workers: int
) -> None:
    for pack in (l1_at_7, r4_at_7):
        found = replay(generated_log, pack, workers=workers).to_dict()
        assert transitions(found) == expected_changes(generated_log, pack)
        assert found["changed"] > 0
        for item in found["transitions"]:
            assert item["safety"] == (severity(**item["to"]) < severity(**item["from"]))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_postgresql_log_replays_as_its_sqlite_original(
    generated_log: Path, l1_at_7: triage.RulePack, postgres: Server, workers: int
) -> None:
    """The same log copied to PostgreSQL gives the same replay, in this process or in worker
    processes (which open the log by its URL)."""
    name = postgres.new_database()
    url = postgres.url(name, APP)
    try:
        with TriageLog(generated_log) as original, TriageLog(url) as copy:
            original.copy_to(copy)
        here = replay(generated_log, l1_at_7, workers=workers).to_dict()
        there = replay(url, l1_at_7, workers=workers).to_dict()
        assert there["log"].startswith("postgresql://") and here["log"] == str(generated_log)
        assert {**there, "log": None, "seconds": 0} == {**here, "log": None, "seconds": 0}
        assert there["changed"] > 0
    finally:
        postgres.drop(name)


def test_json_for_tooling_and_progress(generated_log: Path, l1_at_7: triage.RulePack) -> None:
    seen: list[tuple[int, int]] = []
    found = replay(generated_log, l1_at_7, workers=2, progress=lambda d, t: seen.append((d, t)))
    total = found.result.replayed
    assert seen[-1] == (total, total) and len(seen) > 1
    result = CliRunner().invoke(
        main,
        ["rules", "diff", "--log", "--db", str(generated_log), "--rules", l1_at_7.path, "--json"],
    )
    data = json.loads(result.stdout)
    assert data["replayed"] == total and data["rule_pack"]["sha256"] == l1_at_7.sha256
    assert data["transitions"][0]["safety"] is True


def test_diff_needs_log_and_a_log_that_exists(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["rules", "diff", "--rules", str(ROOT / "rules")])
    assert result.exit_code == 2 and "give --log" in result.output
    missing = str(tmp_path / "none.db")
    result = runner.invoke(main, ["rules", "diff", "--log", "--db", missing, "--rules", "rules"])
    assert result.exit_code == 1 and "there is no triage log" in result.stderr


def test_the_json_text_is_the_json_of_the_replay(
    generated_log: Path, l1_at_7: triage.RulePack
) -> None:
    found = replay(generated_log, l1_at_7)
    assert json.loads("".join(found.json_chunks())) == found.to_dict()


def test_a_worker_that_cannot_start_says_why(l1_at_7: triage.RulePack) -> None:
    from triage.checking import replay as module

    module._start_worker(l1_at_7.path, "0" * 64, "reference", "unused.db")
    with pytest.raises(triage.UsageError) as error:
        module._run_part("a", "b", "", "")
    assert "changed while the log was replayed" in str(error.value)
    module._worker = None


def test_progress_is_one_line_rewritten_on_the_terminal(capsys: pytest.CaptureFixture) -> None:
    from triage_cli.cli import _progress

    _progress(420_000, 1_000_000)
    assert capsys.readouterr().err == "\rreplayed 420,000 of 1,000,000 checks (42%)"


def test_a_check_stopped_early_is_not_replayed_and_is_counted(tmp_path: Path) -> None:
    """Its answers are those given before the red flag: evaluated again, the unanswered
    questions would read as 'no' and could look like a safety transition."""
    from tests.unit.checking.test_stopped_early import warning
    from triage.checking.check import stop_early

    path = tmp_path / "log.db"
    stop_early(warning(), log=path)
    triage.check({**report(pain_during=6, **THIGH), "patient_id": "pt-s"}, log=path)
    found = replay(path, triage.default_pack()).to_dict()
    assert found["replayed"] == 1 and found["changed"] == 0
    reason = "stopped early at a red flag: not every question was answered"
    assert found["skipped"] == {reason: 1}
    shown = CliRunner().invoke(
        main, ["rules", "diff", "--log", "--db", str(path), "--rules", "rules"]
    )
    assert f"Not replayed: 1 check {reason}." in shown.output


# -- from the released pack 2.1.0 to policy v3 ------------------------------------------------

RELEASED = ROOT / "tests" / "support" / "packs" / "released-2.1.0"
LOWERED_BY_V3 = {
    "p15-knee-mild-swelling": "R5: a mildly swollen sore joint is reactive (L9)",
    "q05-pec-doms-next-day": "S1 exception: the chest-wall soreness pattern (C6)",
    "q06-pec-doms-high-blood-pressure": "S1 exception: the chest-wall soreness pattern (C6)",
    "q07-breastbone-one-spot-after-dips": "S1 exception: the chest-wall soreness pattern (R15)",
    "q16-arthritic-knee-puffy": "R5: a mildly swollen sore joint is reactive (L9)",
    "q26-painless-knee-pop": "S4: a painless pop with no sign of injury (L5)",
    "q27-knocked-shin-on-anticoagulant": "S18 and S10: a small knock's bruise on blood thinners",
}
"""Every public vignette whose decision policy v3 lowers, with the change of clinical.md section
9 that lowers it: no other may be lowered."""


@pytest.fixture(scope="module")
def vignettes_under_2_1_0(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A log of every public vignette checked under the released pack 2.1.0 (entry n: the
    n-th vignette)."""
    db = tmp_path_factory.mktemp("released") / "log.db"
    old = triage.load_pack(RELEASED)
    assert (old.version, old.sha256[:12]) == ("2.1.0", "bc1e31bbcaa9")
    names = []
    with TriageLog(db) as log:
        for path in vignette_files():
            if path.parent.name == "vignettes-v3":
                triage.check(load_case(path)["report"], log=log, pack=old, engine="reference")
                names.append(path.stem)
    return db, names


def test_from_the_released_pack_v3_lowers_only_what_section_9_names(
    vignettes_under_2_1_0: tuple[Path, list[str]],
) -> None:
    db, names = vignettes_under_2_1_0
    found = replay(db, triage.default_pack()).to_dict()
    lowered = {
        names[entry - 1]
        for transition in found["transitions"]
        if transition["safety"]
        for change in transition["changes"]
        for entry in change["entries"]
    }
    assert lowered == set(LOWERED_BY_V3)
    raised = [t for t in found["transitions"] if not t["safety"]]
    assert raised and found["transitions"][0]["safety"]  # the safety transitions first
    args = ["rules", "diff", "--log", "--rules", str(ROOT / "rules"), "--db", str(db)]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert "!! same day        -> continue" in text.stdout


def test_from_the_released_pack_over_a_generated_log(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A generated log written under pack 2.1.0 and replayed under policy v3: the transitions
    are those the API gives, every one of them a change of level, safety ones first."""
    path = tmp_path_factory.mktemp("generated-2.1.0") / "log.db"
    old = triage.load_pack(RELEASED)
    with TriageLog(path) as log:
        for answers in checks(40):
            triage.check(answers, log=log, pack=old, engine="reference")
    found = replay(path, triage.default_pack()).to_dict()
    assert transitions(found) == expected_changes(path, triage.default_pack())
    assert found["changed"] > 0
    safety = [t["safety"] for t in found["transitions"]]
    assert safety == sorted(safety, reverse=True)  # the safety transitions first
