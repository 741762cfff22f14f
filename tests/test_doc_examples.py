"""The example runs shown in the README and the guides are real: each block that starts with
`$ triage ...` is run, and its output must match what the page shows.

A line `...` in a shown output stands for any number of lines. Times, dates and session ids are
compared by shape. An interactive `triage check` is replayed from the answers typed after each
`> ` prompt in the transcript. Regenerate the pages on purpose only:
TRIAGE_REGOLD=1 pytest tests/test_doc_examples.py (blocks with `...` are left for a person).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import triage_cli.cli as cli
from tests.helpers import ROOT

PAGES = ["README.md", "docs/rules.md"]
_VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?"), "<time>"),
    (re.compile(r"\bs-[0-9a-f]{10}\b"), "<session>"),
]


@dataclass
class Example:
    page: str
    start: int  # line of the opening fence
    lines: list[str]

    @property
    def name(self) -> str:
        return f"{self.page}:{self.start}"


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        lines = (ROOT / page).read_text().splitlines()
        fences = [n for n, line in enumerate(lines) if line.startswith("```")]
        for start, end in zip(fences[::2], fences[1::2], strict=True):
            body = lines[start + 1 : end]
            shown = lines[start] == "```" and body and body[0].startswith("$ ")
            if shown and any(not line.startswith("$ ") for line in body):
                found.append(Example(page, start + 1, body))
    return found


def _run(command: str, env: dict[str, str | None], status: list[int]) -> list[str]:
    """Run one shown command; returns its output lines (stdout and stderr, as a terminal)."""
    if command == "echo $?":
        return [str(status[-1])]
    words = shlex.split(command)
    assert words[0] == "triage", command
    args, stdin = words[1:], None
    if "<" in args:
        stdin = (ROOT / args[args.index("<") + 1]).read_text()
        args = args[: args.index("<")]
    result = CliRunner().invoke(cli.main, args, input=stdin, env=env, terminal_width=88)
    status.append(result.exit_code)
    return result.output.splitlines()


def _interactive(command: str, typed: list[str], env: dict[str, str | None]) -> list[str]:
    """Replay a questionnaire: each prompt is shown with the answer typed after it."""
    answers = iter(typed)

    def read(prompt: str = "> ") -> str:
        answer = next(answers)
        click.echo(f"{prompt}{answer}", err=True)
        return answer + "\n"

    original = cli._read
    cli._read = read
    try:
        words = [*shlex.split(command)[1:], "--interactive"]
        result = CliRunner().invoke(cli.main, words, env=env, terminal_width=88)
    finally:
        cli._read = original
    return result.output.splitlines()


DATA_HOME = "~/.local/share"
"""Where the pages show the default log: a fresh data folder stands for it in the runs."""


def run_example(example: Example, tmp_path: Path) -> list[str]:
    data = tmp_path / "data"
    env = {"TRIAGE_DB": None, "XDG_DATA_HOME": str(data), "NO_COLOR": "1", "COLUMNS": "88"}
    output: list[str] = []
    status: list[int] = [0]
    commands = [line for line in example.lines if line.startswith("$ ")]
    typed = [line[2:] for line in example.lines if line.startswith("> ") or line == ">"]
    for command in commands:
        output.append(command)
        text = command[2:]
        if text.split()[:2] == ["triage", "check"] and "--answers" not in text:
            output += _interactive(text, [t.removeprefix(" ") for t in typed], env)
        else:
            output += _run(text, env, status)
    return [line.replace(str(data), DATA_HOME) for line in output]


def _shape(line: str) -> str:
    for pattern, placeholder in _VOLATILE:
        line = pattern.sub(placeholder, line)
    return line.rstrip()


def matches(shown: list[str], actual: list[str]) -> bool:
    """``shown`` equals ``actual``, where a shown line '...' stands for any lines."""
    if not shown:
        return not actual
    head = shown[0]
    if head.strip() == "...":
        return any(matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _shape(head) == _shape(actual[0]) and matches(shown[1:], actual[1:])


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.name)
def test_the_pages_show_real_runs(example: Example, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    actual = run_example(example, tmp_path)
    if os.environ.get("TRIAGE_REGOLD") and not any(line.strip() == "..." for line in example.lines):
        page = ROOT / example.page  # found by its text: an earlier rewrite moves the lines
        shown, real = "\n".join(example.lines) + "\n", "\n".join(actual) + "\n"
        page.write_text(page.read_text().replace(shown, real, 1))
        return
    assert matches(example.lines, actual), "\n".join(actual)


def test_the_pages_hold_examples() -> None:
    assert {e.page for e in examples()} == set(PAGES)
