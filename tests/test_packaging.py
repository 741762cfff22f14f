"""A wheel built from the source tree, installed in a fresh virtual environment, runs
`triage check` with the bundled rules (not the ones in the source tree)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.helpers import ROOT, VIGNETTE_DIR

pytestmark = pytest.mark.slow  # builds a wheel with pip and installs it in a new environment


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a clean copy: a stale build/ folder must not leak into the wheel
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", ".hypothesis", "__pycache__"))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(source)],
        check=True,
        capture_output=True,
    )
    wheel = next(work.glob("triage-*.whl"))
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = Path(
        subprocess.run(
            [
                env_dir / "bin" / "python",
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # the dependencies come from this environment; triage itself only from the wheel
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(env_dir / "bin" / "python"),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return env_dir


def test_wheel_runs_check_with_the_bundled_rules(installed: Path, tmp_path: Path) -> None:
    vignette = VIGNETTE_DIR / "p10-chest-pain-ongoing.yaml"
    out = subprocess.run(
        [installed / "bin" / "triage", "check", "--answers", str(vignette), "--json"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    decision = json.loads(out.stdout)
    assert (decision["outcome"], decision["urgency"]) == ("seek_medical_review", "emergency")
    where = subprocess.run(
        [installed / "bin" / "triage", "rules", "check"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(installed) in where and str(ROOT / "rules") not in where


def _evil_cli(tmp_path: Path) -> dict[str, str]:
    """A folder on PYTHONPATH holding another project's 'cli' module (and a 'triage_cli' one
    would be a different project's package altogether)."""
    evil = tmp_path / "evil"
    evil.mkdir(exist_ok=True)
    (evil / "cli.py").write_text("def main():\n    print('not triage')\n")
    return {"PYTHONPATH": str(evil), "PATH": "/usr/bin:/bin"}


def test_the_wheel_installs_no_top_level_cli_module(installed: Path) -> None:
    wheel = next(installed.parent.glob("triage-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "triage_cli/cli.py" in names
    assert not [n for n in names if n.split("/")[0] in ("cli.py", "cli")]


def test_the_wheel_carries_the_pages_of_triage_serve(installed: Path) -> None:
    wheel = next(installed.parent.glob("triage-*.whl"))
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("base", "login", "worklist", "check", "patient", "error"):
        assert f"triage/web/templates/{page}.html" in names, page
    assert {"triage/web/static/triage.css", "triage/web/static/tz.js"} <= names


def test_the_installed_command_runs_only_this_projects_cli(installed: Path, tmp_path: Path) -> None:
    from triage import __version__

    for command in (installed / "bin" / "triage", Path(sys.executable).parent / "triage"):
        out = subprocess.run(
            [command, "--version"], cwd=tmp_path, env=_evil_cli(tmp_path), capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        assert out.stdout.strip() == f"triage, version {__version__}", command


def test_the_public_names_are_defined_once() -> None:
    """_EXPORTS is the one list: __all__ derives from it, and the imports for type checkers
    must name exactly the same things from the same modules."""
    import ast

    import triage

    tree = ast.parse((ROOT / "triage" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If))
    typed = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    }
    assert typed == triage._EXPORTS
    assert triage.__all__ == ["__version__", *triage._EXPORTS]
    for name in triage.__all__:
        assert getattr(triage, name) is not None


def test_the_wheel_ships_the_packs_cases_and_passes_them_strictly(
    installed: Path, tmp_path: Path
) -> None:
    def rules_test(*options: str) -> subprocess.CompletedProcess[str]:
        command = [installed / "bin" / "triage", "rules", "test", "--strict", *options]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)

    shown = rules_test()
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert re.search(r"(\d+) of the pack's own cases, run with", shown.stdout), shown.stdout
    assert re.search(r"(\d+) cases: \1 passed, 0 failed\.", shown.stdout), shown.stdout
    ran = json.loads(rules_test("--json").stdout)
    assert ran["ok"] and ran["passed"] == len(ran["cases"]) > 100
    assert all(case["file"].startswith(str(installed)) for case in ran["cases"])
