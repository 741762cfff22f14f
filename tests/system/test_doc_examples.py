"""The example runs shown in the README and the guides are real: each block that starts with
`$ triage ...` is run, and its output must match what the page shows.

A line `...` in a shown output stands for any number of lines. Times, dates and session ids are
compared by shape. An interactive `triage check` is replayed from the answers typed after each
`> ` prompt in the transcript. Regenerate the pages on purpose only:
TRIAGE_REGOLD=1 pytest tests/system/test_doc_examples.py (blocks with `...` are left for a person).
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import triage_cli.cli as cli
from tests.support.doc_states import STATES
from tests.support.golden_files import check_shown
from tests.support.helpers import ROOT

PAGES = {"README.md": "you", "docs/rules.md": "you", "docs/clinician.md": "clinic"}
"""Each page, and the user whose home folder (/home/NAME) its runs show."""
_VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?"), "<time>"),
    (re.compile(r"\bs-[0-9a-f]{10}\b"), "<session>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),  # chain heads hash the time of writing
    (re.compile(r"\bkey [0-9a-f]{16}\b"), "key <key id>"),  # a new key each run
    (re.compile(r"\(\d+(\.\d+)? hours ago\)"), "(<hours> hours ago)"),
    (  # when, as a person says it (questionnaire.session_end), in the local time of the run
        re.compile(r"\b(today|yesterday|on (\d{1,2} )?[A-Z][a-z]+) at \d\d:\d\d\b"),
        "<when>",
    ),
    (  # a session's end as the questionnaire says it back (times.describe_session_end)
        re.compile(r"\bended (about \d\d:\d\d today|yesterday at about \d\d:\d\d),"),
        "ended <when>,",
    ),
]
"""What differs from run to run, compared by its shape. The 12-digit prefixes of the rule
packs' hashes are compared as they are."""


@dataclass
class Example:
    page: str
    start: int  # line of the opening fence
    lines: list[str]
    directives: dict[str, list[str]] = field(default_factory=dict)
    """From a ``<!-- doc-test ... -->`` comment right above the block: ``log: NAME`` (start from
    tests/support/doc_states.py's log NAME), ``before: COMMAND`` (run first, output not shown),
    ``skip: WHY``."""

    @property
    def name(self) -> str:
        return f"{self.page}:{self.start}"


