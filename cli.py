"""The ``triage`` command line: parse options, call the library, render. No clinical logic here.

Library errors become messages in one place (``TriageGroup.invoke``): a user error prints what is
wrong and how to fix it on stderr and exits 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from typing import Any, NoReturn

import click

import triage
from triage.contract import read_report
from triage.engines import DURABLE, REFERENCE
from triage.errors import EvaluationError, InputError, PackError, ProblemsError, ReportError, TriageError
from triage.render import Line, render_decision, render_failure

EXIT_CODES = {
    ("continue", None): 0,
    ("reduce_load", None): 3,
    ("seek_medical_review", "routine"): 4,
    ("seek_medical_review", "same_day"): 5,
    ("seek_medical_review", "emergency"): 6,
}
"""Exit status of ``triage check --exit-code`` per outcome; 1 is an error, 2 a usage error."""

_STYLES: dict[str, dict[str, Any]] = {
    "emergency": {"fg": "white", "bg": "red", "bold": True},
    "urgent": {"fg": "red", "bold": True},
    "caution": {"fg": "yellow", "bold": True},
    "ok": {"fg": "green", "bold": True},
    "heading": {"bold": True},
    "note": {"dim": True},
    "text": {},
}


def use_colour(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def echo_lines(lines: list[Line], *, err: bool = False) -> None:
    colour = use_colour(sys.stderr if err else sys.stdout)
    width = min(shutil.get_terminal_size((88, 24)).columns, 88)
    for line in lines:
        text = line.text
        if line.indent and text:
            text = textwrap.fill(text, width, initial_indent=" " * line.indent,
                                 subsequent_indent=" " * (line.indent + 2))
        elif text and line.style != "emergency":
            text = textwrap.fill(text, width)
        click.echo(click.style(text, **_STYLES[line.style]) if colour else text, err=err, color=colour)


# -- the error boundary ------------------------------------------------------------------------

_HEADERS = {
    InputError: "cannot read {source}",
    ReportError: "the answers in {source} do not fit the report contract",
    PackError: "the rule pack {source} is refused",
}


def explain(exc: TriageError) -> str:
    """The message for a library error: what is wrong, where, and the fix."""
    if isinstance(exc, ProblemsError):
        source = exc.source or "the input"
        header = next((h for cls, h in _HEADERS.items() if isinstance(exc, cls)), "{source} is invalid")
        count = len(exc.problems)
        lines = [f"error: {header.format(source=source)} ({count} problem{'s' if count != 1 else ''}):"]
        return "\n".join(lines + [f"  {p}" for p in exc.problems])
    if isinstance(exc, triage.StorageError):
        fix = f"\n  {exc.fix}" if exc.fix else ""
        return f"error: {exc}{fix}"
    return f"error: {exc}"


def fail(exc: TriageError) -> NoReturn:
    if isinstance(exc, EvaluationError):
        echo_lines(render_failure(str(exc), exc.advice), err=True)
    else:
        click.echo(explain(exc), err=True)
    sys.exit(1)


class TriageGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TriageError as exc:
            fail(exc)


# -- commands ----------------------------------------------------------------------------------

@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(triage.__version__, prog_name="triage")
def main() -> None:
    """Safety check after a resistance-training session.

    Answers continue, reduce load, or seek medical review (routine, same day or emergency),
    and says why. Start with 'triage check'.
    """


def _load_pack(rules: str | None) -> triage.RulePack:
    return triage.load_pack(rules) if rules else triage.default_pack()


@main.command()
@click.option("--answers", metavar="FILE|-", help="A YAML or JSON report; '-' reads standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@click.option("--rules", metavar="DIR", help="Use the rule pack in DIR instead of the bundled one.")
@click.option("--exit-code", is_flag=True,
              help="Exit with the outcome: 0 continue, 3 reduce_load, 4 routine, 5 same_day, 6 emergency.")
@click.option("--engine", type=click.Choice([DURABLE, REFERENCE]), default=None,
              help="Rule engine (default: durable-rules when installed).")
def check(answers: str | None, as_json: bool, rules: str | None, exit_code: bool,
          engine: str | None) -> None:
    """Check a post-session report and say what to do next."""
    if answers is None:
        raise click.UsageError("give --answers FILE (or '-' for standard input)")
    pack = _load_pack(rules)
    report = read_report(answers, sys.stdin.read() if answers == "-" else None)
    decision = triage.evaluate(report, pack=pack, engine=engine)
    if as_json:
        click.echo(decision.to_json())
    else:
        echo_lines(render_decision(decision))
    sys.exit(EXIT_CODES[(decision.outcome, decision.urgency)] if exit_code else 0)


@main.command()
def schema() -> None:
    """Print the report's JSON Schema (fields, types, questions, answer labels)."""
    click.echo(json.dumps(triage.json_schema(), indent=2, ensure_ascii=False))


@main.group()
def rules() -> None:
    """Check and list rule packs."""


@rules.command("check")
@click.argument("directory", required=False, metavar="[DIR]")
def rules_check(directory: str | None) -> None:
    """Validate the rule pack in DIR (default: the bundled pack)."""
    pack = _load_pack(directory)
    click.echo(f"ok: {pack.summary()} ({pack.path})")


@rules.command("list")
@click.option("--rules", "directory", metavar="DIR", help="The rule pack to list (default: bundled).")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
def rules_list(directory: str | None, as_json: bool) -> None:
    """List the rules of a pack, most severe first."""
    pack = _load_pack(directory)
    ordered = sorted(pack.rules, key=lambda r: -triage.outcomes.severity(r.outcome, r.urgency))
    if as_json:
        data = {"name": pack.name, "version": pack.version, "sha256": pack.sha256,
                "rules": [r.to_data() for r in ordered]}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(pack.summary())
    width = max(len(r.id) for r in ordered)
    for r in ordered:
        click.echo(f"{r.policy_row:<4} {r.id:<{width}}  {triage.outcomes.describe(r.outcome, r.urgency):<33} {r.title}")


if __name__ == "__main__":
    main()
