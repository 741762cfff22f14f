"""What the questionnaire shows in a terminal: each question with its answers and a hint, the
help, and the summary of the answers, laid out for a given width.

Pure: every function returns the lines to show (``render.Line``), each already fitted to the
width and broken only between words; the front end prints them and reads the answers.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

from ..evaluation.questionnaire import (
    CHOICE_KINDS,
    NOT_ANSWERED,
    YES_NO,
    Gate,
    Item,
    Question,
    Screen,
    choices,
    is_no,
    show_answer,
    show_answer_now,
)
from ..evaluation.times import describe_session_end
from .render import Line, Style

CHECK_TITLE = "Post-session check"
FOLLOW_UP_TITLE = "Follow-up check"


def check_title(follow_up: bool) -> str:
    """What a check is called at its top: a check after a session, or a follow-up of one."""
    return FOLLOW_UP_TITLE if follow_up else CHECK_TITLE


UNSET: Any = object()
"""No answer to keep: the question is asked for the first time."""

WARNING_GATES = ("heart", "since", "pain", "injury")
"""The gates that ask for warning signs: "if you are not sure, answer yes"."""


def fill(text: str, width: int, indent: int = 0, style: Style = "text") -> list[Line]:
    """``text`` broken between words into lines of at most ``width`` columns (a word longer
    than a line stands alone), every line indented by ``indent``."""
    pad = " " * indent
    parts = textwrap.wrap(
        text,
        max(width, indent + 20),
        initial_indent=pad,
        subsequent_indent=pad,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [Line(style, part) for part in parts or [""]]


def options(step: Question) -> list[tuple[Any, str]]:
    """The numbered answers of a question (none for a number or a text)."""
    if isinstance(step, Screen):
        return step.options()
    if isinstance(step, Gate):
        return list(YES_NO)
    return choices(step.spec) if step.spec.kind in CHOICE_KINDS else []


def is_optional(step: Question) -> bool:
    return isinstance(step, Item) and step.optional


def question_text(step: Question) -> str:
    return step.spec.ask.question if isinstance(step, Item) else step.question


def help_text(step: Question) -> str:
    """The help a patient gets by typing '?': written for them, for every question."""
    return step.spec.ask.help if isinstance(step, Item) else step.help


def shown(step: Question, value: Any) -> str:
    """An answer as the patient reads it back."""
    if isinstance(step, Screen):
        return show_answer_now(value or [])
    if isinstance(step, Gate):
        return "Yes" if value else "No"
    return NOT_ANSWERED if value is None else show_answer(step.spec, value)


def echoed(step: Question, value: Any, now: datetime | None = None) -> str:
    """The answer just given, in words, to show under the question: the session's end as a
    time of day too, so that a misread time can be seen (and changed on the summary)."""
    if isinstance(step, Item) and step.field == "hours_since_session" and value is not None:
        return describe_session_end(value, now or datetime.now().astimezone())
    return shown(step, value)


def hint(step: Question, keep: Any = UNSET) -> str:
    """How to answer, in brackets under the question; when changing an answer, what Enter
    keeps."""
    kind = step.spec.kind if isinstance(step, Item) else None
    if isinstance(step, Screen):
        how = "type 1 or n for No; otherwise the number of each one that is happening"
    elif isinstance(step, Gate) and step.key in WARNING_GATES:
        how = "n for No, y for Yes; if you are not sure, answer yes"
    elif isinstance(step, Gate):
        how = "n for No, y for Yes"
    elif kind == "yes_no":
        how = "n for No, y for Yes, or the number"
    elif kind in ("choice", "yes_no_unsure") and any(is_no(v) for v, _ in options(step)):
        how = "type a number, or n for No"
    elif kind in ("choice", "yes_no_unsure"):
        how = "type a number or the first letters"
    elif kind == "set":
        how = "type every number that applies, separated by spaces or commas, or 'none'"
    elif isinstance(step, Item) and step.field == "hours_since_session":
        how = "for example: just now, 2 hours ago, this morning, yesterday at 6pm"
    elif isinstance(step, Item) and step.spec.numeric:
        how = f"{step.spec.minimum:g} to {step.spec.maximum:g}"
    else:
        how = "letters, digits, '.', '_' or '-'"
    if keep is not UNSET:
        how += f"; Enter keeps: {shown(step, keep)}"
    elif is_optional(step):
        how += "; Enter to skip"
    return f"({how}; ? for help)"


def question_lines(step: Question, width: int, keep: Any = UNSET) -> list[Line]:
    """A question: its text, its numbered answers (in two columns when there are many and
    they fit), and the hint."""
    lines = [Line("text", ""), *fill(question_text(step), width, style="heading")]
    lines += _numbered(options(step), width)
    return lines + fill(hint(step, keep), width, indent=2)


def _numbered(answers: list[tuple[Any, str]], width: int) -> list[Line]:
    digits = len(str(len(answers)))
    labels = [f"{number:>{digits}}) {label}" for number, (_, label) in enumerate(answers, 1)]
    if len(labels) > 7:
        rows = (len(labels) + 1) // 2
        left, right = labels[:rows], labels[rows:]
        column = max(len(label) for label in left) + 3
        if 2 + column + max(len(label) for label in right) <= width:
            return [
                Line("text", f"  {a:<{column}}{b}".rstrip())
                for a, b in zip(left, [*right, ""], strict=False)
            ]
    found: list[Line] = []
    for label in labels:
        found += _hanging(label, width, 2, 4 + digits)
    return found


def _hanging(text: str, width: int, indent: int, then: int) -> list[Line]:
    """A line indented by ``indent``, its continuation lines by ``then``."""
    parts = textwrap.wrap(
        text,
        width,
        initial_indent=" " * indent,
        subsequent_indent=" " * then,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [Line("text", part) for part in parts]


def summary_lines(rows: list[tuple[str | None, str, str]], width: int) -> list[Line]:
    """Every answer on one screen: a number for each answer that can be changed, the label
    and the answer in two columns (both broken between words when the width needs it)."""
    label_width = min(max(len(label) for _, label, _ in rows), 40)
    answer_width = max(width - 5 - label_width - 2, 20)
    lines = [Line("text", ""), Line("heading", "Your answers")]
    number = 0
    for key, label, answer in rows:
        if key is not None:
            number += 1
        mark = f"{number:>3}." if key is not None else "   -"
        left = _wrap(label, label_width)
        right = _wrap(answer, answer_width)
        for index in range(max(len(left), len(right))):
            head = mark if index == 0 else "    "
            a = left[index] if index < len(left) else ""
            b = right[index] if index < len(right) else ""
            lines.append(Line("text", f"{head} {a:<{label_width}}  {b}".rstrip()))
    lines += fill(
        "Press Enter to check these answers, or type a number to change that answer.",
        width,
    )
    return lines


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def changeable(rows: list[tuple[str | None, str, str]]) -> list[str]:
    """The keys of the rows that can be changed, in the order of their numbers."""
    return [key for key, _, _ in rows if key is not None]