def _directives(lines: list[str], fence: int) -> dict[str, list[str]]:
    """``<!-- doc-test KEY: VALUE -->`` on the line above the fence, or the same comment over
    several lines, one ``KEY: VALUE`` a line."""
    if fence == 0 or not lines[fence - 1].rstrip().endswith("-->"):
        return {}
    top = max(n for n in range(fence) if lines[n].startswith("<!-- doc-test"))
    comment = " \n ".join(lines[top:fence]).removeprefix("<!-- doc-test").removesuffix("-->")
    found: dict[str, list[str]] = {}
    for line in comment.splitlines():
        if line.strip():
            key, value = line.strip().split(":", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        lines = (ROOT / page).read_text().splitlines()
        fences = [n for n, line in enumerate(lines) if line.startswith("```")]
        for start, end in zip(fences[::2], fences[1::2], strict=True):
            body = lines[start + 1 : end]
            shown = lines[start] == "```" and body and body[0].startswith("$ ")
            if shown and any(not line.startswith("$ ") for line in body):
                found.append(Example(page, start + 1, body, _directives(lines, start)))
    return found


_PRINTF = re.compile(r"\$\(printf '([^']*)'\)")
"""``"$(printf '...')"``, as the pages type an escape character into a name."""


def _double_quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _shell(command: str) -> str | None:
    """The few shell commands the pages show besides triage's; None when it is not one."""
    command = (
        os.path.expanduser(command) if command.startswith(("sqlite3", "ln", "mkdir")) else command
    )
    words = shlex.split(command)
    if words[0] == "sqlite3":
        with sqlite3.connect(os.path.expanduser(words[1])) as conn:
            conn.execute(words[2])
        return ""
    if words[:2] == ["ln", "-s"]:
        Path(words[3]).symlink_to(words[2])
        return ""
    if words[0] == "mkdir":
        Path(words[1]).mkdir()
        return ""
    return None


def _run(command: str, status: list[int]) -> list[str]:
    """Run one shown command; returns its output lines (stdout and stderr, as a terminal)."""
    if command == "echo $?":
        return [str(status[-1])]
    command = _PRINTF.sub(lambda m: _double_quoted(codecs.decode(m[1], "unicode_escape")), command)
    shell = _shell(command)
    if shell is not None:
        status.append(0)
        return shell.splitlines()
    words = shlex.split(command)
    assert words[0] == "triage", command
    args, stdin = words[1:], None
    if "<" in args:
        stdin = Path(args[args.index("<") + 1]).read_text()
        args = args[: args.index("<")]
    result = CliRunner().invoke(cli.main, args, input=stdin, terminal_width=88, prog_name="triage")
    status.append(result.exit_code)
    return result.output.splitlines()


def _interactive(command: str, typed: list[str]) -> list[str]:
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
        result = CliRunner().invoke(cli.main, words, terminal_width=88, prog_name="triage")
    finally:
        cli._read = original
    return result.output.splitlines()


def _set_up(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder for the page's user, whose data folder holds the default log (fresh, or
    one of tests/support/doc_states.py), and a working folder with the repository's examples and
    rules; then the block's ``before:`` commands. Returns the home folder's parent."""
    homes = tmp_path / "home"
    home = homes / PAGES[example.page]
    work = tmp_path / "work"
    for folder in (home, work):
        folder.mkdir(parents=True)
    for name in ("examples", "rules"):
        (work / name).symlink_to(ROOT / name)
    monkeypatch.chdir(work)
    for name, value in [("HOME", str(home)), ("NO_COLOR", "1"), ("COLUMNS", "88")]:
        monkeypatch.setenv(name, value)
    for name in ("TRIAGE_DB", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for state in example.directives.get("log", []):
        log = home / ".local" / "share" / "triage" / "triage.db"
        log.parent.mkdir(parents=True, exist_ok=True)
        STATES[state](log)
    for command in example.directives.get("before", []):
        status = [0]
        output = _run(command, status)
        assert status[-1] == 0, (command, output)
    return homes


def run_example(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    homes = _set_up(example, tmp_path, monkeypatch)
    output: list[str] = []
    status: list[int] = [0]
    commands = [line for line in example.lines if line.startswith("$ ")]
    typed = [line[2:] for line in example.lines if line.startswith("> ") or line == ">"]
    for command in commands:
        output.append(command)
        text = command[2:]
        if text.split()[:2] == ["triage", "check"] and "--answers" not in text:
            output += _interactive(text, [t.removeprefix(" ") for t in typed])
        else:
            output += _run(text, status)
    return [line.replace(str(homes), "/home") for line in output]


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


@pytest.mark.parametrize(
    "example", [e for e in examples() if "skip" not in e.directives], ids=lambda e: e.name
)
def test_the_pages_show_real_runs(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = run_example(example, tmp_path, monkeypatch)
    check_shown(
        ROOT / example.page,
        example.lines,
        actual,
        matches,
        rewritable=not any(line.strip() == "..." for line in example.lines),
    )


def test_the_pages_hold_examples() -> None:
    assert {e.page for e in examples()} == set(PAGES)


def test_only_what_needs_another_server_is_not_run() -> None:
    """A block may be left out only for a server the tests cannot reach (the clinic's
    PostgreSQL at db.clinic.example), and says so."""
    for example in examples():
        for why in example.directives.get("skip", []):
            assert "db.clinic.example" in "\n".join(example.lines), example.name
            assert len(why) > 20, example.name
