"""The ``triage`` command line: parse options, call the library, render. No clinical logic here.

Library errors become messages in one place (``TriageGroup.invoke``): a user error prints what is
wrong and how to fix it on stderr and exits 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

import triage
from triage.engines import DURABLE, REFERENCE
from triage.errors import TriageError
from triage.outcomes import CONTACT_OUTCOMES, LEVELS, OUTCOMES, OVERRIDE_REASONS, URGENCIES
from triage.views.render import IF_STOPPED, Line, Style, render_early_warning
from triage.wording import counted

# Nothing is imported before a command needs it (tests/repo/test_start.py): the report contract
# builds its pydantic models on import (about 100 ms), the triage log opens SQLite, and the
# first question of 'triage check' needs neither, nor the rules, the engine or the decision.
if TYPE_CHECKING:
    from triage.checking.check import StoppedCheck
    from triage.checking.session import QuestionnaireSession
    from triage.evaluation.questionnaire import Question
    from triage.evaluation.warning import EarlyWarning
    from triage.log import Filters, Keep, TriageLog

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
    return min(terminal_columns(88), 88)


def terminal_columns(fallback: int) -> int:
    """``shutil.get_terminal_size(...).columns``: ``COLUMNS`` if set, else the terminal's width,
    else ``fallback``. Written here: shutil loads the compression modules, before the first
    question, for nothing."""
    try:
        columns = int(os.environ.get("COLUMNS", 0))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or fallback


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
    if context is not None and context.meta.get("fhir_errors"):
        from triage.fhir.outcome import operation_outcome

        click.echo(json.dumps(operation_outcome(exc), indent=2, ensure_ascii=False))
    elif context is not None and context.meta.get("json_errors"):
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


def _format_errors(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--format json or fhir also asks for errors in that form (on stdout)."""
    if value == "json":
        ctx.meta["json_errors"] = True
    elif value == "fhir":
        ctx.meta["fhir_errors"] = True
    return value


def json_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--json", "as_json", is_flag=True, is_eager=True, callback=_json_errors, help=help_text
    )


# -- commands ----------------------------------------------------------------------------------

engine_option = click.option(
    "--engine",
    type=click.Choice([DURABLE, REFERENCE]),
    default=None,
    help="Rule engine (default: durable-rules when installed).",
)

db_option = click.option(
    "--db",
    metavar="PATH|URL",
    envvar="TRIAGE_DB",
    show_envvar=True,
    help="The triage log: a file, or a postgresql:// URL (default: triage.db in your data folder).",
)


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(triage.__version__, prog_name="triage")
def main() -> None:
    """Safety check after a resistance-training session.

    Answers continue, reduce load, or seek medical review (routine, same day, urgent or
    emergency), and says why. Start with 'triage check'.
    """


def _load_pack(rules: str | None) -> triage.RulePack:
    """The pack of --rules, or the bundled one."""
    return triage.load_pack(rules) if rules else triage.default_pack()


@main.command()
@click.option(
    "--answers", metavar="FILE|-", help="A YAML or JSON report; '-' reads standard input."
)
@json_option("Print the decision as JSON (and any error as a JSON object).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "fhir"]),
    default=None,
    is_eager=True,
    callback=_format_errors,
    help="text (the default), json (as --json), or fhir: the decision as a FHIR R4 "
    "RiskAssessment (any error as an OperationOutcome); fhir needs --answers.",
)
@click.option("--rules", metavar="DIR", help="Use the rule pack in DIR instead of the bundled one.")
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit with the outcome: 0 continue, 3 reduce_load, 4 routine, 5 same_day, "
    "7 urgent, 6 emergency.",
)
@engine_option
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
@click.option(
    "--explain",
    is_flag=True,
    help="For clinicians, with --answers: also list the more severe rules that did not fire, "
    "and the fewest answers that kept each from firing.",
)
def check(
    answers: str | None,
    as_json: bool,
    output_format: str | None,
    rules: str | None,
    exit_code: bool,
    engine: str | None,
    patient: str | None,
    save_answers: str | None,
    interactive: bool,
    db: str | None,
    no_log: bool,
    follow_up: bool,
    explain: bool,
) -> None:
    """Check a session: answer the questions, or give a report with --answers.

    The questions stop at the first answer that needs an emergency department or an ambulance,
    whatever the other answers would be, and that check is recorded as stopped early. The
    patient's checks of the last weeks are read from the triage log for the history rules, and
    this check is recorded there (see 'triage log') unless --no-log is given.
    """
    if output_format == "fhir" and (answers is None or explain or as_json):
        raise click.UsageError(
            "--format fhir prints the RiskAssessment of a report or QuestionnaireResponse given "
            "with --answers (without --json or --explain)"
        )
    as_json = as_json or output_format == "json"
    if explain and answers is None:
        raise click.UsageError(
            "--explain is for clinicians checking a report file: give it with --answers "
            "(the questionnaire never shows it to a patient)"
        )
    options: dict[str, Any] = {
        "db": db,
        "engine": engine,
        "record": not no_log,
        "as_json": as_json,
        "exit_code": exit_code,
        "save_answers": save_answers,
        "explain": explain,
        "fhir": output_format == "fhir",
    }
    if answers is None:
        with _INTERRUPTS:  # until the result is shown: Ctrl-C never hides an answer's result
            questions = _Questions(_PackLoading(rules), db, record=not no_log)
            asked = questions.run(patient, interactive, follow_up)
            if asked.stopped is not None:
                _show_stopped(asked.stopped, as_json, exit_code, save_answers)
            _check(asked.data, questions.pack.get(), asked.follow_up, None, **options)
    from triage.contract.reading import read_input

    data, source = read_input(answers, _stdin_bytes() if answers == "-" else None)
    if patient is not None:
        from triage.checking.check import with_patient

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
    explain: bool,
    fhir: bool = False,
) -> NoReturn:
    """Check the answers, show the result, say whether it was saved; exit."""
    result = triage.check(
        data,
        log=db,
        pack=pack,
        engine=engine,
        follow_up=follow_up,
        record=record,
        source=source,
        explain=explain,
    )
    if isinstance(result, triage.StoppedCheck):
        _show_given_stopped(result, as_json, fhir, exit_code, save_answers)
    if result.session is not None and source is not None:
        _say_follow_up(result.session, result.decision.report.hours_since_session)
    decision = result.decision
    if fhir:
        from triage.fhir import risk_assessment

        entry_id = result.entry.id if result.entry is not None else None
        click.echo(json.dumps(risk_assessment(decision, entry_id), indent=2, ensure_ascii=False))
    elif as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from triage.views.render import render_decision

        echo_lines(render_decision(decision, result.compared))
        if decision.why_not is not None:
            from triage.views.rules import why_not_lines

            click.echo()
            echo_lines(why_not_lines(decision.why_not))
    problems = _after_the_result(result, save_answers, as_json or fhir)
    status = EXIT_CODES[(decision.outcome, decision.urgency)] if exit_code else int(problems)
    sys.exit(status)


