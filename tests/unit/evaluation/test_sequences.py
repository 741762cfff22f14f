"""Sequences of reports (tests/support/sequences/*.yaml): the expected outcome after each report,
through the API with history= and through the CLI with a temporary triage log (follow-ups linked
with --follow-up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import triage
from tests.support.helpers import ROOT
from triage_cli.cli import main

SEQUENCES = sorted((ROOT / "tests" / "support" / "sequences").glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())  # plain YAML: the files use anchors for a shared base


def full_report(sequence: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    return {
        **step["report"],
        "patient_id": sequence["patient"],
        "reported_at": step["at"],
        "session_id": step["session"],
    }


def assert_step(decision: dict[str, Any], step: dict[str, Any], where: str) -> None:
    expected = (step["expected"]["outcome"], step["expected"].get("urgency"))
    assert (decision["outcome"], decision.get("urgency")) == expected, where
    fired = {r["rule"] for r in decision["reasons"]}
    assert set(step.get("fires", [])) <= fired, where
    assert not set(step.get("does_not_fire", [])) & fired, where


@pytest.mark.parametrize("engine", ["durable-rules", "reference"])
@pytest.mark.parametrize("path", SEQUENCES, ids=lambda p: p.stem)
def test_sequence_through_the_api(path: Path, engine: str) -> None:
    sequence = load(path)
    history: list[triage.Decision] = []
    for number, step in enumerate(sequence["steps"], 1):
        decision = triage.evaluate(full_report(sequence, step), history=history, engine=engine)
        assert_step(decision.to_dict(), step, f"{path.stem} step {number}")
        assert decision.history.earlier_checks == len(history)
        history.append(decision)


@pytest.mark.parametrize("path", SEQUENCES, ids=lambda p: p.stem)
def test_sequence_through_the_cli_with_a_log(path: Path, tmp_path: Path) -> None:
    sequence = load(path)
    runner = CliRunner()
    for number, step in enumerate(sequence["steps"], 1):
        answers = full_report(sequence, step)
        args = ["check", "--answers", str(tmp_path / f"step{number}.json"), "--json"]
        if step.get("follow_up"):
            hours = answers.pop("hours_since_session")
            answers.pop("session_id")
            args.append("--follow-up")
        (tmp_path / f"step{number}.json").write_text(json.dumps(answers))
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        decision = json.loads(result.stdout)
        assert_step(decision, step, f"{path.stem} step {number}")
        if step.get("follow_up"):
            assert decision["report"]["session_id"] == step["session"]
            assert decision["report"]["hours_since_session"] == pytest.approx(hours, abs=0.1)
            assert f"Follow-up of session {step['session']}" in result.stderr


def test_every_history_row_is_exercised_by_a_sequence() -> None:
    fired = {
        rule for path in SEQUENCES for step in load(path)["steps"] for rule in step.get("fires", [])
    }
    history_rules = {r.id for r in triage.default_pack().rules if r.history}
    assert history_rules <= fired
