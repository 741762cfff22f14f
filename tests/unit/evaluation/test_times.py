"""Reading when the session ended and the programme week as patients type them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.errors import AnswerError
from triage.evaluation.times import (
    NeedsTime,
    describe_hours,
    describe_session_end,
    parse_programme_week,
    parse_session_end,
)

TZ = timezone(timedelta(hours=1))
NOW = datetime(2026, 12, 7, 11, 30, tzinfo=TZ)
"""A Monday, late morning, one hour ahead of UTC."""
AFTER_MIDNIGHT = datetime(2026, 12, 8, 0, 20, tzinfo=TZ)
"""The Tuesday just after midnight: last night and yesterday evening are a few hours ago."""

SESSION_ENDS = [
    # a number of hours
    ("3", 3),
    ("1.5", 1.5),
    ("0", 0),
    ("336", 336),
    ("1,5", 1.5),
    # now
    ("just now", 0),
    ("now", 0),
    ("Just now.", 0),
    # how long ago
    ("30 minutes ago", 0.5),
    ("20 mins ago", 0.3),
    ("45 min", 0.8),
    ("90 minutes ago", 1.5),
    ("half an hour ago", 0.5),
    ("a half hour ago", 0.5),
    ("an hour ago", 1),
    ("about an hour ago", 1),
    ("around 2 hours ago", 2),
    ("an hour and a half ago", 1.5),
    ("1.5 hours ago", 1.5),
    ("1h30", 1.5),
    ("1h30m", 1.5),
    ("2 hours 15 minutes ago", 2.2),
    ("2 hours and 30 minutes ago", 2.5),
    ("two hours ago", 2),
    ("two and a half hours ago", 2.5),
    ("a couple of hours ago", 2),
    ("a few hours ago", 3),
    ("3h", 3),
    ("~3 hrs", 3),
    ("Approx. 2 hours ago.", 2),
    ("roughly 4 hours ago", 4),
    ("maybe 5 hours", 5),
    ("a day and a half ago", 36),
    ("2 days ago", 48),
    ("a week ago", 168),
    ("2 weeks ago", 336),
    # today
    ("this morning", 2.5),
    ("THIS   MORNING", 2.5),
    ("at 7 this morning", 4.5),
    ("earlier today at 9", 2.5),
    ("at 7", 4.5),
    ("at 10:15", 1.2),
    ("at 07:30", 4),
    ("9am", 2.5),
    ("9:45 am", 1.8),
    # yesterday
    ("last night", 16.5),
    ("last night at 11", 12.5),
    ("yesterday morning", 26.5),
    ("yesterday afternoon", 21.5),
    ("yesterday evening", 16.5),
    ("yesterday evening at 8", 15.5),
    ("yesterday at 6pm", 17.5),
    ("yesterday at 6 p.m.", 17.5),
    ("yesterday at 18:30", 17),
    ("yesterday, around 6", 17.5),
    ("yesterday at noon", 23.5),
    ("18:30", 17),
    ("18.30", 17),
    ("at 18:30", 17),
    ("6pm", 17.5),
    ("6 pm", 17.5),
    ("around 7pm", 16.5),
    ("7pm-ish", 16.5),
    ("at 11:45", 11.8),
    # earlier days
    ("on Monday at 7", 4.5),
    ("Monday at 7pm", 160.5),
    ("last Monday at 7", 160.5),
    ("Sunday evening", 16.5),
    ("Saturday evening", 40.5),
    ("last Saturday morning", 50.5),
    ("sat at 10am", 49.5),
    ("the day before yesterday at 9", 38.5),
    ("day before yesterday in the morning", 50.5),
    ("2 days ago at 6pm", 41.5),
    ("on Friday at 7:30 pm", 64),
    ("Tuesday at 6", 137.5),
]


@pytest.mark.parametrize(("text", "hours"), SESSION_ENDS)
def test_session_end_as_people_say_it(text: str, hours: float) -> None:
    assert parse_session_end(text, NOW) == hours


def test_the_phrase_table_is_large() -> None:
    assert len(SESSION_ENDS) >= 45


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("last night", 5.3),
        ("yesterday evening", 5.3),
        ("tonight", 5.3),
        ("this evening", 5.3),
        ("Monday evening", 5.3),
        ("at 11pm", 1.3),
        ("at 11", 1.3),
        ("last night at 11", 1.3),
        ("11:30pm", 0.8),
        ("yesterday afternoon at 3", 9.3),
        ("10 minutes ago", 0.2),
        ("at 00:05", 0.2),
    ],
)
def test_just_after_midnight_the_evening_just_gone_is_yesterday(text: str, hours: float) -> None:
    assert parse_session_end(text, AFTER_MIDNIGHT) == hours


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("yesterday", "Yesterday"),
        ("Yesterday.", "Yesterday"),
        ("on Monday", "On Monday"),
        ("on monday", "On Monday"),
        ("Saturday", "Saturday"),
        ("last Saturday", "Last Saturday"),
        ("the day before yesterday", "The day before yesterday"),
        ("earlier today", "Earlier today"),
        ("today", "Today"),
        ("3 days ago at some point", None),
    ],
)
def test_a_day_without_a_time_asks_for_the_time(text: str, day: str | None) -> None:
    if day is None:  # not a day alone: refused as not understood, never a guessed time
        with pytest.raises(AnswerError, match="type a number of hours"):
            parse_session_end(text, NOW)
        return
    with pytest.raises(NeedsTime) as raised:
        parse_session_end(text, NOW)
    message = str(raised.value)
    assert message.startswith(f"{day} at roughly what time?")
    examples = message.partition("For example: ")[2].lower()
    assert examples.startswith(f"{day.lower()} at ")


def test_needs_time_is_an_answer_error_and_the_answer_it_asks_for_is_read() -> None:
    with pytest.raises(AnswerError):
        parse_session_end("yesterday", NOW)
    assert parse_session_end("yesterday at 6pm", NOW) == 17.5
    assert parse_session_end("yesterday evening", NOW) == 16.5


def test_a_part_of_today_begun_but_not_reached_asks_for_the_time() -> None:
    early = NOW.replace(hour=8, minute=0)
    with pytest.raises(NeedsTime, match="This morning at roughly what time"):
        parse_session_end("this morning", early)
    assert parse_session_end("this morning at 7", early) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tomorrow", "type a number of hours"),
        ("-2", "type a number of hours"),
        ("25:00", "type a number of hours"),
        ("13pm", "type a number of hours"),
        ("", "type a number of hours"),
        ("banana", "yesterday at 6pm"),
        ("3 hours 7pm", "type a number of hours"),
        ("this afternoon", "that time is still to come: 14:00 today"),
        ("this evening", "that time is still to come"),
        ("tonight", "that time is still to come"),
        ("337", "only sessions in the last 14 days (336 hours) can be checked"),
        ("3 weeks ago", "last 14 days"),
        ("2 months ago", "last 14 days"),
        ("15 days ago", "last 14 days"),
    ],
)
def test_session_end_refused(text: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_session_end(text, NOW)


def test_refusals_are_not_needs_time() -> None:
    with pytest.raises(AnswerError) as raised:
        parse_session_end("tomorrow", NOW)
    assert not isinstance(raised.value, NeedsTime)


def test_a_naive_now_is_read_as_it_is() -> None:
    assert parse_session_end("yesterday at 6pm", NOW.replace(tzinfo=None)) == 17.5


def test_across_the_change_to_summer_time_hours_are_real_hours() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        london = zoneinfo.ZoneInfo("Europe/London")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone data")
    now = datetime(2026, 3, 29, 12, 0, tzinfo=london)  # clocks went forward at 01:00
    assert parse_session_end("yesterday at 6pm", now) == 17
    assert describe_session_end(17, now) == "ended yesterday at about 18:00, 17 hours ago"


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (0, "ended just now"),
        (1.5, "ended about 10:00 today, 1 hour 30 minutes ago"),
        (1, "ended about 10:30 today, 1 hour ago"),
        (0.3, "ended about 11:10 today, 20 minutes ago"),
        (2.2, "ended about 09:20 today, 2 hours 10 minutes ago"),
        (17.5, "ended yesterday at about 18:00, 17 hours 30 minutes ago"),
        (50.5, "ended on Saturday at about 09:00, 2 days 2 hours ago"),
        (48, "ended on Saturday at about 11:30, 2 days ago"),
        (160.5, "ended on Monday 30 November at about 19:00, 6 days 16 hours ago"),
        (336, "ended on Monday 23 November at about 11:30, 14 days ago"),
    ],
)
def test_describe_session_end(hours: float, words: str) -> None:
    assert describe_session_end(hours, NOW) == words


def test_describe_session_end_uses_the_time_zone_of_now() -> None:
    utc_now = NOW.astimezone(timezone.utc)  # 10:30 UTC
    assert describe_session_end(1.5, utc_now) == "ended about 09:00 today, 1 hour 30 minutes ago"


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (0, "just now"),
        (0.5, "30 minutes ago"),
        (0.1, "5 minutes ago"),
        (1, "1 hour ago"),
        (1.5, "1 hour 30 minutes ago"),
        (2, "2 hours ago"),
        (5, "5 hours ago"),
        (47, "47 hours ago"),
        (48, "48 hours ago (about 2 days)"),
        (50, "50 hours ago (about 2 days)"),
        (50.5, "50 hours 30 minutes ago (about 2 days)"),
        (336, "336 hours ago (about 14 days)"),
    ],
)
def test_describe_hours(hours: float, words: str) -> None:
    assert describe_hours(hours) == words


@pytest.mark.parametrize(
    ("text", "week"),
    [
        ("3", 3),
        ("1", 1),
        ("520", 520),
        ("week 3", 3),
        ("Week 12.", 12),
        ("week two", 2),
        ("I'm in week 5", 5),
        ("3 weeks", 3),
        ("three weeks", 3),
        ("3 weeks in", 3),
        ("third week", 3),
        ("the first week", 1),
        ("2nd week", 2),
        ("3rd", 3),
        ("just started", 1),
        ("a fortnight", 2),
        ("10 days", 2),
        ("3 months", 13),
        ("about 3 months", 13),
        ("a month", 4),
        ("6 months", 26),
        ("18 months", 78),
        ("a year", 52),
        ("1.5 years", 78),
        ("a year and a half", 78),
        ("10 years", 520),
    ],
)
def test_programme_week(text: str, week: int) -> None:
    assert parse_programme_week(text) == week


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "week 0 is out of range"),
        ("week 0", "out of range"),
        ("521", "week 521 is out of range"),
        ("11 years", "out of range"),
        ("banana", "a week number from 1 to 520, or how long you have been on it: 3 weeks"),
        ("", "3 months"),
        ("week", "a week number"),
        ("-3", "a week number"),
    ],
)
def test_programme_week_refused(text: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_programme_week(text)


@given(st.integers(min_value=0, max_value=336 * 60))
def test_any_number_of_minutes_ago_is_read_and_shown_back(minutes: int) -> None:
    hours = parse_session_end(f"{minutes} minutes ago", NOW)
    assert abs(hours - minutes / 60) <= 0.05 + 1e-9  # 61.95 rounds to 61.9 in binary
    assert describe_session_end(hours, NOW).startswith("ended ")
    assert describe_hours(hours)


@pytest.mark.parametrize("typed", ["18:10", "18:00", "6pm", "17:30", "09:40"])
@pytest.mark.parametrize("minute", range(0, 60, 7))
def test_a_time_typed_to_the_ten_minutes_is_said_back_as_typed(typed: str, minute: int) -> None:
    """The hours are kept to 0.1 (6 minutes): the time said back must still be the one typed,
    whatever the minute of now."""
    now = NOW.replace(minute=minute) + timedelta(days=1)
    hours = parse_session_end(f"yesterday at {typed}", now)
    clock = {"6pm": "18:00"}.get(typed, typed)
    assert describe_session_end(hours, now).startswith(f"ended yesterday at about {clock},")