def _after_the_result(
    result: triage.CheckResult | StoppedCheck, save_answers: str | None, as_json: bool
) -> bool:
    """Say whether the check was saved (and its reference number), save the answers, and say
    what went wrong with the log, once the patient has the result. Whether anything went
    wrong."""
    from triage.contract.reading import save_answers_file

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


def _show_given_stopped(
    result: StoppedCheck, as_json: bool, fhir: bool, exit_code: bool, save_answers: str | None
) -> NoReturn:
    """Answers given all at once, incomplete but already needing an emergency or urgent
    review: that screen first, with what was missing, then whether it was saved."""
    warning = result.warning
    if fhir:
        from triage.fhir import risk_assessment

        entry_id = result.entry.id if result.entry is not None else None
        assessment = risk_assessment(warning, entry_id)
        click.echo(json.dumps(assessment, indent=2, ensure_ascii=False))
    elif as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        echo_lines(render_early_warning(warning))
    problems = _after_the_result(result, save_answers, as_json or fhir)
    sys.exit(EXIT_CODES[(warning.outcome, warning.urgency)] if exit_code else int(problems))


def _show_stopped(
    stopped: _Stopping, as_json: bool, exit_code: bool, save_answers: str | None
) -> NoReturn:
    """A questionnaire stopped early: the screen at once (on stderr too with --json, since a
    person is answering), then the record in the log, then whether it was saved."""
    warning = stopped.session.warning
    assert warning is not None
    _say()
    echo_lines(render_early_warning(warning), err=as_json)
    if stopped.interrupted:
        echo_lines([Line("text", ""), Line("urgent", IF_STOPPED)], err=as_json)
    if stopped.record:
        _ask_for_the_record(stopped.session)
    result = stopped.session.stop(record=stopped.record)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    problems = _after_the_result(result, save_answers, as_json)
    if stopped.interrupted:
        sys.exit(stopped.status)
    level = (warning.outcome, warning.urgency)
    sys.exit(EXIT_CODES[level] if exit_code else int(problems))


def _ask_for_the_record(session: QuestionnaireSession) -> None:
    """After a stop at the first screen: the patient ID and the session's end, so that the
    clinician sees the check; Enter (or end of input) leaves it unsaved."""
    from triage.errors import AnswerError
    from triage.views.prompts import fill, question_text

    missing = session.missing_for_record()
    if not missing:
        return
    echo_lines(
        [Line("text", ""), *fill(FOR_THE_RECORD, _width(), style="heading")], err=True, wrap=False
    )
    for key in missing:
        step = session.question(key)
        _say_wrapped(f"{question_text(step)} (Enter to skip)")
        while True:
            try:
                text = _read().strip()
            except (EOFError, KeyboardInterrupt):
                return
            try:
                session.give_for_record(key, text or None)
            except AnswerError as exc:
                _say_wrapped(str(exc), indent=2)
                continue
            if not text:
                return
            break


FOR_THE_RECORD = (
    "Call for help first. Then, if you can, so that your clinician sees this check: "
    "two quick questions."
)


def _stdin_bytes() -> bytes:
    from triage.yamlio import MAX_BYTES

    return sys.stdin.buffer.read(MAX_BYTES + 1)


def _say_follow_up(session: Any, hours: float) -> None:
    ended = session.ended_at.strftime("%Y-%m-%d %H:%M UTC")
    _say(f"Follow-up of session {session.session_id}, which ended {ended} ({hours:g} hours ago).")


def _patient_option(patient: str) -> str:
    """--patient, checked as the patient id question checks it (a usage error otherwise)."""
    from triage.contract.field_table import FIELDS
    from triage.errors import AnswerError
    from triage.evaluation.questionnaire import parse_answer

    try:
        return str(parse_answer(FIELDS["patient_id"], patient))
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
    """How the questions stopped before the end (the session holds the warning)."""

    session: QuestionnaireSession
    record: bool
    interrupted: bool = False
    status: int = 0


@dataclass
class _Asked:
    data: dict[str, Any]
    follow_up: bool
    stopped: _Stopping | None = None


class _Questions:
    """Asks the questions in the terminal, one at a time; what comes next, whether an answer
    answers it and when the questions stop are the library's (``triage.checking.session``)."""

    def __init__(self, pack: _PackLoading, db: str | None, *, record: bool) -> None:
        self.pack = pack
        self.db = db
        self.record = record
        self.session: QuestionnaireSession | None = None

    def run(self, patient: str | None, interactive: bool, follow_up: bool) -> _Asked:
        """The answers; or, stopped early, the warning. Ctrl-C leaves with status 130 and end
        of input with 1; with answers that already need a clinician, these are shown and
        recorded first."""
        from triage.checking.session import QuestionnaireSession
        from triage.views.prompts import check_title

        if not interactive and not sys.stdin.isatty():
            click.echo(NOT_A_TERMINAL, err=True)
            sys.exit(1)
        given = None if patient is None else _patient_option(patient)
        self.session = QuestionnaireSession(
            given, follow_up=follow_up, log=self.db, pack=self.pack.get
        )
        try:
            _say(check_title(follow_up), bold=True, fg="cyan")
            _say("Answer each question; type ? for help. Ctrl-C stops.")
            return self._ask_all(self.session)
        except KeyboardInterrupt:
            return self._stopped(130, "\nStopped.")
        except EOFError:
            return self._stopped(1, "\nNo more input.")

    def _ask_all(self, session: QuestionnaireSession) -> _Asked:
        from triage.views.prompts import UNSET

        while True:
            step = session.next_question()
            keep = UNSET
            if step is None:
                key = _confirm(session)
                if key is None:
                    return _Asked(self._finished(session), session.follow_up)
                step, keep = session.question(key), session.value(key)
            if _ask(session, step, keep) is not None:
                return _Asked({}, session.follow_up, _Stopping(session, self.record))
            if step.key == "session" and session.value("session") is False:
                _say("Then when did the session you mean end?")
            elif step.key == "hours_since_session" and session.value("session") is False:
                _say(_WHICH_SESSION[session.corrected_end])

    def _finished(self, session: QuestionnaireSession) -> dict[str, Any]:
        """The answers; what the patient gave for their record is kept on it first (the check
        then reads it), unless nothing is recorded."""
        from triage.errors import StorageError

        answers = session.finish()
        if self.record:
            try:
                session.save_record()
            except StorageError as exc:
                _say_wrapped(f"Your age and conditions were not saved on your record: {exc}")
        return answers

    def _stopped(self, status: int, said: str) -> _Asked:
        """Stopped by the patient: answers that already need a clinician are shown and recorded;
        otherwise nothing is saved."""
        assert self.session is not None
        if self.session.interrupt() is None:
            _say(f"{said} Nothing was saved.")
            _say_wrapped(IF_STOPPED)
            sys.exit(status)
        _say(said)
        return _Asked({}, False, _Stopping(self.session, self.record, True, status))


_WHICH_SESSION = {
    True: "Then it is that session, ended at the time you gave: this follow-up is about it.",
    False: "Then this is a check of a new session.",
}


