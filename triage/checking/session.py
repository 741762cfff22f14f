"""The questionnaire session: what ``triage check`` does between its questions, for any front end.

A session holds the answers so far and decides everything but the screen: which question comes
next (``questionnaire.Interview``), whether an answer answers it, when the questionnaire stops
early (``warning.early_warning``, with the profile and conditions of the patient's record), what
an interruption leaves for the clinician, how a follow-up is linked to its session, and what is
recorded (``checking.stop_early``) or checked (``triage.check``). The terminal only shows the
questions and reads the lines typed; a web form or an embedding app can drive it the same way.

Nothing heavy is imported before the first answer (tests/repo/test_start.py): the rules, the report
contract and the log are loaded when an answer needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from ..contract.field_table import FIELDS
from ..errors import AnswerError, UsageError
from ..evaluation.questionnaire import (
    CHOICE_KINDS,
    ITEMS,
    NOT_ANSWERED,
    NOTHING_NOW,
    RECORD_ITEMS,
    RIGHT_NOW,
    YES_NO,
    Gate,
    Interview,
    Item,
    Question,
    Screen,
    Step,
    choices,
    first_check_question,
    parse_answer,
    parse_choice,
    parse_set,
    record_question,
    session_question,
    show_answer,
    show_answer_now,
)

if TYPE_CHECKING:
    from ..evaluation.warning import EarlyWarning
    from ..log import SessionRef, TriageLog
    from ..pack.rules import RulePack
    from .check import LogLocation, StoppedCheck
    from .on_file import OnFile

NEEDS_AN_ANSWER = "This question needs an answer."
_RECORD = ("age", "conditions")
_TO_RECORD = ("patient_id", "hours_since_session")


class QuestionnaireSession:
    """One patient answering the questionnaire, one question at a time.

    ``next_question()`` is the question to show (None once every question is answered, or the
    questionnaire has stopped); ``answer(key, answer)`` records an answer and returns the early
    warning when the answers so far need an urgent or emergency review whatever the rest would
    be: the questionnaire stops there, and ``stop()`` records it. ``finish()`` gives the answers
    for ``triage.check``.

    The questions before the report's: whether anything that needs an ambulance is happening
    now (``RIGHT_NOW``; any yes stops at once, before the patient ID), the patient ID (unless
    ``patient`` is given: fixed, never asked), whether an ID new to the log is theirs (gate
    ``"first"``), their record (the gate ``"record"`` confirms what it holds; age and
    conditions are asked when there is none, and kept with ``save_record()`` as given by the
    patient), and, for a ``follow_up``, whether the patient's latest session in ``log`` is the
    one they mean (gate ``"session"``): "no" makes it a check of a new session (``follow_up``
    becomes False). ``pack`` is a rule pack, or a function that gives one when first needed
    (the bundled pack when None).
    """

    def __init__(
        self,
        patient: str | None = None,
        *,
        follow_up: bool = False,
        log: TriageLog | LogLocation = None,
        pack: RulePack | Callable[[], RulePack] | None = None,
        channel: str = "",
        time_zone: tzinfo | None = None,
    ) -> None:
        self.log = log
        self.channel = channel
        """Where the answers are given (``log.records.CHANNELS``), recorded with the check."""
        self.time_zone = time_zone
        """Where the patient is: times of day they type ("6pm", "yesterday at 18:00") are read
        there (None: this computer's time zone, as in the terminal)."""
        self.follow_up = follow_up
        self.follow_up_session: SessionRef | None = None
        """The session a follow-up is about, once the log has been read."""
        self.warning: EarlyWarning | None = None
        """The warning the questionnaire stopped at (``answer``, ``interrupt``)."""
        self._pack = pack
        self._fixed_patient = patient is not None
        self._preset: dict[str, Any] = {}
        if patient is not None:
            self._preset["patient_id"] = _read(ITEMS["patient_id"][1], patient)
        self._now: list[str] | None = None
        self._gates: dict[str, bool] = {}  # first, record, session
        self._on_file: OnFile | None = None
        self.given_record: dict[str, Any] = {}
        """The age and conditions the patient gave (their record held none, or they corrected
        it): in the report, and kept on the record by ``save_record()``."""
        self._known: dict[str, Any] = {}
        self._which_session: Gate | None = None
        self.corrected_end = False
        """Whether a follow-up's patient said "no" to the session, then gave an end before its
        first check: that session, its end corrected."""
        self.interview: Interview | None = None

    # -- what to ask ---------------------------------------------------------------------------

    def next_question(self) -> Question | None:
        """The question to ask now: the first screen (``Screen``), a report field (``Item``) or
        a gate (``Gate``, yes or no)."""
        if self.warning is not None:
            return None
        if self.interview is not None:
            return self.interview.next_step()
        if self._now is None:
            return RIGHT_NOW
        if "patient_id" not in self._preset:
            return ITEMS["patient_id"][1]
        step = self._record_question()
        if step is not None:
            return step
        if self.follow_up:
            return self._session_question()
        self.interview = Interview(self._report_preset())
        return self.interview.next_step()

    def _record_question(self) -> Step | None:
        """Who the patient is, and their record: the questions before the report's."""
        if self._on_file is None:
            from .on_file import on_file

            self._on_file = on_file(self._preset["patient_id"], self.log)
        known = self._on_file
        if known.first_check and not self._fixed_patient and not self._gates.get("first"):
            return first_check_question(self._preset["patient_id"])
        if known.record and "record" not in self._gates:
            return record_question(known.record)
        if known.record is None or self._gates.get("record") is False:
            for name in _RECORD:
                if name not in self.given_record and name not in self._skipped_record:
                    return RECORD_ITEMS[name]
        return None

    @property
    def _skipped_record(self) -> set[str]:
        return {name for name, value in self.given_record.items() if value is None}

    def _session_question(self) -> Step:
        """Is it that session? After "no": when did the session meant end (that session, its
        end corrected; or a new one)."""
        if self._gates.get("session") is False:
            return ITEMS["hours_since_session"][1]
        if self._which_session is None:
            from .check import follow_up_preset

            session, self._known = follow_up_preset(self._preset["patient_id"], self.log)
            self.follow_up_session = session
            self._which_session = session_question(
                session.ended_at, datetime.now(timezone.utc), self.time_zone
            )
        return self._which_session

    def _report_preset(self) -> dict[str, Any]:
        given = {k: v for k, v in self.given_record.items() if v is not None}
        return {**self._preset, **given}

    def question(self, key: str) -> Question:
        """The question behind a key (a field, a gate or the first screen), to change its
        answer."""
        if key == RIGHT_NOW.key:
            return RIGHT_NOW
        if key in RECORD_ITEMS and (self.interview is None or key in self.given_record):
            return RECORD_ITEMS[key]
        if self.interview is None and key in ITEMS:
            return ITEMS[key][1]
        return self._interview().step(key)

    def value(self, key: str) -> Any:
        """The answer in force for a field or a gate; None when there is none."""
        if key == RIGHT_NOW.key:
            return self._now
        if key in RECORD_ITEMS and (self.interview is None or key in self.given_record):
            return self.given_record.get(key)
        if key in self._gates:
            return self._gates[key]
        if self.interview is None:
            return self._preset.get(key)
        return self.interview.value(key)

    def summary(self) -> list[tuple[str | None, str, str]]:
        """Every answer so far: (key to change, or None for a fixed one; label; answer). The
        patient's record comes after their ID: what they gave can be changed, what the
        clinician set (and they confirmed) cannot."""
        who, *rest = self._interview().summary()  # the patient ID: FLOW's first question
        now_row = (RIGHT_NOW.key, RIGHT_NOW.title, show_answer_now(self._now or []))
        return [now_row, who, *self._record_rows(), *rest]

    def _record_rows(self) -> list[tuple[str | None, str, str]]:
        rows: list[tuple[str | None, str, str]] = []
        held = (self._on_file.record if self._on_file else None) or {}
        for name in _RECORD:
            item = RECORD_ITEMS[name]
            if name in self.given_record:
                value = self.given_record[name]
                rows.append(
                    (
                        name,
                        item.spec.label,
                        NOT_ANSWERED if value is None else show_answer(item.spec, value),
                    )
                )
            elif name in held and self._gates.get("record"):
                rows.append((None, item.spec.label, show_answer(item.spec, held[name])))
        return rows

    # -- answering -----------------------------------------------------------------------------

    def answer(self, key: str, answer: Any) -> EarlyWarning | None:
        """Answer the question ``key`` (again, to change it): with the text a patient typed,
        read as the terminal reads it ('3', 'yes', '2 days ago'), or with a value of the
        answer's type; None or '' skips an optional question. Raises ``AnswerError`` (naming
        the field) and changes nothing when it is not an answer. Returns the early warning
        when the questionnaire stops here."""
        if self.warning is not None:
            raise UsageError("the questionnaire has stopped: record it with stop()")
        if key == RIGHT_NOW.key:
            return self._answer_now(answer)
        if key in RECORD_ITEMS and (self.interview is None or key in self.given_record):
            return self._answer_record(key, answer)
        if self.interview is None:
            self.next_question()  # starts the report's questions when their turn has come
        if self.interview is None:
            self._answer_first(key, answer)
            return None
        try:
            step = self.interview.step(key)
        except KeyError:
            raise AnswerError("there is no such question", key) from None
        value = _read(step, answer, self.time_zone)
        try:
            self.interview.answer(step, value)
        except ValueError as exc:  # a preset answer
            raise AnswerError(str(exc), key) from None
        self.warning = self._warning()
        return self.warning

    def _answer_now(self, answer: Any) -> EarlyWarning | None:
        chosen = _read(RIGHT_NOW, answer)
        self._now = [value for value in chosen if value != NOTHING_NOW]
        if not self._now:
            return None
        from ..evaluation.warning import early_warning

        means = RIGHT_NOW.means(self._now)
        known = {**{k: v for k, v in self._preset.items() if k == "patient_id"}, **means}
        unknown = [name for name in FIELDS if name not in known]
        self.warning = early_warning(known, unknown, self._rules())
        if self.warning is None:  # pragma: no cover - every answer meets an emergency row
            raise AssertionError(f"{self._now} meets no emergency row")
        return self.warning

    def _answer_record(self, key: str, answer: Any) -> EarlyWarning | None:
        self.given_record[key] = _read(RECORD_ITEMS[key], answer)
        if self.interview is not None:
            self.interview.preset.pop(key, None)
            if self.given_record[key] is not None:
                self.interview.preset[key] = self.given_record[key]
            self.warning = self._warning()
        return self.warning

    def _answer_first(self, key: str, answer: Any) -> None:
        """The questions before the report's: the patient ID, whether a new one is theirs,
        their record, and a follow-up's session."""
        step = self.next_question()
        assert step is not None and not isinstance(step, Screen)
        if key != step.key:
            raise AnswerError(f"'{step.key}' comes first", key)
        value = _read(step, answer, self.time_zone)
        if isinstance(step, Item) and step.field == "hours_since_session":
            self._which_session_ended(value)
            return
        if isinstance(step, Item):
            self._preset["patient_id"] = value
            self._gates.pop("first", None)
            return
        self._gates[step.key] = value
        if step.key == "first" and not value:
            self._preset.pop("patient_id")
            self._on_file = None
        elif step.key == "session":
            self._answer_session(value)

    def _answer_session(self, same: bool) -> None:
        if same:
            self.interview = Interview.follow_up({**self._known, **self._report_preset()})

    def _which_session_ended(self, hours: float) -> None:
        """ "No, not that session": the session meant ended ``hours`` ago. Before that
        session's first check, it is that session with its end corrected (the follow-up goes
        on, and compares); after it, a new session (a new check, its end known)."""
        from datetime import timedelta

        from .check import is_same_session

        assert self.follow_up_session is not None
        ended = datetime.now(timezone.utc) - timedelta(hours=hours)
        self.corrected_end = is_same_session(self.follow_up_session, ended)
        preset = {**self._report_preset(), "hours_since_session": hours}
        if self.corrected_end:
            self.interview = Interview.follow_up({**self._known, **preset})
        else:
            self.follow_up = False
            self.interview = Interview(preset)

    def give_for_record(self, key: str, answer: Any) -> None:
        """After a stop before the patient ID or the session's end were asked (something
        needed an ambulance at once): give one of them (``missing_for_record``), so that the
        check can be recorded; None or '' leaves it out."""
        if self.warning is None or key not in self.missing_for_record():
            raise UsageError(f"'{key}' is not missing for the record")
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            return
        from dataclasses import replace

        value = _read(ITEMS[key][1], answer, self.time_zone)
        self.warning = replace(self.warning, answers={**self.warning.answers, key: value})

    def missing_for_record(self) -> list[str]:
        """What a check stopped early lacks to be recorded: the patient ID, when the session
        ended."""
        if self.warning is None:
            return []
        return [name for name in _TO_RECORD if name not in self.warning.answers]

    def interrupt(self) -> EarlyWarning | None:
        """The patient stopped before the end (Ctrl-C, end of input, a closed form): the
        warning, marked interrupted, when the answers given say who the patient is and when
        the session ended and already need a clinician (routine review too); record it with
        ``stop()``. None: nothing to record."""
        if self.interview is None or self.warning is not None:
            return self.warning
        if not set(_TO_RECORD) <= set(self.interview.partial()[0]):
            return None
        self.warning = self._warning("routine", interrupted=True)
        return self.warning

    def stop(self, *, record: bool = True, now: datetime | None = None) -> StoppedCheck:
        """Record the check stopped early in the log (``triage.checking.check.stop_early``),
        and what the patient gave for their record (``save_record``)."""
        from .check import stop_early

        if self.warning is None:
            raise UsageError("the questionnaire has not stopped early: nothing to record")
        stopped = stop_early(
            self.warning, log=self.log, record=record, now=now, channel=self.channel
        )
        if stopped.logged:
            self.save_record()
        return stopped

    def save_record(self) -> None:
        """Keep the age and conditions the patient gave on their record, as given by the
        patient; nothing when they gave none. Raises ``StorageError``."""
        given = {k: v for k, v in self.given_record.items() if v is not None}
        if given and "patient_id" in self._preset:
            from .on_file import save_given

            save_given(self._preset["patient_id"], given, self.log)

    def finish(self) -> dict[str, Any]:
        """The answers, for ``triage.check`` (with ``follow_up=session.follow_up``)."""
        if self.warning is not None or self.next_question() is not None:
            raise UsageError("the questionnaire is not finished: answer next_question() first")
        return self._interview().report_data()

    def _interview(self) -> Interview:
        if self.interview is None:
            raise UsageError("the questionnaire first asks who the patient is")
        return self.interview

    def _rules(self) -> RulePack:
        if self._pack is None:
            from ..pack.loading import default_pack

            self._pack = default_pack()
        return self._pack() if callable(self._pack) else self._pack

    def _warning(self, at_least: str = "urgent", interrupted: bool = False) -> EarlyWarning | None:
        """The early warning for the answers so far, with the patient's profile, age and
        conditions from their record (not known, while the log cannot say)."""
        from ..evaluation.warning import early_warning

        answers, pending = self._interview().partial()
        if "patient_id" not in answers:
            return None
        record = self._on_file.record if self._on_file and self._on_file.readable else None
        if self._on_file is None or not self._on_file.readable:
            pending |= {"profile"} | {k for k in _RECORD if k not in answers}
        else:
            answers = {**(record or {}), **answers}
        return early_warning(
            answers, pending, self._rules(), at_least=at_least, interrupted=interrupted
        )


def _read(step: Question, given: Any, time_zone: tzinfo | None = None) -> Any:
    """The answer ``given`` to ``step``: typed text, or a value; AnswerError naming the field.
    Times of day are read in ``time_zone`` (None: this computer's)."""
    try:
        if given is None or (isinstance(given, str) and not given.strip()):
            if isinstance(step, Item) and step.optional:
                return None
            raise AnswerError(NEEDS_AN_ANSWER)
        if isinstance(step, Screen):
            return _read_now(given)
        if not isinstance(given, str):
            return _value(step, given)
        if isinstance(step, Gate):
            return parse_choice(YES_NO, given)
        now = datetime.now(time_zone) if time_zone is not None else None
        return parse_answer(step.spec, given, now)
    except AnswerError as exc:
        raise AnswerError(str(exc), step.key) from None


def _value(step: Step, value: Any) -> Any:
    """A value given as such (not typed), when the question accepts it."""
    spec = None if isinstance(step, Gate) else step.spec
    kind = "yes_no" if spec is None else spec.kind
    allowed = [v for v, _ in (YES_NO if spec is None else choices(spec))]
    if kind == "set" and isinstance(value, (list, tuple)):
        if all(_one_of(v, allowed) for v in value) and len(set(value)) == len(value):
            return [v for v in allowed if v in value]
    elif kind in CHOICE_KINDS and _one_of(value, allowed):
        return value
    elif spec is not None and spec.numeric and type(value) in (int, float):
        whole = kind == "number" or float(value).is_integer()
        if whole and (spec.minimum or 0) <= value <= (spec.maximum or 0):
            return int(value) if kind == "integer" else value
    expected = "true or false" if spec is None else spec.expected()
    raise AnswerError(f"{value!r} is not an answer to this question: expected {expected}")


def _read_now(given: Any) -> list[str]:
    """The first screen's answers: numbers or words typed, or a list of its values."""
    options = RIGHT_NOW.options()
    if isinstance(given, str):
        typed = given.strip().lower()
        if typed in ("y", "yes"):
            raise AnswerError(
                f"which one? Type its number (2 to {len(options)}), or several separated by spaces"
            )
        chosen = [NOTHING_NOW] if typed in ("n", "no", "none") else parse_set(options, given)
    elif isinstance(given, (list, tuple)) and all(
        _one_of(v, [o for o, _ in options]) for v in given
    ):
        chosen = list(given)
    else:
        raise AnswerError(
            f"{given!r} is not an answer to this question: expected a list of its answers"
        )
    if NOTHING_NOW in chosen and len(chosen) > 1:
        raise AnswerError(
            "'No, none of these' is an answer of its own: type 1 alone, or the others"
        )
    return chosen or [NOTHING_NOW]


def _one_of(value: Any, allowed: list[Any]) -> bool:
    return any(type(value) is type(a) and value == a for a in allowed)
