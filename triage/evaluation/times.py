"""When the session ended and which programme week it is, read as people type them.

Pure and standard library only: the questionnaire imports this before its first question.

``parse_session_end`` reads either how long ago ("45 min", "an hour and a half ago", "a day and
a half ago") or when ("yesterday at 6pm", "Saturday evening", "18:30"), in the time zone of
``now``. Its choices:

- Parts of the day stand for one clock time: morning 09:00, afternoon 14:00, evening 19:00,
  night ("tonight", "last night") 19:00, when people usually finish an evening session.
  Before 05:00, "this evening" and "tonight" mean the evening just gone.
  A part of today that has begun but whose time is still to come ("this morning" at 08:00)
  asks for a time instead of guessing.
- A bare hour from 1 to 11 ("at 7") is whichever of 07:00 and 19:00 on that day is the latest
  not in the future; with no day, today, else yesterday. "07:30" (leading zero) is 07:30.
- A weekday equal to today's is today if that time has passed, else a week ago; "last Monday"
  on a Monday is a week ago.
- A day with no time ("yesterday", "on Monday", "earlier today") raises ``NeedsTime``: it never
  silently picks a time.
- "a few" is 3, "a couple of" 2; a bare number is hours, except "h.mm" with two digits after
  the dot ("18.30"), a clock time as before.

``parse_programme_week`` reads a week number or how long the patient has been on the
programme; months are 52/12 weeks, so "a month" is week 4 (4.33 rounded), "3 months" 13.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from ..errors import AnswerError

MAX_HOURS = 336
MAX_WEEK = 520


class NeedsTime(AnswerError):
    """A day was given without a time of day; the message asks for one and repeats the day."""

    def __init__(self, day: str) -> None:
        self.day = day
        super().__init__(f"{_capital(day)} at roughly what time? For example: {_examples(day)}.")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _examples(day: str) -> str:
    if "today" in day:
        return f"{day} at 9am, {day} at 14:30, 2 hours ago"
    return f"{day} at 6pm, {day} evening"


# -- words and numbers --------------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50,
    "sixty": 60, "ninety": 90, "a": 1, "an": 1, "a single": 1, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a few": 3, "few": 3, "several": 3, "half a": 0.5, "half an": 0.5,
    "a half": 0.5, "a quarter of an": 0.25, "quarter of an": 0.25, "a quarter": 0.25,
    "three quarters of an": 0.75,
}  # fmt: skip
_FILLERS = r"approximately|approx|about|around|roughly|maybe|perhaps|circa|ca|ish|~|ago|i think"
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip
_WORD_ALTERNATIVES = "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
_QUANTITY = rf"(?:\d+(?:\.\d+)?|{_WORD_ALTERNATIVES})(?: and a half)?"


def _normalise(text: str) -> str:
    """Lower case, decimal commas as points, fillers and stray punctuation dropped."""
    typed = text.lower().replace("a.m.", "am").replace("p.m.", "pm")
    typed = re.sub(r"(\d),(\d)", r"\1.\2", typed)
    typed = re.sub(r"[^\w:.~'\- ]|(?<!\d)\.|\.(?!\d)", " ", typed)
    typed = re.sub(rf"(?<![\w-])(?:{_FILLERS})(?![\w-])", " ", typed)
    return " ".join(typed.replace("~", " ").split())


def _quantity(words: str) -> float:
    """'2', '1.5', 'two', 'a couple of', 'two and a half' as a number."""
    half = words.endswith(" and a half")
    words = words.removesuffix(" and a half")
    value = float(words) if words[0].isdigit() else float(_NUMBER_WORDS[words])
    return value + 0.5 if half else value


# -- how long ago -------------------------------------------------------------------------------

_UNIT_HOURS = {
    "minute": 1 / 60, "min": 1 / 60, "m": 1 / 60, "hour": 1.0, "hr": 1.0, "h": 1.0,
    "day": 24.0, "d": 24.0, "week": 168.0, "wk": 168.0, "w": 168.0, "fortnight": 336.0,
    "month": 730.0,
}  # fmt: skip
_UNIT = r"(?:minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|fortnights?|months?)"
_PIECE = rf"(?P<qty>{_QUANTITY}) ?(?P<unit>{_UNIT})(?P<half> and a half)?\b"
_CLOCK_LIKE = r"(?:0?[1-9]|1\d|2[0-3])\.[0-5]\d"  # '18.30': a clock time


def _hours_ago(typed: str) -> float | None:
    """'45 min', 'an hour and a half', '2 hours 15 minutes', '1h30', '3': hours; else None."""
    if re.fullmatch(r"\d+(?:\.\d+)?", typed) and not re.fullmatch(_CLOCK_LIKE, typed):
        return float(typed)
    typed = re.sub(r"^(\d+) (?:h|hrs?|hours?) (\d{1,2})$", r"\1 h \2 min", typed)
    hours, position = 0.0, 0
    while position < len(typed):
        piece = re.compile(_PIECE).match(typed, position)
        if piece is None:
            return None
        hours += _piece_hours(piece)
        gap = re.compile(r" ?(?:and )?").match(typed, piece.end())
        position = gap.end() if gap else piece.end()
    return hours if position else None


def _piece_hours(piece: re.Match[str]) -> float:
    unit = piece["unit"]
    per_unit = _UNIT_HOURS[unit if unit in _UNIT_HOURS else unit[:-1]]
    return (_quantity(piece["qty"]) + (0.5 if piece["half"] else 0)) * per_unit


# -- when: a day, a part of the day, a clock time -----------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = r"(?P<weekday>mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday|s|r|rs)?"
_DAY = (
    r"\b(?:(?:on )?(?:the )?day before yesterday|yesterday|(?:earlier )?today|tonight"
    rf"|last night|(?P<last>last |this past |past )?(?:on )?{_WEEKDAY}s?"
    r"|(?P<days>\d+|a|one|two|three|four|five|six|seven|eight|nine|ten) days?)\b"
)


class _Part(NamedTuple):
    """A part of the day: the time it stands for, the hour it begins, and which bare hours in
    it are after noon ('yesterday evening at 7' is 19:00)."""

    hour: int
    minute: int
    begins: int
    pm_hours: range


_PARTS = {
    "morning": _Part(9, 0, begins=5, pm_hours=range(0)),
    "lunchtime": _Part(12, 30, begins=11, pm_hours=range(1, 11)),
    "afternoon": _Part(14, 0, begins=12, pm_hours=range(1, 12)),
    "evening": _Part(19, 0, begins=17, pm_hours=range(1, 12)),
    "night": _Part(19, 0, begins=17, pm_hours=range(5, 12)),  # 'at 1': the small hours
}
_PART = (
    r"\b(?:(?:this|in the|during the|at) )?(?P<part>morning|lunchtime|lunch|afternoon|evening"
    r"|night)\b"
)
_CLOCKS = (
    r"\b(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))? ?(?P<half>am|pm)\b",
    r"\b(?P<h>\d{1,2})[:.](?P<m>\d{2})\b",
    r"\bat (?P<h>\d{1,2})\b",
    r"\b(?P<noon>noon|midday)\b",
)
_LATE = ("evening", "night")
_BARE_HOUR = r"\b(?P<h>\d{1,2})\b"
_LEFT_OVER = {"at", "on", "the", "in", "of", "o'clock", "oclock", "and", "-", "earlier", "by"}


class _When(NamedTuple):
    """What a patient said about when: which days back to try, and the time on that day."""

    day: str | None  # the day as typed, for NeedsTime
    days_back: tuple[int, ...]  # most recent first
    part: str | None
    hour: int | None
    minute: int = 0
    ambiguous: bool = False  # a bare 1 to 11: morning or evening


def _read_when(typed: str, now: datetime) -> _When | None:
    """The day, part of day and clock time in ``typed``, or None if it is not a time of day."""
    rest = f" {typed} "
    day = re.search(_DAY, rest)
    rest = _cut(rest, day)
    part = re.search(_PART, rest)
    rest = _cut(rest, part)
    clock = next((m for c in _CLOCKS if (m := re.search(c, rest))), None)
    if clock is None and (day or part):
        clock = re.search(_BARE_HOUR, rest)
    rest = _cut(rest, clock)
    if not (day or part or clock) or not set(rest.split()) <= _LEFT_OVER:
        return None
    part_name = _part_name(day, part)
    hour, minute, ambiguous = _clock_time(clock, part_name) if clock else (None, 0, False)
    if hour is not None and not (0 <= hour < 24 and 0 <= minute < 60):
        return None  # '25:00', '13pm'
    day_text = _with_capitals(day[0].strip()) if day else None
    return _When(day_text, _days_back(day, part, now), part_name, hour, minute, ambiguous)


def _with_capitals(day: str) -> str:
    """'on monday' as 'on Monday', to repeat it to the patient."""
    return re.sub(_WEEKDAY, lambda m: m[0].capitalize(), day)


def _cut(text: str, match: re.Match[str] | None) -> str:
    return text if match is None else f"{text[: match.start()]} {text[match.end() :]}"


def _part_name(day: re.Match[str] | None, part: re.Match[str] | None) -> str | None:
    if part is not None:
        return "lunchtime" if part["part"] == "lunch" else part["part"]
    return "night" if day and day[0].strip() in ("tonight", "last night") else None


def _clock_time(clock: re.Match[str], part: str | None) -> tuple[int, int, bool]:
    """Hour, minute, and whether the hour may be morning or evening; an hour of 24 or more
    when the time does not exist ('13pm')."""
    if clock.groupdict().get("noon"):
        return 12, 0, False
    written, minute = clock["h"], int(clock.groupdict().get("m") or 0)
    hour = int(written)
    half = clock.groupdict().get("half")
    if half:
        if not 1 <= hour <= 12:
            return 24, minute, False
        return hour % 12 + (12 if half == "pm" else 0), minute, False
    if not 1 <= hour <= 11 or written.startswith("0"):
        return hour, minute, False
    if part is None:
        return hour, minute, True
    return hour + 12 if hour in _PARTS[part].pm_hours else hour, minute, False


def _days_back(
    day: re.Match[str] | None, part: re.Match[str] | None, now: datetime
) -> tuple[int, ...]:
    words = day[0].strip() if day else ""
    # 'tonight' or 'this evening' at 00:30 is the evening just gone
    gone = now.hour < 5 and (words == "tonight" or bool(part and part["part"] in _LATE))
    if day is None:
        return ((1,) if gone else (0,)) if part and part[0].startswith("this") else (0, 1)
    if day["weekday"]:
        back = (now.weekday() - _weekday_number(day["weekday"])) % 7
        return (back or 7,) if back or day["last"] else (0, 7)
    if day["days"]:
        return (round(_quantity(day["days"])),)
    if "before" in words:
        return (2,)
    if words in ("yesterday", "last night"):
        return (1,)
    return (1,) if gone else (0,)


def _weekday_number(prefix: str) -> int:
    return next(n for n, name in enumerate(_WEEKDAYS) if name.startswith(prefix))


def _on(day: date, hour: int, minute: int, now: datetime) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=now.tzinfo)


def _candidates(when: _When, back: int, now: datetime) -> list[datetime]:
    """The times on the day ``back`` days ago that ``when`` may mean."""
    day = now.date() - timedelta(days=back)
    if when.hour is None:
        assert when.part is not None
        part = _PARTS[when.part]
        return [_on(day, part.hour, part.minute, now)]
    if when.part == "night" and when.hour < 5:
        return [_on(day + timedelta(days=1), when.hour, when.minute, now)]
    hours = (when.hour, when.hour + 12) if when.ambiguous else (when.hour,)
    return [_on(day, hour, when.minute, now) for hour in hours]


def _resolve(when: _When, now: datetime) -> datetime:
    """The latest time ``when`` may mean that is not in the future."""
    if when.hour is None and when.part is None:
        raise NeedsTime(when.day or "today")
    if when.hour is None and when.part and when.days_back[0] == 0:
        _ask_if_begun(when, now)
    for back in when.days_back:
        past = [t for t in _candidates(when, back, now) if _since(now, t) >= 0]
        if past:
            return max(past)
    first = min(_candidates(when, when.days_back[-1], now))
    raise AnswerError(
        f"that time is still to come: {_clock(first)} {_day_words(first, now)} is later than "
        f"now ({_clock(now)}); type when the session ended, for example: 2 hours ago"
    )


def _ask_if_begun(when: _When, now: datetime) -> None:
    """'this morning' at 08:00: the morning has begun but 09:00 is to come, so ask for a time."""
    assert when.part is not None
    part = _PARTS[when.part]
    if part.begins <= now.hour and (now.hour, now.minute) < (part.hour, part.minute):
        raise NeedsTime(f"this {when.part}" if when.part != "night" else "tonight")


def _since(now: datetime, start: datetime) -> float:
    """Hours from ``start`` to ``now``, in real time (across a change to summer time)."""
    if now.tzinfo is not None:
        now, start = now.astimezone(timezone.utc), start.astimezone(timezone.utc)
    return (now - start).total_seconds() / 3600


# -- parse_session_end --------------------------------------------------------------------------

_NOT_UNDERSTOOD = (
    "type a number of hours, or when the session ended: just now, 45 minutes ago, "
    "an hour and a half ago, this morning, yesterday at 6pm, Saturday evening, 18:30"
)


def parse_session_end(text: str, now: datetime) -> float:
    """Hours since the session ended (0 or more, to 0.1 h) from what the patient typed.

    Raises ``NeedsTime`` for a day without a time, ``AnswerError`` for an answer not understood,
    a time still to come, or one more than 336 hours (14 days) ago.
    """
    typed = _normalise(text)
    typed = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", typed)
    typed = re.sub(r"\b(?:ish|o'? ?clock)\b", " ", typed).strip()
    hours = _hours_from(typed, now)
    if hours is None:
        raise AnswerError(_NOT_UNDERSTOOD)
    if hours > MAX_HOURS:
        raise AnswerError("only sessions in the last 14 days (336 hours) can be checked")
    return round(hours, 1)


def _hours_from(typed: str, now: datetime) -> float | None:
    if typed in ("now", "just now", "right now", "just", "just finished", "a moment", "moments"):
        return 0.0
    hours = _hours_ago(typed)
    if hours is not None:
        return hours
    when = _read_when(typed, now)
    return None if when is None else _since(now, _resolve(when, now))


# -- showing it back ----------------------------------------------------------------------------


def describe_session_end(hours: float, now: datetime) -> str:
    """The end of the session as understood: 'ended yesterday at about 18:00, 17 hours 30
    minutes ago', in the time zone of ``now``, clock times to 10 minutes."""
    if _five_minutes(hours) == 0:
        return "ended just now"
    start = _rounded(now - timedelta(hours=hours) if now.tzinfo is None else _back(now, hours))
    day = _day_words(start, now)
    when = f"about {_clock(start)} today" if day == "today" else f"{day} at about {_clock(start)}"
    return f"ended {when}, {_how_long(hours)} ago"


