"""Docs that cannot drift: the field table, the tests of the condition language, the README's
commands and .ci/run, and help for every command."""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import click
import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.helpers import ROOT
from triage.contract.reading import FIELDS
from triage.pack.conditions import OPERATORS
from triage_cli.cli import main

RULES_DOC = (ROOT / "docs" / "rules.md").read_text()
README = (ROOT / "README.md").read_text()


def test_rules_doc_lists_every_field_with_its_answers() -> None:
    for name, spec in FIELDS.items():
        assert f"| `{name}` | {spec.expected()} |" in RULES_DOC, name


def test_rules_doc_explains_every_test() -> None:
    for word in OPERATORS:
        assert (
            f"{{{word}:" in RULES_DOC
            or f"`{{{word}: " in RULES_DOC
            or f"{{{word}: true}}" in RULES_DOC
        ), word


def test_rules_doc_explains_the_history_conditions() -> None:
    for key in (
        "earlier:",
        "within_days:",
        "same_session:",
        "at_least:",
        "where:",
        "{current: ",
        "sessions_rising:",
        "field:",
        "sessions:",
    ):
        assert key in RULES_DOC, key


def readme_commands() -> list[str]:
    setup = r"(?:sh tests/system-packages.sh && )?python3 -m venv[^\n]*"
    return re.findall(rf"```\n({setup})\n```", README)


def test_readme_starts_with_two_commands_and_ci_runs_the_test_one() -> None:
    install_and_run, install_and_test = readme_commands()[:2]
    assert "pip install" in install_and_run and "triage" in install_and_run.split("&&")[-1]
    assert "pytest" in install_and_test
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in ci_lines


def test_the_test_command_installs_the_lock_and_the_lock_pins_every_dependency() -> None:
    """tests/constraints.txt pins (==) every dependency of the package and its extras, and the
    build tools, each within the range pyproject.toml gives: a new release changes nothing until
    the lock is refreshed (sh tests/lock.sh)."""
    install_and_test = readme_commands()[1]
    assert "PIP_CONSTRAINT=tests/constraints.txt " in install_and_test
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for extra in project["project"]["optional-dependencies"].values():
        wanted += extra
    pins: dict[str, list[Requirement]] = {}
    for line in (ROOT / "tests" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            pinned = Requirement(line)
            assert [s.operator for s in pinned.specifier] == ["=="], line
            pins.setdefault(canonicalize_name(pinned.name), []).append(pinned)
    for spec in map(Requirement, wanted):
        if canonicalize_name(spec.name) == "triage":  # an extra made of others: triage[all]
            continue
        found = pins.get(canonicalize_name(spec.name))
        assert found, f"{spec.name} is not in tests/constraints.txt: run sh tests/lock.sh"
        for pinned in found:
            version = next(iter(pinned.specifier)).version
            assert spec.specifier.contains(version, prereleases=True), (str(spec), version)


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += all_commands(command, f"{prefix}{name} ")
    return found


def test_every_command_has_help() -> None:
    for name, command in all_commands(main):
        assert command.help and len(command.help) > 15, name


def docs_example(doc: str, name: str) -> str:
    text = (ROOT / "docs" / doc).read_text()
    marker = f"<!-- docs-example: {name} -->\n```python\n"
    return text.split(marker, 1)[1].split("```", 1)[0]


EMBEDDING_EXAMPLES = re.findall(
    r"<!-- docs-example: ([\w-]+) -->", (ROOT / "docs" / "embedding.md").read_text()
)


def test_the_embedding_guide_has_its_python_examples() -> None:
    assert {"check-with-history", "incomplete-red-flag", "fhir-round-trip"} <= set(
        EMBEDDING_EXAMPLES
    )


@pytest.mark.parametrize("name", EMBEDDING_EXAMPLES)
def test_the_python_examples_in_the_embedding_guide_print_what_they_say(
    name, tmp_path, monkeypatch, capsys
) -> None:
    code = docs_example("embedding.md", name)
    monkeypatch.chdir(tmp_path)  # the examples read the repository's examples/ folder
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    exec(compile(code, "embedding.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    promised = [
        line.split("# ", 1)[1] for line in code.splitlines() if line.lstrip().startswith("print(")
    ]
    assert printed == promised


def test_the_rule_shown_in_the_readme_is_the_bundled_one() -> None:
    shown = README.split("```yaml\n", 1)[1].split("```", 1)[0]
    bundled = (ROOT / "rules" / "10-emergency.yaml").read_text()
    assert "\n".join("  " + line for line in shown.splitlines()) in bundled


def test_the_clinician_guide_leads_with_the_browser_and_its_screenshots_exist() -> None:
    guide = (ROOT / "docs" / "clinician.md").read_text()
    first_section = guide.split("\n## ", 2)[1]
    assert first_section.startswith("Your day in the browser")
    shots = re.findall(r"\]\((screenshots/[\w.-]+\.png)\)", guide)
    assert {"screenshots/worklist.png", "screenshots/check.png", "screenshots/patient.png"} <= set(
        shots
    )
    for shot in shots:
        image = ROOT / "docs" / shot
        assert image.read_bytes().startswith(b"\x89PNG"), shot  # taken by test_web_browser.py


def test_the_embedding_guide_documents_every_api_route_with_curl() -> None:
    from triage.web.openapi import openapi

    guide = (ROOT / "docs" / "embedding.md").read_text()
    for path, methods in openapi()["paths"].items():
        for method in methods:
            assert f"{method.upper()} {path.replace('{entry_id}', '{id}')}" in guide or (
                f"`{method.upper()} /api/v1{path}`" in guide
            ), (method, path)
    assert guide.count("curl -s") >= 4


def test_the_help_and_the_guides_name_every_urgency() -> None:
    """`triage --help` and every '--urgency a|b|...' in the guides list all the urgencies."""
    from triage.outcomes import URGENCIES

    help_text = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    for urgency in URGENCIES:
        assert urgency.replace("_", " ") in help_text, urgency
    for page in ("README.md", "docs/clinician.md", "docs/embedding.md", "docs/rules.md"):
        for listed in re.findall(r"--urgency ([a-z_|]+)", (ROOT / page).read_text()):
            assert set(listed.split("|")) == set(URGENCIES), (page, listed)