def _say(text: str = "", **style: Any) -> None:
    """Questionnaire output goes to stderr, so that stdout holds only the result (--json)."""
    click.echo(click.style(text, **style) if style and use_colour(sys.stderr) else text, err=True)


def _say_wrapped(text: str, indent: int = 0) -> None:
    from triage.views.prompts import fill

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


def _ask(
    session: QuestionnaireSession, step: Question, keep: Any = _FIRST_TIME
) -> EarlyWarning | None:
    """Ask one question until the session takes the answer; the early warning it gives.
    ``keep`` (when changing an answer) is the answer Enter keeps; ``prompts.UNSET`` for none."""
    from triage.errors import AnswerError
    from triage.views.prompts import UNSET, echoed, help_text, question_lines

    keep = UNSET if keep is _FIRST_TIME else keep
    echo_lines(question_lines(step, _width(), keep), err=True, wrap=False)
    while True:
        text = _read().strip()
        if text == "?":
            _say_wrapped(help_text(step), indent=2)
            continue
        try:
            warning = session.answer(step.key, keep if not text and keep is not UNSET else text)
        except AnswerError as exc:
            _say_wrapped(str(exc), indent=2)
            continue
        _say_wrapped(f"Your answer: {echoed(step, session.value(step.key))}", indent=2)
        return warning


def _confirm(session: QuestionnaireSession) -> str | None:
    """Show every answer on one screen; Enter confirms, a number changes that answer."""
    from triage.views.prompts import changeable, summary_lines

    rows = session.summary()
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
@click.option(
    "--fhir",
    is_flag=True,
    help="Print it as a FHIR R4 Questionnaire (--code-systems: the code systems of its answers).",
)
@click.option(
    "--code-systems",
    is_flag=True,
    help="With --fhir: print the FHIR CodeSystems of the answers and the decision, as a Bundle.",
)
def questions(as_json: bool, fhir: bool, code_systems: bool) -> None:
    """Print the questionnaire: questions, help, answers, gates, and when each is asked."""
    from triage.evaluation.questionnaire import describe

    if code_systems and not fhir:
        raise click.UsageError("--code-systems goes with --fhir")
    if fhir:
        import triage.fhir

        resource = triage.fhir.questionnaire()
        if code_systems:
            resource = triage.fhir.collection(triage.fhir.code_systems())
        click.echo(json.dumps(resource, indent=2, ensure_ascii=False))
        return
    flow = describe()
    if as_json:
        click.echo(json.dumps(flow, indent=2, ensure_ascii=False))
        return
    lines = [
        Line("text", part)
        for part in textwrap.wrap(
            f"The questions of 'triage check', in the order asked (report contract "
            f'v{flow["contract_version"]}). A [gate] is a yes/no question: "no" stands for '
            "the answers after 'If no', \"yes\" asks the questions under it.",
            _width(),
        )
    ]
    lines += _describe_first(flow["first"], flow["patient_record"])
    for step in flow["steps"]:
        lines += _describe_step(step, ())
    echo_lines(lines, wrap=False)


def _describe_first(first: dict[str, Any], record: dict[str, Any]) -> list[Line]:
    """The questions before the report's: the first screen, and the patient's record."""
    lines = [Line("text", "")]
    lines += _hanging(f"[{first['screen']}] {first['question']} Stops {first['stops']}:", 0)
    for answer in first["answers"]:
        means = ", ".join(f"{k}={json.dumps(v)}" for k, v in answer["means"].items())
        lines += _hanging(f"{answer['label']}" + (f" -> {means}" if means else ""), 2)
    lines.append(Line("text", ""))
    asks = " and ".join(item["field"] for item in record["asks"])
    lines += _hanging(
        f"After patient_id: {record['first_check']} {record['confirm']} Asks {asks} when "
        f"{record['when']}.",
        0,
    )
    return [*lines, Line("text", "")]


def _hanging(text: str, indent: int, style: Style = "text") -> list[Line]:
    """``text`` broken between words to the width, its continuation lines indented by two."""
    return [
        Line(style, part)
        for part in textwrap.wrap(
            text,
            _width(),
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + 2),
            break_long_words=False,
            break_on_hyphens=False,
        )
    ]


def _describe_step(step: dict[str, Any], gates: tuple[str, ...]) -> list[Line]:
    """A question, or a gate with the questions behind it; each says when it is asked, the
    gates it is behind included (a question may be behind two)."""
    indent = 4 * len(gates)
    if "gate" not in step:
        return _hanging(_describe_item(step, gates), indent)
    if_no = ", ".join(f"{k}={json.dumps(v)}" for k, v in step["if_no"].items())
    lines = [Line("text", "")]
    lines += _hanging(f"[{step['gate']}]{_asked(gates, 'always')} {step['question']}", indent)
    lines += _hanging(f"If no: {if_no}", indent + 2)
    lines += _hanging("If yes, ask:", indent + 2)
    for item in step["if_yes"]:
        lines += _describe_step(item, (*gates, step["gate"]))
    return lines


def _asked(gates: tuple[str, ...], when: str) -> str:
    """When a step is asked, in brackets: after yes to each gate it is behind, and when its own
    condition holds; nothing for a step asked always."""
    parts = [f"after yes to {' and '.join(f'[{g}]' for g in gates)}"] if gates else []
    parts += [] if when == "always" else [when]
    return f" [{'; '.join(parts)}]" if parts else ""


def _describe_item(item: dict[str, Any], gates: tuple[str, ...]) -> str:
    answers = item.get("answers")
    if isinstance(answers, list):
        shown = " | ".join(f"{json.dumps(a['value'])}: {a['label']}" for a in answers)
        shown = f"any of: {shown}" if item.get("several") else shown
    elif answers:
        shown = f"{answers['minimum']:g}-{answers['maximum']:g}"
    else:
        shown = "text"
    optional = "" if item["required"] else " (optional)"
    when = _asked(gates, item["asked"])
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


# -- testing rules: cases, coverage, replay ----------------------------------------------------


@rules.command("test")
@click.argument("locations", nargs=-1, metavar="[DIR|FILE]...")
@click.option(
    "--rules", "directory", metavar="PACK", help="The rule pack to test (default: bundled)."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also fail when a rule fires in no case, a policy row has no rule, or a rule can never "
    "fire or never change a decision.",
)
@engine_option
@json_option("Print the results as JSON.")
def rules_test(
    locations: tuple[str, ...],
    directory: str | None,
    strict: bool,
    engine: str | None,
    as_json: bool,
) -> None:
    """Run case files against a pack, and report what its rules cover.

    Each case is a report with the outcome and urgency it must get, and optionally the rules
    that must or must not fire (the vignette format; see docs/rules.md). Without DIR, the
    pack's own cases (its cases folder) are run. Exits 1 if any case fails, or with --strict
    if anything is uncovered.
    """
    from triage.evaluation.cases import run_tests
    from triage.views.rules import case_table, coverage_lines

    pack = _load_pack(directory)
    tests = run_tests(pack, locations or None, engine)
    if as_json:
        click.echo(json.dumps(tests.to_dict(strict), indent=2, ensure_ascii=False))
    else:
        echo_lines(case_table(tests), wrap=False)
        echo_lines(coverage_lines(tests, strict))
    sys.exit(0 if tests.ok(strict) else 1)


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
    from triage.log import TriageLog

    return TriageLog(db, create=False)