def _back(now: datetime, hours: float) -> datetime:
    return (now.astimezone(timezone.utc) - timedelta(hours=hours)).astimezone(now.tzinfo)


def _rounded(moment: datetime) -> datetime:
    """To the nearest 10 minutes: the hours are kept to 0.1 (6 minutes), so a time typed to the
    10 minutes ('18:10', '6pm') is said back as typed."""
    extra = timedelta(minutes=moment.minute % 10, seconds=moment.second)
    extra += timedelta(microseconds=moment.microsecond)
    down = moment - extra
    return down + timedelta(minutes=10) if extra >= timedelta(minutes=5) else down


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def _day_words(moment: datetime, now: datetime) -> str:
    back = (now.date() - moment.date()).days
    if back == 0:
        return "today"
    if back == 1:
        return "yesterday"
    if 1 < back < 7:
        return f"on {moment:%A}"
    return f"on {moment:%A} {moment.day} {moment:%B}"


def _five_minutes(hours: float) -> int:
    """Hours as whole minutes, to the nearest 5."""
    return int(hours * 12 + 0.5) * 5


def _how_long(hours: float) -> str:
    """'30 minutes', '1 hour 30 minutes', '17 hours', and from 48 hours '2 days 2 hours'."""
    minutes = _five_minutes(hours)
    if minutes >= 48 * 60:
        days, rest = divmod(int(hours), 24)
        return _join(_count(days, "day"), _count(rest, "hour"))
    whole_hours, rest = divmod(minutes, 60)
    return _join(_count(whole_hours, "hour"), _count(rest, "minute"))


