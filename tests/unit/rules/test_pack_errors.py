"""Golden files for rule-pack errors: each folder in tests/support/golden/packs is a broken pack,
next to the exact message `triage rules check` prints for it. Regenerate on purpose only:
TRIAGE_REGOLD=1 pytest tests/unit/rules/test_pack_errors.py
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.support.golden_files import DEPENDENCY_WORDS, REGOLD, check_golden
from tests.support.helpers import ROOT
from triage_cli.cli import main

GOLDEN = ROOT / "tests" / "support" / "golden" / "packs"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_broken_pack_gives_exactly_the_golden_errors(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(GOLDEN)
    result = CliRunner().invoke(main, ["rules", "check", folder.name])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    check_golden(f"packs/{folder.name}.txt", result.stderr)


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_broken_pack_is_refused_whole_by_the_api(folder: Path) -> None:
    with pytest.raises(triage.PackError) as info:
        triage.load_pack(folder)
    assert len(info.value.problems) >= 2, (
        "each golden pack holds several problems, all reported at once"
    )


def test_every_problem_names_file_and_line() -> None:
    for folder in CASES:
        with pytest.raises(triage.PackError) as info:
            triage.load_pack(folder)
        assert all(p.file and p.line for p in info.value.problems), folder.name


def test_missing_folder_and_missing_pack_file(tmp_path: Path) -> None:
    with pytest.raises(triage.PackError, match="is not a folder"):
        triage.load_pack(tmp_path / "nope")
    with pytest.raises(triage.PackError) as info:
        triage.load_pack(tmp_path)
    assert [p.message for p in info.value.problems] == ["holds no rule files", "is missing"]


def test_valid_pack_check_prints_a_one_line_summary() -> None:
    result = CliRunner().invoke(main, ["rules", "check"], catch_exceptions=False)
    assert result.exit_code == 0
    pack = triage.default_pack()
    assert result.stdout.startswith(
        f"ok: post-session-safety {pack.version}: {len(pack.rules)} rules"
    )
    assert len(result.stdout.splitlines()) == 1


def test_hash_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    source = triage.default_pack().path
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in Path(source).glob("*.yaml"):
        text = path.read_text()
        (copy / path.name).write_text("# reformatted\n" + text.replace("\n\n", "\n\n\n"))
    assert triage.load_pack(copy).sha256 == triage.default_pack().sha256
    routine = copy / "30-routine.yaml"
    routine.write_text(
        routine.read_text().replace("pain_now: {at_least: 8}", "pain_now: {at_least: 7}")
    )
    assert triage.load_pack(copy).sha256 != triage.default_pack().sha256


def test_the_golden_files_hold_each_dependency_wording_they_mask() -> None:
    """Each mask of tests/support/golden_files.py stands for a dependency's words in some golden
    file: a mask that matches nothing would hide nothing, and should go."""
    texts = [path.read_text() for path in (ROOT / "tests" / "support" / "golden").rglob("*.txt")]
    for pattern, _ in DEPENDENCY_WORDS:
        assert any(pattern.search(text) for text in texts), pattern.pattern


def test_compare_or_rewrite_is_written_once() -> None:
    """Only tests/support/golden_files.py reads TRIAGE_REGOLD: every golden file and every example
    run a page shows is compared, or rewritten on purpose, by its helpers."""
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if any(
            isinstance(node, ast.Constant) and node.value == REGOLD
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert readers == ["tests/support/golden_files.py"]
