"""The ``triage`` command line: parse options, call the library, render. No clinical logic here.

Library errors become messages in one place (``TriageGroup.invoke``): a user error prints what is
wrong and how to fix it on stderr and exits 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

import triage
from triage.engines import DURABLE, REFERENCE
from triage.errors import TriageError
from triage.log import KEEP, Filters, Keep, TriageLog
from triage.log.export import write_export
from triage.log.patients import checked_change
from triage.log.views import (
    entry_detail,
    entry_table,
    json_text,
    no_checks_yet,
    patient_data,
    patient_saved,
    patient_view,
    trend_chart,
    verification,
)
from triage.outcomes import LEVELS, OUTCOMES, URGENCIES
from triage.render import IF_STOPPED, Line, render_decision, render_early_warning

# The report contract builds its pydantic models on import (about 100 ms): the questionnaire and
# the contract are imported inside the commands that use them, so 'triage log ...' starts fast.
if TYPE_CHECKING:
    from triage.checking import StoppedCheck
    from triage.questionnaire import Gate, Interview, Item
    from triage.warning import EarlyWarning

EXIT_CODES = {(lv.outcome, lv.urgency): lv.exit_code for lv in LEVELS}
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


def _width() -> int:
    return min(shutil.get_terminal_size((88, 24)).columns, 88)


def _wrapped(line: Line, width: int) -> list[str]:
    """The line filled to ``width``, broken between words only. The emergency banner breaks
    before its bracket when it must, so that its first line keeps the whole instruction."""
    if not line.text:
        return [line.text]
    if line.style == "emergency" and len(line.text) > width and " (" in line.text:
        head, tail = line.text.split(" (", 1)
        if len(head) <= width:
            return [head, *textwrap.wrap("(" + tail, width, break_long_words=False)]
    indent = " " * line.indent
    return textwrap.wrap(
        line.text,
        width,
        initial_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
        subsequent_indent=indent + "  " if line.indent else "",
    )


def echo_lines(lines: list[Line], *, err: bool = False, wrap: bool = True) -> None:
    colour = use_colour(sys.stderr if err else sys.stdout)
    width = _width()
    for line in lines:
        for text in _wrapped(line, width) if wrap else [line.text]:
            styled = click.style(text, **_STYLES[line.style]) if colour else text
            click.echo(styled, err=err, color=colour)


F = TypeVar("F", bound=Callable[..., Any])

# -- the error boundary ------------------------------------------------------------------------


def fail(exc: TriageError) -> NoReturn:
    """A library error, worded by the error itself; with --json, also as a JSON object on stdout."""
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get("json_errors"):
        click.echo(json.dumps(exc.to_dict(), indent=2, ensure_ascii=False))
    first, *rest = exc.explain().split("\n")
    colour = use_colour(sys.stderr)
    click.echo(click.style(first, fg="red", bold=True) if colour else first, err=True, color=colour)
    for line in rest:
        click.echo(line, err=True)
    sys.exit(1)


class TriageGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TriageError as exc:
            fail(exc)
        except BrokenPipeError:  # the reader went away, as in 'triage log export ... | head'
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)


def _json_errors(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """--json also asks for errors as JSON (on stdout, with the same exit status)."""
    if value:
        ctx.meta["json_errors"] = True
    return value


def json_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--json", "as_json", is_flag=True, is_eager=True, callback=_json_errors, help=help_text
    )


# -- commands ----------------------------------------------------------------------------------

db_option = click.option(
    "--db",
    metavar="PATH",
    envvar="TRIAGE_DB",
    show_envvar=True,
    help="The triage log (default: triage.db in your data folder).",
)


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(triage.__version__, prog_name="triage")
def main() -> None:
    """Safety check after a resistance-training session.

    Answers continue, reduce load, or seek medical review (routine, same day or emergency),
    and says why. Start with 'triage check'.
    """


def _load_pack(rules: str | None) -> triage.RulePack:
    """The pack of --rules, or the bundled one."""
    return triage.load_pack(rules) if rules else triage.default_pack()


@main.command()
@click.option(
    "--answers", metavar="FILE|-", help="A YAML or JSON report; '-' reads standard input."
)
@json_option("Print the decision as JSON (and any error as a JSON object).")
@click.option("--rules", metavar="DIR", help="Use the rule pack in DIR instead of the bundled one.")
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit with the outcome: 0 continue, 3 reduce_load, 4 routine, 5 same_day, "
    "7 urgent, 6 emergency.",
)
@click.option(
    "--engine",
    type=click.Choice([DURABLE, REFERENCE]),
    default=None,
    help="Rule engine (default: durable-rules when installed).",
)
@click.option("--patient", metavar="ID", help="Your patient ID (otherwise it is asked).")
@click.option(
    "--save-answers",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write the answers to FILE, as a report that --answers accepts.",
)
@click.option(
    "--interactive",
    is_flag=True,
    help="Ask the questions even when standard input is not a terminal.",
)
@db_option
@click.option("--no-log", is_flag=True, help="Do not record this check in the triage log.")
@click.option(
    "--follow-up",
    is_flag=True,
    help="A follow-up about the patient's latest session in the log "
    "(fills the session and the hours since).",
)
def check(
    answers: str | None,
    as_json: bool,
    rules: str | None,
    exit_code: bool,
    engine: str | None,
    patient: str | None,
    save_answers: str | None,
    interactive: bool,
    db: str | None,
    no_log: bool,
    follow_up: bool,
) -> None:
    """Check a session: answer the questions, or give a report with --answers.

    The questions stop at the first answer that needs an emergency department or an ambulance,
    whatever the other answers would be, and that check is recorded as stopped early. The
    patient's checks of the last weeks are read from the triage log for the history rules, and
    this check is recorded there (see 'triage log') unless --no-log is given.
    """
    from triage.contract import read_answers

    options: dict[str, Any] = {
        "db": db,
        "engine": engine,
        "record": not no_log,
        "as_json": as_json,
        "exit_code": exit_code,
        "save_answers": save_answers,
    }
    if answers is None:
        with _INTERRUPTS:  # until the result is shown: Ctrl-C never hides an answer's result
            questions = _Questions(_PackLoading(rules), db, record=not no_log)
            asked = questions.run(patient, interactive, follow_up)
            if asked.stopped is not None:
                _show_stopped(asked.stopped, as_json, exit_code, save_answers)
            _check(asked.data, questions.pack.get(), asked.follow_up, None, **options)
    data, source = read_answers(answers, _stdin_bytes() if answers == "-" else None)
    if patient is not None:
        from triage.checking import with_patient

        data = with_patient(data, _patient_option(patient), source)
    _check(data, _load_pack(rules), follow_up, source, **options)


def _check(
    data: Any,
    pack: triage.RulePack,
    follow_up: bool,
    source: str | None,
    *,
    db: str | None,
    engine: str | None,
    record: bool,
    as_json: bool,
    exit_code: bool,
    save_answers: str | None,
) -> NoReturn:
    """Check the answers, show the result, say whether it was saved; exit."""
    result = triage.check(
        data, log=db, pack=pack, engine=engine, follow_up=follow_up, record=record, source=source
    )
    if result.session is not None and source is not None:
        _say_follow_up(result.session, result.decision.report.hours_since_session)
    decision = result.decision
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        echo_lines(render_decision(decision))
    problems = _after_the_result(result, save_answers, as_json)
    status = EXIT_CODES[(decision.outcome, decision.urgency)] if exit_code else int(problems)
    sys.exit(status)


def _after_the_result(
    result: triage.CheckResult | StoppedCheck, save_answers: str | None, as_json: bool
) -> bool:
    """Say whether the check was saved (and its reference number), save the answers, and say
    what went wrong with the log, once the patient has the result. Whether anything went
    wrong."""
    from triage.contract import save_answers_file

    problems = False
    if not as_json and result.log_error is None:
        echo_lines([Line("text", ""), _saved_line(result)])
    if result.started_log:
        click.echo(f"Started a new triage log at {result.started_log}.", err=True)
    if save_answers and isinstance(result, triage.CheckResult):
        try:
            save_answers_file(save_answers, result.decision.report)
        except TriageError as exc:
            click.echo(exc.explain(), err=True)
            problems = True
    elif save_answers:
        click.echo(
            f"The answers were not written to {save_answers}: the questions were not finished.",
            err=True,
        )
    if result.log_error is not None:
        click.echo(result.log_error.explain(), err=True)
        click.echo(
            "Your result above is valid, but it was not saved in the triage log: "
            "tell your clinician.",
            err=True,
        )
        problems = True
    return problems


def _saved_line(result: triage.CheckResult | StoppedCheck) -> Line:
    if result.entry is not None:
        return Line(
            "heading",
            f"Saved for your clinician in the triage log (reference number {result.entry.id}).",
        )
    return Line("heading", f"Not saved in the triage log: {result.not_logged}.")


def _show_stopped(
    stopped: _Stopping, as_json: bool, exit_code: bool, save_answers: str | None
) -> NoReturn:
    """A questionnaire stopped early: the screen at once (on stderr too with --json, since a
    person is answering), then the record in the log, then whether it was saved."""
    from triage.checking import stop_early

    warning = stopped.warning
    _say()
    echo_lines(render_early_warning(warning), err=as_json)
    if stopped.interrupted:
        echo_lines([Line("text", ""), Line("urgent", IF_STOPPED)], err=as_json)
    result = stop_early(warning, log=stopped.db, record=stopped.record)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    problems = _after_the_result(result, save_answers, as_json)
    if stopped.interrupted:
        sys.exit(stopped.status)
    level = (warning.outcome, warning.urgency)
    sys.exit(EXIT_CODES[level] if exit_code else int(problems))


def _stdin_bytes() -> bytes:
    from triage.yamlio import MAX_BYTES

    return sys.stdin.buffer.read(MAX_BYTES + 1)


def _say_follow_up(session: Any, hours: float) -> None:
    ended = session.ended_at.strftime("%Y-%m-%d %H:%M UTC")
    _say(f"Follow-up of session {session.session_id}, which ended {ended} ({hours:g} hours ago).")


def _patient_option(patient: str) -> str:
    """--patient, checked as the patient id question checks it (a usage error otherwise)."""
    from triage.errors import AnswerError
    from triage.questionnaire import parse_answer

    try:
        return str(parse_answer(triage.FIELDS["patient_id"], patient))
    except AnswerError as exc:
        raise click.BadParameter(str(exc), param_hint="--patient") from None


# -- the questionnaire ---------------------------------------------------------------------------

NOT_A_TERMINAL = (
    "error: 'triage check' asks its questions in a terminal, and standard input is not one.\n"
    "  To check answers from a file or another program: triage check --answers FILE "
    "(or --answers - to read standard input).\n"
    "  'triage schema' describes the report; 'triage questions' lists the questions."
)


class _PackLoading:
    """The rule pack: one given with --rules is loaded (and refused) before any question; the
    bundled one loads in the background once the first question is on the screen, while the
    patient reads it (so the first question comes sooner), or when first needed."""

    def __init__(self, rules: str | None) -> None:
        self._pack: triage.RulePack | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if rules:
            self._pack = triage.load_pack(rules)
        else:
            _WHILE_WAITING.append(self.start)

    def start(self) -> None:
        if self._pack is None and self._thread is None:
            self._thread = threading.Thread(target=self._load, daemon=True)
            self._thread.start()

    def _load(self) -> None:
        try:
            self._pack = triage.default_pack()
        except BaseException as exc:  # handed to the main thread by get()
            self._error = exc

    def get(self) -> triage.RulePack:
        if self._thread is None and self._pack is None:
            self._load()
        elif self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._pack is not None
        return self._pack


_WHILE_WAITING: list[Callable[[], None]] = []
"""What to start once the first question waits for an answer (the bundled pack's loading)."""


class _Interrupts:
    """Ctrl-C stops the questions, but never before an answer typed ahead of it has been acted
    on: a red-flag answer followed at once by Ctrl-C still gets its warning shown and recorded.

    In a terminal, Ctrl-C only raises a flag, the terminal keeps the line typed before it
    (NOFLSH), and the next read takes that line first; the flag stops the questions once no
    answer is waiting. Without a terminal (a pipe), Ctrl-C stops a read at once, and is held
    while an answer is being acted on.
    """

    def __init__(self) -> None:
        self.reading = False
        self.pending = False

    def __enter__(self) -> _Interrupts:
        self.previous: Any = None
        self.terminal: list[Any] | None = None
        self.pending = False
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        self.fd = _terminal_fd()
        if self.fd is not None:
            self.terminal = _keep_typed_ahead(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.terminal is not None and self.fd is not None:
            _restore_terminal(self.fd, self.terminal)

    def _handle(self, signum: int, frame: Any) -> None:
        self.pending = True
        if self.reading:  # a blocking read from a pipe: stop it now
            raise KeyboardInterrupt

    def readline(self) -> str:
        """The next line typed; KeyboardInterrupt after Ctrl-C once no line is waiting."""
        if self.fd is None:
            self.reading = True
            try:
                if self.pending:
                    raise KeyboardInterrupt
                return sys.stdin.readline()
            finally:
                self.reading = False
        while True:
            if select.select([self.fd], [], [], 0.2)[0]:  # a line typed before Ctrl-C first
                return sys.stdin.readline()
            if self.pending:
                self.pending = False
                raise KeyboardInterrupt


def _terminal_fd() -> int | None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # CliRunner's input, a closed stdin
        return None
    return fd if os.isatty(fd) else None


def _keep_typed_ahead(fd: int) -> list[Any] | None:
    """Ask the terminal to keep the typed-ahead line on Ctrl-C; the settings before."""
    try:
        import termios

        before = termios.tcgetattr(fd)
        keeping = termios.tcgetattr(fd)
        keeping[3] |= termios.NOFLSH  # and no '^C' echoed into the screen that follows
        keeping[3] &= ~getattr(termios, "ECHOCTL", 0)
        termios.tcsetattr(fd, termios.TCSANOW, keeping)
        return before
    except (ImportError, OSError):  # termios.error is an OSError
        return None


def _restore_terminal(fd: int, settings: list[Any]) -> None:
    try:
        import termios

        termios.tcsetattr(fd, termios.TCSANOW, settings)
    except (ImportError, OSError):
        pass


_INTERRUPTS = _Interrupts()


@dataclass
class _Stopping:
    """Why and how the questions stopped before the end."""

    warning: EarlyWarning
    db: str | None
    record: bool
    interrupted: bool = False
    status: int = 0


@dataclass
class _Asked:
    data: dict[str, Any]
    follow_up: bool
    stopped: _Stopping | None = None


_NOT_READ = object()


class _Questions:
    """Asks the questions in the terminal, one at a time, and after each answer looks for an
    early warning; the questionnaire itself (``triage.questionnaire.Interview``) and the warning
    (``triage.warning``) are the library's."""

    def __init__(self, pack: _PackLoading, db: str | None, *, record: bool) -> None:
        self.pack = pack
        self.db = db
        self.record = record
        self.clinician: Any = _NOT_READ  # the profile and conditions of the patient's record
        self.interview: Interview | None = None

    def run(self, patient: str | None, interactive: bool, follow_up: bool) -> _Asked:
        """The answers; or, stopped early, the warning. Ctrl-C leaves with status 130 and end
        of input with 1; with answers that already need a clinician, these are shown and
        recorded first."""
        if not interactive and not sys.stdin.isatty():
            click.echo(NOT_A_TERMINAL, err=True)
            sys.exit(1)
        preset = {} if patient is None else {"patient_id": _patient_option(patient)}
        try:
            _say("Follow-up check" if follow_up else "Post-session check", bold=True, fg="cyan")
            _say("Answer each question; type ? for help. Ctrl-C stops.")
            if follow_up:
                preset, follow_up = self._follow_up(preset)
            return self._ask_all(preset, follow_up)
        except KeyboardInterrupt:
            return self._stopped(130, "\nStopped.")
        except EOFError:
            return self._stopped(1, "\nNo more input.")

    def _follow_up(self, preset: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Who the patient is, their latest session (confirmed by them), and what the log knows
        about it. A patient who means another session gets a check of a new session."""
        from datetime import datetime, timezone

        from triage.checking import follow_up_preset
        from triage.prompts import session_question
        from triage.questionnaire import ITEMS

        if "patient_id" not in preset:
            step = ITEMS["patient_id"][1]
            preset = {"patient_id": _ask(step)}
        session, known = follow_up_preset(preset["patient_id"], self.db)
        if _ask(session_question(session.ended_at, datetime.now(timezone.utc))):
            return known, True
        _say("Then this is a check of a new session.")
        return preset, False

    def _ask_all(self, preset: dict[str, Any], follow_up: bool) -> _Asked:
        from triage.prompts import UNSET
        from triage.questionnaire import Interview

        interview = Interview.follow_up(preset) if follow_up else Interview(preset)
        self.interview = interview
        while True:
            step = interview.next_step()
            keep = UNSET
            if step is None:
                key = _confirm(interview)
                if key is None:
                    return _Asked(interview.report_data(), follow_up)
                step, keep = interview.step(key), interview.value(key)
            interview.answer(step, _ask(step, keep))
            warning = self._warning()
            if warning is not None:
                return _Asked({}, follow_up, _Stopping(warning, self.db, self.record))

    def _warning(self, at_least: str = "urgent", interrupted: bool = False) -> EarlyWarning | None:
        """The early warning for the answers so far, with the patient's profile and conditions
        from their record (not known, while the log cannot say)."""
        from triage.checking import record_answers
        from triage.warning import early_warning

        if self.interview is None:
            return None
        answers, pending = self.interview.partial()
        if "patient_id" not in answers:
            return None
        if self.clinician is _NOT_READ:
            self.clinician = record_answers(answers["patient_id"], self.db)
        if self.clinician is None:
            pending |= {"profile", "conditions"}
        else:
            answers = {**answers, **self.clinician}
        return early_warning(
            answers, pending, self.pack.get(), at_least=at_least, interrupted=interrupted
        )

    def _stopped(self, status: int, said: str) -> _Asked:
        """Stopped by the patient: answers that already need a clinician are shown and recorded;
        otherwise nothing is saved."""
        answers = self.interview.partial()[0] if self.interview is not None else {}
        warning = None
        if {"patient_id", "hours_since_session"} <= set(answers):
            warning = self._warning("routine", interrupted=True)
        if warning is None:
            _say(f"{said} Nothing was saved.")
            _say_wrapped(IF_STOPPED)
            sys.exit(status)
        _say(said)
        return _Asked({}, False, _Stopping(warning, self.db, self.record, True, status))


def _say(text: str = "", **style: Any) -> None:
    """Questionnaire output goes to stderr, so that stdout holds only the result (--json)."""
    click.echo(click.style(text, **style) if style and use_colour(sys.stderr) else text, err=True)


def _say_wrapped(text: str, indent: int = 0) -> None:
    from triage.prompts import fill

    echo_lines(fill(text, _width(), indent), err=True, wrap=False)


def _read(prompt: str = "> ") -> str:
    click.echo(prompt, nl=False, err=True)
    while _WHILE_WAITING:
        _WHILE_WAITING.pop()()
    line = _INTERRUPTS.readline()
    if not line:
        raise EOFError
    return line


_FIRST_TIME: Any = object()


def _ask(step: Gate | Item, keep: Any = _FIRST_TIME) -> Any:
    """Ask one question until it gets a valid answer; None when an optional one is skipped.
    ``keep`` (when changing an answer) is the answer Enter keeps; ``prompts.UNSET`` for none."""
    from triage.errors import AnswerError
    from triage.prompts import UNSET, help_text, is_optional, options, question_lines
    from triage.questionnaire import Gate, parse_answer, parse_choice

    keep = UNSET if keep is _FIRST_TIME else keep
    echo_lines(question_lines(step, _width(), keep), err=True, wrap=False)
    while True:
        text = _read().strip()
        if text == "?":
            _say_wrapped(help_text(step), indent=2)
        elif not text and keep is not UNSET:
            return keep
        elif not text and is_optional(step):
            return None
        elif not text:
            _say("  This question needs an answer.")
        else:
            try:
                if isinstance(step, Gate):
                    return parse_choice(options(step), text)
                return parse_answer(step.spec, text)
            except AnswerError as exc:
                _say_wrapped(str(exc), indent=2)


def _confirm(interview: Interview) -> str | None:
    """Show every answer on one screen; Enter confirms, a number changes that answer."""
    from triage.prompts import changeable, summary_lines

    rows = interview.summary()
    keys = changeable(rows)
    echo_lines(summary_lines(rows, _width()), err=True, wrap=False)
    while True:
        text = _read().strip()
        if not text:
            return None
        if text.isdigit() and 1 <= int(text) <= len(keys):
            return keys[int(text) - 1]
        _say(f"  Type a number from 1 to {len(keys)}, or press Enter to check.")


@main.command()
@json_option("Print the questionnaire as JSON.")
def questions(as_json: bool) -> None:
    """Print the questionnaire: questions, help, answers, gates, and when each is asked."""
    from triage.questionnaire import describe

    flow = describe()
    if as_json:
        click.echo(json.dumps(flow, indent=2, ensure_ascii=False))
        return
    click.echo(f"Report contract v{flow['contract_version']}.")
    for step in flow["steps"]:
        _describe_step(step, 0)


def _describe_step(step: dict[str, Any], depth: int) -> None:
    pad = "      " * depth
    if "gate" not in step:
        click.echo(pad + _describe_item(step))
        return
    click.echo(f"\n{pad}[{step['gate']}] {step['question']}")
    click.echo(
        f"{pad}    If no: " + ", ".join(f"{k}={json.dumps(v)}" for k, v in step["if_no"].items())
    )
    click.echo(f"{pad}    If yes, ask:")
    for item in step["if_yes"]:
        _describe_step(item, depth + 1)


def _describe_item(item: dict[str, Any]) -> str:
    answers = item.get("answers")
    if isinstance(answers, list):
        shown = " | ".join(f"{json.dumps(a['value'])}: {a['label']}" for a in answers)
    elif answers:
        shown = f"{answers['minimum']:g}-{answers['maximum']:g}"
    else:
        shown = "text"
    when = "" if item["asked"] == "always" else f" [{item['asked']}]"
    optional = "" if item["required"] else " (optional)"
    return f"{item['field']}{optional}{when}: {item['question']}  <{shown}>"


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
@click.option(
    "--rules", "directory", metavar="DIR", help="The rule pack to list (default: bundled)."
)
@json_option("Print the rules as JSON.")
def rules_list(directory: str | None, as_json: bool) -> None:
    """List the rules of a pack, most severe first."""
    pack = _load_pack(directory)
    ordered = sorted(pack.rules, key=lambda r: -triage.outcomes.severity(r.outcome, r.urgency))
    if as_json:
        data = {
            "name": pack.name,
            "version": pack.version,
            "sha256": pack.sha256,
            "rules": [r.to_data() for r in ordered],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(pack.summary())
    width = max(len(r.id) for r in ordered)
    for r in ordered:
        level = triage.outcomes.describe(r.outcome, r.urgency)
        click.echo(f"{r.policy_row:<4} {r.id:<{width}}  {level:<33} {r.title}")


# -- the triage log ----------------------------------------------------------------------------


# click.ParamType is generic, in the type it converts to, from click 8.4 on; the clicks before
# it (still allowed: click>=8.1) cannot be subscripted at run time, so only the checker sees it.
if TYPE_CHECKING:
    _DayParamType = click.ParamType[date | datetime]
else:
    _DayParamType = click.ParamType


class _Day(_DayParamType):
    """A date (a whole UTC day) or a date and time: 2026-11-21, 2026-11-21T14:30."""

    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> date | datetime:
        if isinstance(value, (date, datetime)):
            return value
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                continue
        self.fail(f"{value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM", param, ctx)


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--patient", metavar="ID", help="Only this patient (ids are case-sensitive)."
            ),
            click.option("--outcome", type=click.Choice(list(OUTCOMES)), help="Only this outcome."),
            click.option(
                "--urgency", type=click.Choice(list(URGENCIES)), help="Only this urgency."
            ),
            click.option("--since", type=_Day(), help="From this date (UTC, included)."),
            click.option("--until", type=_Day(), help="Up to this date (UTC, included)."),
            click.option(
                "--unreviewed", is_flag=True, help="Only entries no clinician has reviewed."
            ),
        ]
    ):
        command = option(command)
    return command


def _reading(db: str | None) -> TriageLog:
    """The log, for a command that never starts one."""
    return TriageLog(db, create=False)


def _filters(triage_log: TriageLog, given: dict[str, Any]) -> Filters:
    """The filters; a patient id the log does not know is an error with suggestions."""
    filters = Filters(**given).checked()
    if filters.patient is not None:
        triage_log.require_patient(filters.patient)
    return filters


@main.group()
def log() -> None:
    """Review the triage log: who was flagged, why, under which rules."""


@log.command("list")
@filter_options
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N entries."
)
@json_option("Print the entries as JSON.")
@db_option
def log_list(limit: int, as_json: bool, db: str | None, **given: Any) -> None:
    """List checks, newest first; unreviewed urgent ones are flagged."""
    with _reading(db) as triage_log:
        entries = triage_log.entries(_filters(triage_log, given), limit=limit)
    if as_json:
        click.echo(json_text([vars(e) for e in entries], indent=2))
    else:
        echo_lines(
            entry_table(entries, limit, shutil.get_terminal_size((120, 24)).columns), wrap=False
        )


@log.command("show")
@click.argument("entry_id", type=int, metavar="ID")
@json_option("Print the entry as JSON.")
@db_option
def log_show(entry_id: int, as_json: bool, db: str | None) -> None:
    """Show one check: the answers, every reason with its source, the rules, the reviews."""
    with _reading(db) as triage_log:
        entry = triage_log.entry(entry_id)
    if as_json:
        click.echo(json_text(entry.to_dict(), indent=2))
    else:
        echo_lines(entry_detail(entry))


@log.command("review")
@click.argument("entry_id", type=int, metavar="ID")
@click.option("--by", "reviewer", required=True, metavar="NAME", help="Who reviewed it.")
@click.option("--accept", is_flag=True, help="The decision was right.")
@click.option("--override", is_flag=True, help="The decision was overridden (say why in --note).")
@click.option("--note", default="", metavar="TEXT", help="A note; required with --override.")
@db_option
def log_review(
    entry_id: int, reviewer: str, accept: bool, override: bool, note: str, db: str | None
) -> None:
    """Record a clinician's review of a check (appended; never edits the check).

    Give exactly one of --accept and --override.
    """
    if accept and override:
        raise click.UsageError("give either --accept or --override, not both")
    if not accept and not override:
        raise click.UsageError("give --accept or --override")
    if override and not note.strip():
        raise click.UsageError("an override needs --note saying what was decided instead, and why")
    with _reading(db) as triage_log:
        review = triage_log.review(
            entry_id, by=reviewer, verdict="accepted" if accept else "overridden", note=note
        )
    click.echo(
        f"Review {review.id} recorded: entry {entry_id} {review.verdict} by {review.reviewer}."
    )


@log.command("export")
@filter_options
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), required=True, help="Output format."
)
@click.option(
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write to FILE (default: stdout); an existing FILE is refused unless --force.",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists (a regular file only).")
@db_option
def log_export(fmt: str, output: str | None, force: bool, db: str | None, **given: Any) -> None:
    """Export entries, oldest first, streamed (any number of entries in constant memory)."""
    with _reading(db) as triage_log:
        entries = triage_log.export(_filters(triage_log, given))
        count = write_export(entries, fmt, output, force=force)
    if output:
        click.echo(f"Exported {count} entries to {output}.", err=True)


@log.command("trend")
@click.option("--patient", required=True, metavar="ID", help="The patient.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=30, show_default=True, help="The last N checks."
)
@db_option
def log_trend(patient: str, limit: int, db: str | None) -> None:
    """A patient's pain (during and now) and outcomes over time, as a chart."""
    with _reading(db) as triage_log:
        triage_log.require_patient(patient)
        points = triage_log.trend(patient, limit)
    echo_lines(trend_chart(patient, points), wrap=False)


@log.command("verify")
@db_option
def log_verify(db: str | None) -> None:
    """Check the hash chain and SQLite's integrity; exit 1 and name the first bad record
    if wrong.
    """
    with _reading(db) as triage_log:
        result = triage_log.verify()
        path = str(triage_log.path)
    echo_lines(verification(result, path), wrap=False)
    sys.exit(0 if result.ok else 1)


# -- patient records ---------------------------------------------------------------------------


class _PatientSetCommand(click.Command):
    """Its help lists the profiles and conditions, read from the report contract when shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from triage.contract import FIELDS

        formatter.write_paragraph()
        for title, name in (("Profiles", "profile"), ("Conditions", "conditions")):
            formatter.write_text(f"{title}: " + ", ".join(FIELDS[name].choices) + ".")


@main.group()
def patient() -> None:
    """Patient records: a patient's profile and known conditions, filled into their checks."""


@patient.command("set", cls=_PatientSetCommand)
@click.argument("patient_id", metavar="ID")
@click.option("--profile", metavar="PROFILE", help="The training profile (listed below).")
@click.option("--no-profile", is_flag=True, help="Clear the profile.")
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    metavar="CONDITION",
    help="A known condition (listed below); repeat for each. Replaces the recorded ones.",
)
@click.option("--no-conditions", is_flag=True, help="Clear the conditions.")
@click.option("--by", metavar="NAME", help="Who sets it (default: your login name).")
@click.option("--note", default="", metavar="TEXT", help="Why, or where it comes from.")
@db_option
def patient_set(
    patient_id: str,
    profile: str | None,
    no_profile: bool,
    conditions: tuple[str, ...],
    no_conditions: bool,
    by: str | None,
    note: str,
    db: str | None,
) -> None:
    """Set a patient's profile and conditions: appended to the log, like a review.

    Every later check of the patient gets them filled in, unless its answers give their own.
    Give only --profile to keep the conditions, only --condition to keep the profile. A new
    log is started (and said) if there is none yet.
    """
    new_profile = _given_profile(profile, no_profile)
    new_conditions = _given_conditions(conditions, no_conditions)
    if new_profile is KEEP and new_conditions is KEEP:
        raise click.UsageError("give --profile, --condition, --no-profile or --no-conditions")
    change = checked_change(  # refused before any log is started
        patient_id, profile=new_profile, conditions=new_conditions, by=by or _login(), note=note
    )
    with TriageLog(db) as triage_log:
        if triage_log.created:
            click.echo(f"Started a new triage log at {triage_log.path}.", err=True)
        record = triage_log.set_patient(
            patient_id,
            profile=change.profile,
            conditions=change.conditions,
            by=change.by,
            note=note,
        )
        has_checks = bool(triage_log.entries(Filters(patient=patient_id), limit=1))
        similar = [] if has_checks else triage_log.similar_patients(patient_id)
    echo_lines(patient_saved(record))
    if not has_checks:
        echo_lines(no_checks_yet(patient_id, similar), err=True)


def _given_profile(profile: str | None, no_profile: bool) -> str | Keep | None:
    if profile is not None and no_profile:
        raise click.UsageError("give either --profile or --no-profile, not both")
    if no_profile:
        return None
    return KEEP if profile is None else profile


def _given_conditions(conditions: tuple[str, ...], no_conditions: bool) -> list[str] | Keep:
    if conditions and no_conditions:
        raise click.UsageError("give either --condition or --no-conditions, not both")
    if not conditions and not no_conditions:
        return KEEP
    return list(conditions)


def _login() -> str:
    """The login name, for --by; a usage error when the system cannot say it."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise click.UsageError("give --by NAME: your login name is not known") from None


@patient.command("show")
@click.argument("patient_id", metavar="ID")
@json_option("Print the record and its history as JSON.")
@db_option
def patient_show(patient_id: str, as_json: bool, db: str | None) -> None:
    """Show a patient's current profile and conditions, and every change: who, when, what."""
    with _reading(db) as triage_log:
        triage_log.require_patient(patient_id)
        records = triage_log.patient_history(patient_id)
    if as_json:
        click.echo(json_text(patient_data(patient_id, records), indent=2))
    else:
        echo_lines(patient_view(patient_id, records))


if __name__ == "__main__":
    main()