def _count(number: int, noun: str) -> str:
    return "" if number == 0 else f"{number} {noun}" + ("" if number == 1 else "s")


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def describe_hours(hours: float) -> str:
    """Hours since the session in words, for the answers' summary: 'just now', '30 minutes ago',
    '1 hour 30 minutes ago', '5 hours ago', '50 hours ago (about 2 days)'."""
    minutes = _five_minutes(hours)
    if minutes == 0:
        return "just now"
    whole_hours, rest = divmod(minutes, 60)
    words = f"{_join(_count(whole_hours, 'hour'), _count(rest, 'minute'))} ago"
    return words if hours < 48 else f"{words} (about {int(hours / 24 + 0.5)} days)"


# -- programme week -----------------------------------------------------------------------------

_WEEK_FORMS = "a week number from 1 to 520, or how long you have been on it: 3 weeks, 3 months"
_SPAN_WEEKS = {"day": 1 / 7, "week": 1.0, "fortnight": 2.0, "month": 52 / 12, "year": 52.0}
_SPAN = (
    rf"(?P<qty>{_QUANTITY}) ?(?P<unit>days?|weeks?|wks?|fortnights?|months?|mths?|years?|yrs?)"
    r"(?P<half> and a half)?(?: in| now| on it| so far)?"
)
_STARTED = r"(?:i )?(?:have )?(?:just|only just) (?:started|begun|began)|new|start"


