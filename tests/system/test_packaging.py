"""A wheel built from the source tree, installed in a fresh virtual environment, runs
`triage check` with the bundled rules (not the ones in the source tree); installed alone, without
its extras, it still runs the core, and a command that needs an extra says which to install."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.helpers import ROOT, VIGNETTE_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

# the tests marked slow build a wheel with pip and install it in a new environment
CORE = {"durable-rules", "pydantic", "click", "pyyaml", "platformdirs", "cryptography"}
"""What triage.evaluate and 'triage check' with a SQLite log need (cryptography: the log's
signed checkpoints); the web server and the PostgreSQL driver are extras (triage/extras.py)."""
EXTRA_ONLY = {"starlette", "uvicorn", "jinja2", "python-multipart", "itsdangerous", "argon2-cffi",
              "pyjwt", "psycopg", "psycopg-binary", "psycopg-pool"}  # fmt: skip
POSTGRES_URL = "postgresql://triage@127.0.0.1:9/triage"  # never reached: the driver is missing


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a clean copy: a stale build/ folder must not leak into the wheel
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", ".hypothesis", "__pycache__"))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(source)],
        check=True,
        capture_output=True,
    )
    return next(work.glob("triage-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path) -> Path:
    work = wheel.parent
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_wheel_installs_no_top_level_cli_module(installed: Path) -> None:
    wheel = next(installed.parent.glob("triage-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "triage_cli/cli.py" in names
    assert not [n for n in names if n.split("/")[0] in ("cli.py", "cli")]


@pytest.mark.slow
def test_the_wheel_carries_the_pages_of_triage_serve(installed: Path) -> None:
    wheel = next(installed.parent.glob("triage-*.whl"))
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("base", "login", "worklist", "check", "patient", "error"):
        assert f"triage/web/templates/{page}.html" in names, page
    assert {"triage/web/static/triage.css", "triage/web/static/tz.js"} <= names


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- the core and its extras -------------------------------------------------------------------


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_core_depends_only_on_what_evaluate_and_check_need() -> None:
    project = _pyproject()["project"]
    assert {canonicalize_name(Requirement(r).name) for r in project["dependencies"]} == CORE
    extras = project["optional-dependencies"]
    assert extras["all"] == ["triage[serve,postgres]"]
    assert "triage[all]" in extras["test"]  # the README's test command installs every extra


def test_each_extra_installs_the_modules_its_commands_import() -> None:
    """triage/extras.py names the modules of each extra; the distributions that provide them
    are exactly the extra's requirements in pyproject.toml."""
    from importlib.metadata import packages_distributions

    from triage.extras import EXTRAS

    provided = packages_distributions()
    extras = _pyproject()["project"]["optional-dependencies"]
    for extra, (_, modules) in EXTRAS.items():
        named = {canonicalize_name(Requirement(r).name) for r in extras[extra]}
        found = {canonicalize_name(d) for m in modules for d in provided[m]}
        assert found == named - {"psycopg-binary"}, extra  # psycopg[binary]: libpq, no module


# Runs triage with the extras' modules not importable, as in an install without the extras.
WITHOUT_EXTRAS = """
import sys
from importlib.abc import MetaPathFinder

EXTRAS = {"starlette", "uvicorn", "jinja2", "python_multipart", "multipart", "itsdangerous",
          "argon2", "jwt", "psycopg", "psycopg_pool", "h11", "anyio"}

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
for name in [m for m in sys.modules if m.split(".")[0] in EXTRAS]:
    del sys.modules[name]
if sys.argv[1] == "-c":
    exec(sys.argv[2])
else:
    from triage_cli.cli import main
    sys.argv[:2] = ["triage"]
    main()
"""


def _runs(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIAGE_DB": str(cwd / "default.db"), "NO_COLOR": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


EVALUATE = (
    "import triage, yaml; "
    "d = triage.evaluate(yaml.safe_load(open({answers!r}))); "
    "print(d.outcome, d.urgency)"
)


def _assert_the_core_runs(triage: list[str | Path], python: list[str | Path], cwd: Path) -> None:
    """``triage check`` with the bundled rules and a local log, and ``triage.evaluate``, work;
    ``triage serve`` and a PostgreSQL log say which extra to install."""
    answers = ROOT / "examples" / "snap.yaml"
    checked = _runs([*triage, "check", "--answers", answers, "--db", cwd / "t.db", "--json"], cwd)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["urgency"] == "same_day"
    listed = _runs([*triage, "log", "list", "--db", cwd / "t.db", "--json"], cwd)
    assert len(json.loads(listed.stdout)) == 1, listed.stderr
    evaluated = _runs([*python, EVALUATE.format(answers=str(answers))], cwd)
    assert evaluated.stdout.split() == ["seek_medical_review", "same_day"], evaluated.stderr
    for command, extra in [
        (["serve", "--db", cwd / "t.db"], "serve"),
        (["user", "add", "alice", "--password-stdin", "--db", cwd / "t.db"], "serve"),
        (["log", "list", "--db", POSTGRES_URL], "postgres"),
        (["check", "--answers", answers, "--db", POSTGRES_URL], "postgres"),
    ]:
        refused = _runs([*triage, *command], cwd)
        assert refused.returncode == 1, (command, refused.stderr)
        assert f"install them: pip install 'triage[{extra}]'" in refused.stderr, command
        assert "Traceback" not in refused.stderr, refused.stderr
    opening = f"import triage\ntry: triage.TriageLog({POSTGRES_URL!r})\n"
    opening += "except triage.UsageError as error: print(error.fix)"
    opened = _runs([*python, opening], cwd)
    assert opened.stdout == "install them: pip install 'triage[postgres]'\n", opened.stderr


def test_the_core_runs_without_the_extras_and_names_them(tmp_path: Path) -> None:
    """In this environment, with the extras' modules made unimportable."""
    core = [sys.executable, "-c", WITHOUT_EXTRAS]
    _assert_the_core_runs([*core, "triage"], [*core, "-c"], tmp_path)


@pytest.mark.slow
def test_the_wheel_alone_installs_and_runs_the_core(wheel: Path, tmp_path: Path) -> None:
    """`pip install triage-*.whl`, no extras, with the tests' lock (tests/constraints.txt)."""
    env_dir = tmp_path / "core"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    constraints = {"PIP_CONSTRAINT": str(ROOT / "tests" / "constraints.txt")}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel],
        env={**os.environ, **constraints}, check=True, capture_output=True,
    )  # fmt: skip
    names = (
        "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))"
    )
    shown = _runs([python, "-c", names], tmp_path)
    installed = {canonicalize_name(name) for name in shown.stdout.split()}
    assert CORE | {"triage"} <= installed, shown.stderr
    assert not installed & EXTRA_ONLY, installed & EXTRA_ONLY
    _assert_the_core_runs([env_dir / "bin" / "triage"], [python, "-c"], tmp_path)
