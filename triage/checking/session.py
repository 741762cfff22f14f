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
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import AnswerError, UsageError
from ..evaluation.questionnaire import (
    CHOICE_KINDS,
    ITEMS,
    Gate,
    Interview,
    Item,
    Step,
    choices,
    parse_answer,
    parse_choice,
)

if TYPE_CHECKING:
    from ..evaluation.warning import EarlyWarning
    from ..log import SessionRef, TriageLog
    from ..pack.rules import RulePack
    from .check import LogLocation, StoppedCheck

NEEDS_AN_ANSWER = "This question needs an answer."
_YES_NO = [(True, "Yes"), (False, "No")]
_NOT_READ: Any = object()


class QuestionnaireSession:
    """One patient answering the questionnaire, one question at a time.

    ``next_question()`` is the question to show (None once every question is answered, or the
    questionnaire has stopped); ``answer(key, answer)`` records an answer and returns the early
    warning when the answers so far need an urgent or emergency review whatever the rest would
    be: the questionnaire stops there, and ``stop()`` records it. ``finish()`` gives the answers
    for ``triage.check``. ``patient`` is fixed, never asked; a ``follow_up`` session first asks
    who the patient is (unless given) and whether the patient's latest session in ``log`` is
    the one they mean (the gate ``"session"``): "no" makes it a check of a new session
    (``follow_up`` becomes False). ``pack`` is a rule pack, or a function that gives one when
    first needed (the bundled pack when None).
    """

    def __init__(
        self,
        patient: str | None = None,
        *,
        follow_up: bool = False,
        log: TriageLog | LogLocation = None,
        pack: RulePack | Callable[[], RulePack] | None = None,
    ) -> None:
        self.log = log
        self.follow_up = follow_up
        self.follow_up_session: SessionRef | None = None
        """The session a follow-up is about, once the log has been read."""
        self.warning: EarlyWarning | None = None
        """The warning the questionnaire stopped at (``answer``, ``interrupt``)."""
        self._pack = pack
        self._preset: dict[str, Any] = {}
        if patient is not None:
            self._preset["patient_id"] = _read(ITEMS["patient_id"][1], patient)
        self._known: dict[str, Any] = {}
        self._which_session: Gate | None = None
        self._record: Any = _NOT_READ  # the profile and conditions of the patient's record
        self.interview = None if follow_up else Interview(self._preset)

    def next_question(self) -> Step | None:
        """The question to ask now: a report field (``Item``) or a gate (``Gate``, yes or no)."""
        if self.warning is not None:
            return None
        if self.interview is not None:
            return self.interview.next_step()
        if "patient_id" not in self._preset:
            return ITEMS["patient_id"][1]
        if self._which_session is None:
            from ..evaluation.questionnaire import session_question
            from .check import follow_up_preset

            session, self._known = follow_up_preset(self._preset["patient_id"], self.log)
            self.follow_up_session = session
            self._which_session = session_question(session.ended_at, datetime.now(timezone.utc))
        return self._which_session

    def question(self, key: str) -> Step:
        """The question behind a key (a field or a gate), to change its answer."""
        return self._interview().step(key)

    def value(self, key: str) -> Any:
        """The answer in force for a field or a gate; None when there is none."""
        return self._interview().value(key)

    def summary(self) -> list[tuple[str | None, str, str]]:
        """Every answer so far: (key to change, or None for a fixed one; label; answer)."""
        return self._interview().summary()

    def answer(self, key: str, answer: Any) -> EarlyWarning | None:
        """Answer the question ``key`` (again, to change it): with the text a patient typed,
        read as the terminal reads it ('3', 'yes', '2 days ago'), or with a value of the
        answer's type; None or '' skips an optional question. Raises ``AnswerError`` (naming
        the field) and changes nothing when it is not an answer. Returns the early warning
        when the questionnaire stops here."""
        if self.warning is not None:
            raise UsageError("the questionnaire has stopped: record it with stop()")
        if self.interview is None:
            self._answer_first(key, answer)
            return None
        try:
            step = self.interview.step(key)
        except KeyError:
            raise AnswerError("there is no such question", key) from None
        value = _read(step, answer)
        try:
            self.interview.answer(step, value)
        except ValueError as exc:  # a preset answer
            raise AnswerError(str(exc), key) from None
        self.warning = self._warning()
        return self.warning

    def _answer_first(self, key: str, answer: Any) -> None:
        """A follow-up's first questions: who the patient is, and whether it is that session."""
        step = self.next_question()
        assert step is not None
        if key != step.key:
            raise AnswerError(f"a follow-up first asks '{step.key}'", key)
        value = _read(step, answer)
        if isinstance(step, Item):
            self._preset["patient_id"] = value
        elif value:
            self.interview = Interview.follow_up(self._known)
        else:
            self.follow_up = False
            self.interview = Interview(self._preset)

    def interrupt(self) -> EarlyWarning | None:
        """The patient stopped before the end (Ctrl-C, end of input, a closed form): the
        warning, marked interrupted, when the answers given say who the patient is and when
        the session ended and already need a clinician (routine review too); record it with
        ``stop()``. None: nothing to record."""
        if self.interview is None or self.warning is not None:
            return self.warning
        if not {"patient_id", "hours_since_session"} <= set(self.interview.partial()[0]):
            return None
        self.warning = self._warning("routine", interrupted=True)
        return self.warning

    def stop(self, *, record: bool = True, now: datetime | None = None) -> StoppedCheck:
        """Record the check stopped early in the log (``triage.checking.check.stop_early``)."""
        from .check import stop_early

        if self.warning is None:
            raise UsageError("the questionnaire has not stopped early: nothing to record")
        return stop_early(self.warning, log=self.log, record=record, now=now)

    def finish(self) -> dict[str, Any]:
        """The answers, for ``triage.check`` (with ``follow_up=session.follow_up``)."""
        if self.warning is not None or self.next_question() is not None:
            raise UsageError("the questionnaire is not finished: answer next_question() first")
        return self._interview().report_data()

    def _interview(self) -> Interview:
        if self.interview is None:
            raise UsageError("a follow-up first asks who the patient is and which session")
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
        from .check import record_answers

        answers, pending = self._interview().partial()
        if "patient_id" not in answers:
            return None
        if self._record is _NOT_READ:
            self._record = record_answers(answers["patient_id"], self.log)
        if self._record is None:
            pending |= {"profile", "age", "conditions"}
        else:
            answers = {**answers, **self._record}
        return early_warning(
            answers, pending, self._rules(), at_least=at_least, interrupted=interrupted
        )


def _read(step: Step, given: Any) -> Any:
    """The answer ``given`` to ``step``: typed text, or a value; AnswerError naming the field."""
    try:
        if given is None or (isinstance(given, str) and not given.strip()):
            if isinstance(step, Item) and step.optional:
                return None
            raise AnswerError(NEEDS_AN_ANSWER)
        if not isinstance(given, str):
            return _value(step, given)
        if isinstance(step, Gate):
            return parse_choice(_YES_NO, given)
        return parse_answer(step.spec, given)
    except AnswerError as exc:
        raise AnswerError(str(exc), step.key) from None


def _value(step: Step, value: Any) -> Any:
    """A value given as such (not typed), when the question accepts it."""
    spec = None if isinstance(step, Gate) else step.spec
    kind = "yes_no" if spec is None else spec.kind
    allowed = [v for v, _ in (_YES_NO if spec is None else choices(spec))]
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


def _one_of(value: Any, allowed: list[Any]) -> bool:
    return any(type(value) is type(a) and value == a for a in allowed)