@contextmanager
def _starting(db: str | None) -> Iterator[TriageLog]:
    """The log, started if there is none yet, and said so."""
    from triage.log import TriageLog

    with TriageLog(db) as triage_log:
        if triage_log.created:
            click.echo(f"Started a new triage log at {triage_log.location}.", err=True)
        yield triage_log


def _filters(triage_log: TriageLog, given: dict[str, Any]) -> Filters:
    """The filters; a patient id the log does not know is an error with suggestions."""
    from triage.log import Filters

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
@click.option(
    "--worklist",
    is_flag=True,
    help="The worklist: unreviewed checks that need action, the emergency and urgent ones of the "
    "last 24 hours first (newest first), then most urgent first, oldest first; with the counts "
    "of the whole log.",
)
@json_option("Print the entries as JSON.")
@db_option
def log_list(limit: int, worklist: bool, as_json: bool, db: str | None, **given: Any) -> None:
    """List checks, newest first; unreviewed urgent ones are flagged."""
    from triage.views.log import entry_table, json_text

    counts = None
    with _reading(db) as triage_log:
        filters = _filters(triage_log, given)
        if worklist:
            work = triage_log.worklist(replace(filters, unreviewed=True), limit=limit)
            entries, counts = [item.entry for item in work.items], work.counts
        else:
            entries = triage_log.entries(filters, limit=limit)
            counts = triage_log.worklist(limit=1).counts  # what no page of the list hides
    if as_json:
        click.echo(json_text([vars(e) for e in entries], indent=2))
    else:
        echo_lines(entry_table(entries, limit, terminal_columns(120), counts), wrap=False)


@log.command("show")
@click.argument("entry_id", type=int, metavar="ID")
@json_option("Print the entry as JSON.")
@click.option(
    "--rules",
    metavar="DIR",
    help="The rule pack the check was decided by, for the rules that did not fire "
    "(default: bundled).",
)
@db_option
def log_show(entry_id: int, as_json: bool, rules: str | None, db: str | None) -> None:
    """Show one check: the answers, every reason with its source, the rules, the reviews, and
    the more severe rules that did not fire (why not)."""
    from triage.checking.replay import entry_why_not
    from triage.views.log import entry_detail, json_text
    from triage.views.render import Line
    from triage.views.rules import why_not_lines

    with _reading(db) as triage_log:
        entry = triage_log.entry(entry_id)
        why_not = entry_why_not(triage_log, entry, _load_pack(rules))
    if as_json:
        data = entry.to_dict()
        if isinstance(why_not, str):
            data["why_not_unavailable"] = why_not
        else:
            data["why_not"] = [
                reason.model_dump(mode="json", exclude_none=True) for reason in why_not
            ]
        click.echo(json_text(data, indent=2))
        return
    echo_lines(entry_detail(entry))
    click.echo()
    if isinstance(why_not, str):
        echo_lines([Line("note", f"Rules that did not fire: not shown, {why_not}.")])
    else:
        echo_lines(why_not_lines(why_not))


@log.command("review")
@click.argument("entry_ids", type=int, metavar="ID...", nargs=-1, required=True)
@click.option(
    "--by",
    "reviewer",
    required=True,
    metavar="NAME",
    help="Who reviewed it (once the log has accounts: an active account's name).",
)
@click.option("--accept", is_flag=True, help="The decision was right.")
@click.option(
    "--override", is_flag=True, help="The decision was overridden (say why: --reason and --note)."
)
@click.option("--note", default="", metavar="TEXT", help="A note; required with --override.")
@click.option(
    "--reason",
    type=click.Choice(list(OVERRIDE_REASONS)),
    default=None,
    help="With --override (required): why, as a coded reason (as in the web review form).",
)
@db_option
def log_review(
    entry_ids: tuple[int, ...],
    reviewer: str,
    accept: bool,
    override: bool,
    note: str,
    reason: str | None,
    db: str | None,
) -> None:
    """Record a clinician's review of one check or several (appended; never edits a check).

    Give exactly one of --accept and --override; an override needs --reason and --note.
    Several ids (a patient's routine checks superseded by a later one) get the same review,
    all recorded or none.
    """
    if accept and override:
        raise click.UsageError("give either --accept or --override, not both")
    if not accept and not override:
        raise click.UsageError("give --accept or --override")
    with _reading(db) as triage_log:
        reviews = triage_log.review_many(
            entry_ids,
            by=triage_log.access.known_clinician(reviewer),
            verdict="accepted" if accept else "overridden",
            note=note,
            reason=reason or "",
        )
    for review in reviews:
        click.echo(
            f"Review {review.id} recorded: entry {review.entry_id} {review.verdict} "
            f"by {review.reviewer}."
        )