def parse_programme_week(text: str) -> int:
    """The programme week, 1 to 520, from 'week 3', '3', 'third week', 'just started' or how long
    the patient has been on it: '3 weeks' (3), 'a month' (4), '6 months' (26), '1.5 years' (78)."""
    typed = _normalise(text)
    typed = re.sub(
        r"^(?:(?:i am|i'm|it's|it is|this is|we are|we're|on|in|the|my|our) )*", "", typed
    )
    week = _week_from(typed)
    if week is None:
        raise AnswerError(f"type {_WEEK_FORMS}")
    if not 1 <= week <= MAX_WEEK:
        raise AnswerError(f"week {week} is out of range: type {_WEEK_FORMS}")
    return week


def _week_from(typed: str) -> int | None:
    if re.fullmatch(_STARTED, typed):
        return 1
    number = re.fullmatch(r"(?:week|wk)?(?: no| number| #)? ?#?(\d+)(?:st|nd|rd|th)?", typed)
    if number:
        return int(number[1])
    ordinal = re.fullmatch(r"(\w+) week|week (\w+)", typed)
    if ordinal:
        return _ordinal(ordinal[1] or ordinal[2])
    span = re.fullmatch(_SPAN, typed)
    return _span_weeks(span) if span else None


def _ordinal(word: str) -> int | None:
    if word in _ORDINALS:
        return _ORDINALS[word]
    digits = re.fullmatch(r"(\d+)(?:st|nd|rd|th)?", word)
    if digits:
        return int(digits[1])
    number = _NUMBER_WORDS.get(word)
    return int(number) if isinstance(number, int) and word not in ("a", "an") else None


def _span_weeks(span: re.Match[str]) -> int:
    unit = span["unit"].rstrip("s")
    unit = {"wk": "week", "mth": "month", "yr": "year"}.get(unit, unit)
    amount = _quantity(span["qty"]) + (0.5 if span["half"] else 0)
    weeks = amount * _SPAN_WEEKS[unit]
    return max(1, math.ceil(weeks - 1e-9) if unit == "day" else int(weeks + 0.5))