@log.command("contact")
@click.argument("entry_id", type=int, metavar="ID")
@click.option(
    "--by",
    required=True,
    metavar="NAME",
    help="Who contacted the patient (once the log has accounts: an active account's name).",
)
@click.option(
    "--outcome",
    required=True,
    type=click.Choice(list(CONTACT_OUTCOMES)),
    help="What came of it (as in the web form); 'other' needs a --note.",
)
@click.option("--note", default="", metavar="TEXT", help="What was said or decided.")
@db_option
def log_contact(entry_id: int, by: str, outcome: str, note: str, db: str | None) -> None:
    """Record a contact with the patient about a check: a call or message and what came of it
    (appended to the log, as reviews are; never edited)."""
    with _reading(db) as triage_log:
        by = triage_log.access.known_clinician(by)
        contact = triage_log.contact(entry_id, by=by, outcome=outcome, note=note)
    click.echo(
        f"Contact {contact.id} recorded: entry {contact.entry_id}, {contact.outcome_words}, "
        f"by {contact.by}."
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
    from triage.views.export import write_export

    with _reading(db) as triage_log:
        entries = triage_log.export_rows(_filters(triage_log, given), whole=fmt == "jsonl")
        count = write_export(entries, fmt, output, force=force)
    if output:
        click.echo(f"Exported {counted(count, 'entry', 'entries')} to {output}.", err=True)


@log.command("trend")
@click.option("--patient", required=True, metavar="ID", help="The patient.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=30, show_default=True, help="The last N checks."
)
@db_option
def log_trend(patient: str, limit: int, db: str | None) -> None:
    """A patient's pain (during and now) and outcomes over time, as a chart."""
    from triage.views.log import trend_chart

    with _reading(db) as triage_log:
        triage_log.require_patient(patient)
        points = triage_log.trend(patient, limit)
    echo_lines(trend_chart(patient, points), wrap=False)


@log.command("verify")
@click.option(
    "--full", is_flag=True, help="Check every record from the first, and the storage's integrity."
)
@click.option(
    "--public-key",
    metavar="FILE",
    envvar="TRIAGE_PUBLIC_KEY",
    show_envvar=True,
    help="The auditor's public key (the .pub of 'triage log keygen'): checkpoints signed by any "
    "other key are forged.",
)
@click.option(
    "--checkpoints",
    "checkpoint_file",
    metavar="FILE",
    envvar="TRIAGE_CHECKPOINTS",
    show_envvar=True,
    help="The auditor's copies of the checkpoints (JSON Lines): each must still be in the log, "
    "and the log must still agree with it.",
)
@json_option("Print the verification as JSON.")
@db_option
def log_verify(
    full: bool,
    public_key: str | None,
    checkpoint_file: str | None,
    as_json: bool,
    db: str | None,
) -> None:
    """Check the hash chain and the signed checkpoints; exit 1 and say what is wrong if so.

    Without --full, only the records after the latest signed checkpoint the log agrees with are
    walked (every checkpoint is still checked).
    """
    from pathlib import Path

    from triage.log import checkpoints as signed
    from triage.views.log import json_text, verification

    key = signed.load_public_key(Path(public_key)) if public_key else None
    kept = signed.read_file(Path(checkpoint_file)) if checkpoint_file else []
    with _reading(db) as triage_log:
        result = triage_log.verify(full=full, public_key=key, checkpoints=kept)
        location = triage_log.location
    if as_json:
        click.echo(json_text({"ok": result.ok, **vars(result)}, indent=2))
    else:
        echo_lines(verification(result, location), wrap=False)
    sys.exit(0 if result.ok else 1)


@log.command("checkpoint")
@click.option(
    "--key",
    required=True,
    metavar="FILE",
    envvar="TRIAGE_CHECKPOINT_KEY",
    show_envvar=True,
    help="The Ed25519 signing key (from 'triage log keygen'), kept outside the database.",
)
@click.option(
    "--checkpoints",
    "checkpoint_file",
    metavar="FILE",
    envvar="TRIAGE_CHECKPOINTS",
    show_envvar=True,
    help="Also append the checkpoint to this file, the auditor's copy.",
)
@json_option("Print the checkpoint as one JSON line (what a checkpoint file holds).")
@db_option
def log_checkpoint(key: str, checkpoint_file: str | None, as_json: bool, db: str | None) -> None:
    """Sign the log's head (its size, newest hash and the time) once the records since the
    latest checkpoint verify, and store the checkpoint in the log.

    Keep a copy of each checkpoint, and the public key, where the database's administrators
    cannot change them: 'triage log verify --checkpoints FILE --public-key KEY.pub' then catches
    a rewrite, and the removal of the newest records.
    """
    with _reading(db) as triage_log:
        checkpoint = triage_log.checkpoint(key, append_to=checkpoint_file)
    if as_json:
        click.echo(checkpoint.line())
        return
    click.echo(
        f"Checkpoint signed: record {checkpoint.size}, head {checkpoint.head}, "
        f"at {checkpoint.time}, key {checkpoint.key_id}."
    )
    if checkpoint_file:
        click.echo(f"Appended to {checkpoint_file}.")


@log.command("keygen")
@click.option(
    "--key",
    required=True,
    metavar="FILE",
    help="Where to write the new signing key (FILE.pub too).",
)
def log_keygen(key: str) -> None:
    """Make an Ed25519 key for signing checkpoints: FILE (private, owner-only) and FILE.pub.

    Keep FILE on the machine that signs, never in the database; give FILE.pub to the auditor.
    """
    from pathlib import Path

    from triage.log import checkpoints as signed

    public = signed.new_key(Path(key))
    click.echo(f"Wrote {key} (keep it private) and {key}.pub (key {signed.key_id(public)}).")


@log.command("init")
@db_option
def log_init(db: str | None) -> None:
    """Start a triage log, or bring an existing one's schema up to date.

    For PostgreSQL, run it once as the database's owner; the app servers then log in as members
    of the role triage_writer, which may only read and append.
    """
    from triage.log import TriageLog

    with TriageLog(db) as triage_log:
        location, created = triage_log.location, triage_log.created
    click.echo(f"{'Started a new' if created else 'Up to date:'} triage log {location}.")


@log.command("copy")
@click.option("--from", "source", required=True, metavar="PATH|URL", help="The log to copy.")
@click.option(
    "--to", "target", required=True, metavar="PATH|URL", help="A new log, or an empty one."
)
def log_copy(source: str, target: str) -> None:
    """Copy a whole log (every entry, review, patient record and checkpoint, and the clinicians'
    accounts, API tokens and CDS Hooks cards) into a new one, for example from SQLite to
    PostgreSQL; both then verify with the same head hash."""
    from triage.log import TriageLog

    with _reading(source) as from_log, TriageLog(target) as to_log:
        result = from_log.copy_to(to_log)
        locations = (from_log.location, to_log.location)
        accounts, tokens = len(to_log.access.clinicians()), len(to_log.access.tokens())
    from triage.views.log import record_counts

    beside = ""
    if accounts or tokens:
        beside = f", with {counted(accounts, 'clinician account')} and "
        beside += counted(tokens, "API token")
    click.echo(
        f"Copied {record_counts(result, patients=True)}"
        f"{beside} from {locations[0]} to {locations[1]}; both end at {result.head}."
    )


# -- patient records ---------------------------------------------------------------------------


class _PatientSetCommand(click.Command):
    """Its help lists the profiles, the ages and the conditions, read from the report contract
    when shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from triage.contract.reading import FIELDS

        formatter.write_paragraph()
        formatter.write_text("Profiles: " + ", ".join(FIELDS["profile"].choices) + ".")
        formatter.write_text(f"Age: {FIELDS['age'].expected()} (years).")
        formatter.write_text("Conditions: " + ", ".join(FIELDS["conditions"].choices) + ".")


@main.group()
def patient() -> None:
    """Patient records: a patient's profile, age and known conditions, filled into their
    checks."""


@patient.command("set", cls=_PatientSetCommand)
@click.argument("patient_id", metavar="ID")
@click.option("--profile", metavar="PROFILE", help="The training profile (listed below).")
@click.option("--no-profile", is_flag=True, help="Clear the profile.")
@click.option("--age", metavar="YEARS", help="The patient's age in whole years.")
@click.option("--no-age", is_flag=True, help="Clear the age.")
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
    age: str | None,
    no_age: bool,
    conditions: tuple[str, ...],
    no_conditions: bool,
    by: str | None,
    note: str,
    db: str | None,
) -> None:
    """Set a patient's profile, age and conditions: appended to the log, like a review.

    Every later check of the patient gets them filled in, unless its answers give their own.
    Give only what changes: --profile alone keeps the age and the conditions, --age alone the
    profile and the conditions, --condition alone the profile and the age. A new log is started
    (and said) if there is none yet.
    """
    from triage.log import KEEP, Filters
    from triage.log.patients import checked_change
    from triage.views.log import no_checks_yet, patient_saved

    new_profile = _given_profile(profile, no_profile)
    new_age = _given_age(age, no_age)
    new_conditions = _given_conditions(conditions, no_conditions)
    if new_profile is KEEP and new_age is KEEP and new_conditions is KEEP:
        raise click.UsageError(
            "give --profile, --age, --condition, --no-profile, --no-age or --no-conditions"
        )
    change = checked_change(  # refused before any log is started
        patient_id,
        profile=new_profile,
        conditions=new_conditions,
        by=by or _login(),
        note=note,
        age=new_age,
    )
    with _starting(db) as triage_log:
        record = triage_log.set_patient(
            patient_id,
            profile=change.profile,
            age=change.age,
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
    from triage.log import KEEP

    if profile is not None and no_profile:
        raise click.UsageError("give either --profile or --no-profile, not both")
    if no_profile:
        return None
    return KEEP if profile is None else profile


def _given_age(age: str | None, no_age: bool) -> int | float | str | Keep | None:
    """--age as a number when it is written as one (the record then checks it against the
    contract, as the library does: 15.5 is refused there, with the contract's words)."""
    import math
    import re

    from triage.log import KEEP

    if age is not None and no_age:
        raise click.UsageError("give either --age or --no-age, not both")
    if no_age:
        return None
    if age is None:
        return KEEP
    text = age.strip()
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return age  # refused as text, naming what was given
    return number if math.isfinite(number) else age


def _given_conditions(conditions: tuple[str, ...], no_conditions: bool) -> list[str] | Keep:
    from triage.log import KEEP

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
    """Show a patient's current profile, age and conditions, and every change: who, when,
    what."""
    from triage.views.log import json_text, patient_data, patient_view

    with _reading(db) as triage_log:
        triage_log.require_patient(patient_id)
        records = triage_log.patient_history(patient_id)
    if as_json:
        click.echo(json_text(patient_data(patient_id, records), indent=2))
    else:
        echo_lines(patient_view(patient_id, records))


@patient.command("link")
@click.argument("patient_id", metavar="ID")
@click.option(
    "--days",
    type=click.IntRange(1, 365),
    default=90,
    show_default=True,
    help="Days until the link expires.",
)
@click.option("--by", metavar="NAME", help="Who makes it (default: your login name).")
@click.option(
    "--base-url",
    metavar="URL",
    help="What the link starts with: the address patients open (default: TRIAGE_PUBLIC_URL, "
    "else http://127.0.0.1:8000).",
)
@click.option(
    "--qr",
    "qr_file",
    metavar="FILE.svg",
    help="Where to write the link's QR code (default: triage-link-ID.svg in this folder).",
)
@click.option("--force", is_flag=True, help="Replace the QR code's file if it exists.")
@db_option
def patient_link(
    patient_id: str,
    days: int,
    by: str | None,
    base_url: str | None,
    qr_file: str | None,
    force: bool,
    db: str | None,
) -> None:
    """Make a link for a patient to answer their checks on a phone: prints the URL, and writes
    its QR code as SVG (readable by you only) to print or hand over.

    The link lets its holder answer checks for this patient alone. It is shown once (the log
    keeps only a hash of it), expires after --days, and 'triage patient unlink' withdraws it
    sooner.
    """
    from pathlib import Path

    from triage.log import links
    from triage.log.records import visible

    base = links.public_base(base_url)
    target = Path(qr_file) if qr_file else links.default_qr_file(patient_id)
    links.need_qr()
    links.check_qr_target(target, force=force)  # refused before a link is made
    with _reading(db) as triage_log:
        triage_log.require_patient(patient_id)
        made, token = triage_log.links.make(
            patient_id, by=triage_log.access.known_clinician(by or _login()), days=days
        )
        url = links.link_url(base, token)
        try:
            links.write_qr(url, target, force=force)
        except TriageError:
            triage_log.links.revoke(made.prefix)  # no link without its QR code
            raise
    click.echo(url)
    expires = made.expires_at[:16].replace("T", " ")
    for line in (
        f"Link {made.prefix} for {visible(made.patient)}, made by {visible(made.created_by)}; "
        f"expires {expires} UTC.",
        f"QR code: {visible(str(target))} (readable by you only).",
        f"The link is not shown again; 'triage patient unlink {made.prefix}' withdraws it.",
    ):
        click.echo(line, err=True)


@patient.command("links")
@click.argument("patient_id", metavar="ID")
@json_option("Print the links as JSON.")
@db_option
def patient_links(patient_id: str, as_json: bool, db: str | None) -> None:
    """List a patient's links: prefix, made when and by whom, expiry, revocation, last use
    (never the links themselves)."""
    from triage.log.records import now_utc, visible

    with _reading(db) as triage_log:
        triage_log.require_patient(patient_id)
        found = triage_log.links.links(patient_id)
    now = now_utc()
    if as_json:
        click.echo(json.dumps([link.to_dict(now) for link in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo(
            f"No links for {visible(patient_id)} yet: make one with "
            f"'triage patient link {visible(patient_id)}'."
        )
        return

    def when(value: str | None) -> str:
        return value[:16].replace("T", " ") if value else "-"

    header = ("PREFIX", "MADE (UTC)", "BY", "EXPIRES (UTC)", "STATE", "REVOKED", "LAST USED")
    rows = [
        (link.prefix, when(link.created_at), visible(link.created_by), when(link.expires_at),
         link.state(now), when(link.revoked_at), when(link.last_used_at))
        for link in found
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = zip(row, widths, strict=True)
        click.echo("  ".join(cell.ljust(width) for cell, width in cells).rstrip())


@patient.command("unlink")
@click.argument("prefix")
@db_option
def patient_unlink(prefix: str, db: str | None) -> None:
    """Revoke a patient's link, named by its prefix as 'triage patient links' lists it (or the
    whole link): it stops working at once. It is kept, revoked, never deleted."""
    from triage.log.records import visible

    with _reading(db) as triage_log:
        link, revoked_now = triage_log.links.revoke(prefix)
    if revoked_now:
        click.echo(f"Link {link.prefix} of {visible(link.patient)} revoked: it no longer opens.")
    else:
        revoked = (link.revoked_at or "")[:16].replace("T", " ")
        click.echo(
            f"Link {link.prefix} of {visible(link.patient)} was already revoked ({revoked} UTC)."
        )


# -- serving: the clinician's pages and the JSON API ---------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The port to listen on (0: any free one).")  # fmt: skip
@db_option
@click.option("--rules", metavar="DIR", help="Use the rule pack in DIR instead of the bundled one.")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let pages of ORIGIN (https://app.example) call the API from a browser; repeat for "
    "each. Off by default.",
)
@click.option(
    "--https-only",
    is_flag=True,
    help="Behind an HTTPS proxy: session cookies are sent over HTTPS only.",
)
@click.option(
    "--cds-ehr-key",
    metavar="FILE",
    envvar="TRIAGE_CDS_EHR_KEY",
    show_envvar=True,
    help="The EHR's public key(s) for the CDS Hooks service: a JWK Set, a JWK or a PEM file. "
    "Without it, every CDS Hooks call is refused.",
)
@click.option(
    "--cds-ehr-issuer",
    metavar="URL",
    envvar="TRIAGE_CDS_EHR_ISSUER",
    show_envvar=True,
    help="The iss of the EHR's JWTs (with --cds-ehr-key).",
)
@click.option(
    "--public-url",
    metavar="URL",
    envvar="TRIAGE_PUBLIC_URL",
    show_envvar=True,
    help="This server's address as the EHR calls it (https://triage.clinic.example): the "
    "audience of the CDS Hooks JWTs and the base of the cards' links. Default: the address "
    "each request came to.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="ADDR",
    callback=lambda _ctx, _param, values: tuple(_proxy_address(v) for v in values),
    help="Take the client's address and scheme from X-Forwarded-For and X-Forwarded-Proto on "
    "connections from ADDR (an IP address or network, 10.0.0.0/8); repeat for each. Off by "
    "default: the headers are ignored.",
)
@click.option(
    "--header-timeout",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    metavar="SECONDS",
    help="Close a connection that takes longer to send a request's line and headers.",
)
@click.option(
    "--body-timeout",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="Answer 408 to a request whose body takes longer to arrive.",
)
@click.option(
    "--keep-alive-timeout",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    metavar="SECONDS",
    help="Close a connection idle this long after a response.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    metavar="N",
    help="Answer 503 to requests beyond N open connections.",
)
@click.option(
    "--session-idle-minutes",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    metavar="MINUTES",
    help="End a clinician's session unused this long (they sign in again).",
)
@click.option(
    "--session-hours",
    type=click.FloatRange(min=0.1),
    default=12,
    show_default=True,
    metavar="HOURS",
    help="End a clinician's session this long after they signed in, however busy.",
)
def serve(
    host: str,
    port: int,
    db: str | None,
    rules: str | None,
    cors_origins: tuple[str, ...],
    https_only: bool,
    cds_ehr_key: str | None,
    cds_ehr_issuer: str | None,
    public_url: str | None,
    trusted_proxies: tuple[str, ...],
    header_timeout: int,
    body_timeout: int,
    keep_alive_timeout: int,
    max_connections: int,
    session_idle_minutes: float,
    session_hours: float,
) -> None:
    """Serve the clinician's worklist in a web browser, and the JSON API under /api/v1/.

    One process, on 127.0.0.1 (this machine only) unless --host says otherwise. Clinicians
    sign in with accounts made by 'triage user add'; applications use tokens made by 'triage
    token add'. Session cookies are signed with TRIAGE_SECRET_KEY when it is set (otherwise
    with a new key each start, so that everyone signs in again). Ctrl-C stops it.
    """
    from triage.log.sessions import SessionLimits
    from triage.web import serve as run
    from triage.web.cds import load_trust

    if bool(cds_ehr_key) != bool(cds_ehr_issuer):
        raise click.UsageError("--cds-ehr-key and --cds-ehr-issuer go together")
    trust = None
    if cds_ehr_key and cds_ehr_issuer:
        trust = load_trust(cds_ehr_key, cds_ehr_issuer, public_url)
    pack = _load_pack(rules)
    with _starting(db) as triage_log:
        target = triage_log.target  # a PostgreSQL URL keeps its password for the server
        if not triage_log.access.clinicians():
            click.echo(
                "No clinician can sign in yet: add one with 'triage user add NAME'.", err=True
            )
    run(
        target,
        host=host,
        port=port,
        pack=pack,
        cors_origins=cors_origins,
        https_only=https_only,
        cds_trust=trust,
        trusted_proxies=trusted_proxies,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_connections=max_connections,
        sessions=SessionLimits(session_idle_minutes, session_hours),
        announce=lambda text: click.echo(text, err=True),
    )


def _proxy_address(text: str) -> str:
    """An IP address or network, as uvicorn compares them; BadParameter otherwise."""
    import ipaddress

    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an IP address or network (127.0.0.1, 10.0.0.0/8)",
            param_hint="--trusted-proxy",
        ) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@main.group()
def user() -> None:
    """Clinicians' accounts for 'triage serve': who may sign in and review."""
    from triage.extras import needs

    needs("serve")  # before a password is typed: argon2 hashes it


@user.command("add")
@click.argument("name")
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    metavar="ZONE",
    help="Where times are shown when the browser does not say (Europe/London).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
def user_add(name: str, time_zone: str, password_stdin: bool, db: str | None) -> None:
    """Add a clinician's account; the password is asked twice (at least 10 characters).

    Reviews made through the web pages are recorded under NAME.
    """
    with _starting(db) as triage_log:
        added = triage_log.access.add_clinician(
            name, _password(password_stdin), time_zone=time_zone
        )
    click.echo(f"Clinician {added.name} added; they can sign in to 'triage serve'.")


@user.command("list")
@db_option
def user_list(db: str | None) -> None:
    """List the clinicians' accounts."""
    with _reading(db) as triage_log:
        accounts = triage_log.access.clinicians()
    for account in accounts:
        state = f"disabled {account.disabled_at[:16]}" if account.disabled_at else "active"
        click.echo(f"{account.name}  ({account.time_zone}; {state})")
    if not accounts:
        click.echo("No accounts yet: add one with 'triage user add NAME'.")


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
def user_password(name: str, password_stdin: bool, db: str | None) -> None:
    """Set a new password for a clinician's account; every session of it ends at once."""
    with _reading(db) as triage_log:
        triage_log.access.set_password(name, _password(password_stdin))
    click.echo(f"Password of {name} changed; they are signed out everywhere.")


@user.command("disable")
@click.argument("name")
@db_option
def user_disable(name: str, db: str | None) -> None:
    """Stop an account from signing in; every session of it ends at once."""
    with _reading(db) as triage_log:
        triage_log.access.disable_clinician(name)
    click.echo(f"Account {name} disabled and signed out everywhere; its reviews keep its name.")


@main.group()
def token() -> None:
    """API tokens for 'triage serve': which applications may use the JSON API."""


@token.command("add")
@click.argument("app")
@db_option
def token_add(app: str, db: str | None) -> None:
    """Make a token for the application APP; it is shown once, and only its hash is kept."""
    with _starting(db) as triage_log:
        made, secret = triage_log.access.add_token(app)
    click.echo(secret)
    click.echo(
        f"Token {made.id} for {made.app}: give it as 'Authorization: Bearer ...'. It is not "
        "shown again; 'triage token revoke' ends it.",
        err=True,
    )


@token.command("list")
@db_option
def token_list(db: str | None) -> None:
    """List the API tokens (their ids and first characters, never the tokens)."""
    with _reading(db) as triage_log:
        tokens = triage_log.access.tokens()
    for made in tokens:
        state = f"revoked {made.revoked_at[:16]}" if made.revoked_at else "active"
        click.echo(
            f"{made.id:>4}  {made.app}  {made.prefix}...  made {made.created_at[:16]}; {state}"
        )
    if not tokens:
        click.echo("No tokens yet: make one with 'triage token add APP'.")


@token.command("revoke")
@click.argument("token_id", type=int, metavar="ID")
@db_option
def token_revoke(token_id: int, db: str | None) -> None:
    """Revoke a token: the API refuses it from its next request."""
    with _reading(db) as triage_log:
        made = triage_log.access.revoke_token(token_id)
    click.echo(f"Token {made.id} of {made.app} revoked.")


# -- replaying the log under other rules ---------------------------------------------------------


@rules.command("diff")
@click.option("--log", "from_log", is_flag=True, help="Replay the checks in the triage log.")
@click.option(
    "--rules", "directory", required=True, metavar="PACK", help="The rule pack to replay with."
)
@db_option
@click.option(
    "--since", type=_Day(), help="Only the checks answered since this day (YYYY-MM-DD, UTC)."
)
@click.option(
    "--engine",
    type=click.Choice([DURABLE, REFERENCE]),
    default=REFERENCE,
    show_default=True,
    help="Rule engine (both fire the same rules).",
)
@click.option(
    "--workers", type=click.IntRange(1, 256), metavar="N", help="Processes (default: one per core)."
)
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Entry ids listed per group of changes (0: all); --json lists them all.",
)
@json_option("Print the changes as JSON.")
def rules_diff(
    from_log: bool,
    directory: str,
    db: str | None,
    since: date | datetime | None,
    engine: str,
    workers: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """Replay the logged checks under another rule pack: which decisions would change.

    Each check is evaluated again with the pack in PACK and the history it had, and compared
    with the decision in the log: a table of transitions (logged tier -> new tier, with
    counts; checks that would become less urgent first, marked SAFETY), then the entry ids of
    each, with the rules that fire now and the rules that no longer fire.
    """
    from triage.checking.replay import replay
    from triage.views.rules import replay_header, replay_lines

    if not from_log:
        raise click.UsageError("give --log: the checks to replay are those of the triage log")
    pack = triage.load_pack(directory)
    shown = not as_json and sys.stderr.isatty()
    result = replay(
        db, pack, since=since, engine=engine, workers=workers, progress=_progress if shown else None
    )
    if shown:
        click.echo("\r\033[K", nl=False, err=True)
    if as_json:
        for chunk in result.json_chunks():
            click.echo(chunk, nl=False)
        click.echo()
    else:
        echo_lines(replay_header(result), wrap=False)
        echo_lines(replay_lines(result, limit))


def _progress(done: int, total: int) -> None:
    share = done / total if total else 1
    click.echo(
        f"\rreplayed {done:,} of {counted(total, 'check')} ({share:.0%})", nl=False, err=True
    )


# -- alerts (delivered by 'triage serve') ----------------------------------------------------------


@main.group()
def alerts() -> None:
    """Alerts to clinicians: an e-mail or a signed webhook for each check at a level or above.

    'triage serve' delivers them (docs/clinician.md: Alerts); a check never waits for them.
    """


@alerts.command("add")
@click.option("--email", metavar="ADDRESS", help="Send alerts to this e-mail address.")
@click.option("--webhook", metavar="URL", help="POST alerts, signed, to this http(s) URL.")
@click.option(
    "--secret-file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="With --webhook: the file holding the secret the alerts are signed with (HMAC-SHA256).",
)
@click.option(
    "--level",
    type=click.Choice([lv.key for lv in LEVELS[1:]]),
    default="urgent",
    show_default=True,
    help="Alert on checks at this level or above.",
)
@db_option
def alerts_add(
    email: str | None, webhook: str | None, secret_file: Any, level: str, db: str | None
) -> None:
    """Ask for alerts by e-mail (--email) or webhook (--webhook URL --secret-file FILE).

    The webhook's secret is kept in the log (it is needed to sign) and never shown again.
    """
    if bool(email) == bool(webhook):
        raise click.UsageError("give one of --email ADDRESS or --webhook URL")
    if webhook and secret_file is None:
        raise click.UsageError("--webhook needs --secret-file FILE (the signing secret)")
    if email and secret_file is not None:
        raise click.UsageError("--secret-file goes with --webhook only")
    secret = secret_file.read().strip() if secret_file is not None else None
    with _starting(db) as triage_log:
        if email:
            made = triage_log.alerts.subscribe("email", email, level=level)
        else:
            made = triage_log.alerts.subscribe("webhook", str(webhook), level=level, secret=secret)
    click.echo(f"Alert {made.id}: {made.kind} {made.target}, for checks at {made.level} or above.")


@alerts.command("list")
@db_option
def alerts_list(db: str | None) -> None:
    """List the alert subscriptions (never a webhook's secret)."""
    with _reading(db) as triage_log:
        found = triage_log.alerts.subscriptions()
    for made in found:
        click.echo(f"{made.id:>4}  {made.kind:<7}  {made.target}  from {made.level}")
    if not found:
        click.echo("No alerts yet: add one with 'triage alerts add --email ADDRESS'.")


@alerts.command("remove")
@click.argument("subscription_id", type=int, metavar="ID")
@db_option
def alerts_remove(subscription_id: int, db: str | None) -> None:
    """Remove an alert subscription; its alerts not yet sent are cancelled."""
    with _reading(db) as triage_log:
        gone = triage_log.alerts.unsubscribe(subscription_id)
    click.echo(f"Alert {gone.id} ({gone.kind} {gone.target}) removed.")


@alerts.command("status")
@json_option("Print the counts and the alerts not delivered as JSON.")
@db_option
def alerts_status(as_json: bool, db: str | None) -> None:
    """The alerts not delivered yet or given up, with their tries and last error."""
    from dataclasses import asdict

    with _reading(db) as triage_log:
        counts = triage_log.alerts.counts()
        waiting = triage_log.alerts.outbox(("pending", "failed"), limit=1000)
    if as_json:
        shown = [{k: v for k, v in asdict(a).items() if k != "secret"} for a in waiting]
        click.echo(json.dumps({"counts": counts, "alerts": shown}, indent=2))
        return
    click.echo(
        f"{counts['pending']} waiting, {counts['failed']} given up, "
        f"{counts['delivered']} delivered, {counts['cancelled']} cancelled."
    )
    for a in waiting:
        state = "given up" if a.status == "failed" else f"next try {a.due_at[:19]}Z"
        click.echo(
            f"{a.id:>5}  check {a.entry_id} ({a.patient_id})  {a.kind} {a.target}  "
            f"{counted(a.attempts, 'try', 'tries')}; {state}"
            + (f"; last error: {a.last_error}" if a.last_error else "")
        )


@alerts.command("test")
@click.argument("subscription_id", type=int, metavar="ID")
@db_option
def alerts_test(subscription_id: int, db: str | None) -> None:
    """Send a test alert to subscription ID now, with the settings 'triage serve' uses."""
    from triage.alerts import DeliveryError, Settings, send_test

    settings = Settings.from_env()
    with _reading(db) as triage_log:
        made = triage_log.alerts.subscription(subscription_id)
        secret = triage_log.alerts.secret(subscription_id)
    try:
        send_test(made, secret, settings)
    except DeliveryError as exc:
        click.echo(f"The test alert to {made.target} was not delivered: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Test alert sent to {made.kind} {made.target}.")


if __name__ == "__main__":
    main()
