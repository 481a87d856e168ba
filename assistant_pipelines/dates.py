"""Turn a deadline as people say it into a date, relative to when it was said.

"Friday", "next Tuesday", "tomorrow", "end of week", "end of month", "by the 14th",
"next week", "in two weeks", "before the next meeting", "Oct 14", "2026-10-14". Anything not
understood stays as text with no date: a wrong date is worse than none.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

_WEEKDAYS = {name: i for i, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_WEEKDAYS.update({"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
                  "fri": 4, "sat": 5, "sun": 6})
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "a": 1, "couple of": 2}
_FILLER = re.compile(
    r"^(?:(?:by|before|until|till|due|on|at|no later than|latest|the)\s+)+", re.IGNORECASE)
_ORDINAL_DAY = re.compile(r"^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?:\s+of\s+(?:the|this)\s+month)?$")


def resolve_due_date(text: str | None, said_on: date) -> date | None:
    """The date meant by ``text`` when said on ``said_on`` (the document's local date)."""
    if not text:
        return None
    phrase = " ".join(text.lower().replace(",", " ").split()).rstrip(".!")
    phrase = _FILLER.sub("", phrase).strip()
    if not phrase:
        return None
    for rule in (_iso, _relative_words, _weekday, _ordinal_day, _parsed):
        found = rule(phrase, said_on)
        if found is not None:
            return found
    return None


def _iso(phrase: str, said_on: date) -> date | None:
    match = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", phrase)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _relative_words(phrase: str, said_on: date) -> date | None:
    monday = said_on - timedelta(days=said_on.weekday())
    table = {
        "today": said_on, "tonight": said_on, "eod": said_on, "end of day": said_on,
        "end of the day": said_on, "close of business": said_on, "cob": said_on,
        "tomorrow": said_on + timedelta(days=1),
        "day after tomorrow": said_on + timedelta(days=2),
        "end of week": monday + timedelta(days=4), "end of the week": monday + timedelta(days=4),
        "eow": monday + timedelta(days=4), "this week": monday + timedelta(days=4),
        "next week": monday + timedelta(days=11), "end of next week": monday + timedelta(days=11),
        "early next week": monday + timedelta(days=8),
        "end of month": _month_end(said_on), "end of the month": _month_end(said_on),
        "eom": _month_end(said_on), "this month": _month_end(said_on),
        "next month": _month_end(_month_end(said_on) + timedelta(days=1)),
        # Teams here meet weekly: "the next meeting" is a week after this one.
        "next meeting": said_on + timedelta(days=7), "the next meeting": said_on + timedelta(days=7),
        "next standup": said_on + timedelta(days=1), "the next standup": said_on + timedelta(days=1),
    }
    if phrase in table:
        return table[phrase]
    match = re.fullmatch(r"in (\d+|one|two|three|four|a|couple of) (day|week|month)s?", phrase)
    if match:
        count = int(match[1]) if match[1].isdigit() else _NUMBER_WORDS[match[1]]
        if match[2] == "day":
            return said_on + timedelta(days=count)
        if match[2] == "week":
            return said_on + timedelta(weeks=count)
        return _add_months(said_on, count)
    return None


def _weekday(phrase: str, said_on: date) -> date | None:
    match = re.fullmatch(r"(this |next |coming )?([a-z]+)( morning| afternoon| evening| eod)?", phrase)
    if not match:
        return None
    target = _WEEKDAYS.get(match[2])
    if target is None:
        return None
    ahead = (target - said_on.weekday()) % 7
    if ahead == 0:
        ahead = 7  # "Friday" said on a Friday means the next one
    if match[1] == "next " and ahead < 7 and said_on.weekday() < target:
        # "next Friday" said early in a week is read as the Friday of next week.
        ahead += 7
    return said_on + timedelta(days=ahead)


def _ordinal_day(phrase: str, said_on: date) -> date | None:
    match = _ORDINAL_DAY.match(phrase)
    if not match:
        return None
    day = int(match[1])
    if not 1 <= day <= 31:
        return None
    year, month = said_on.year, said_on.month
    if day < said_on.day:  # "by the 3rd" said on the 20th is next month's 3rd
        month += 1
        if month == 13:
            year, month = year + 1, 1
    day = min(day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _parsed(phrase: str, said_on: date) -> date | None:
    if not re.search(r"[a-z]{3}|\d", phrase):
        return None
    import dateparser

    base = datetime(said_on.year, said_on.month, said_on.day, 12, 0)
    found = dateparser.parse(
        phrase,
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future",
                  "REQUIRE_PARTS": ["day"], "STRICT_PARSING": False},
    )
    if found is None:
        return None
    result = found.date()
    # Guard against dateparser reading a stray number as a year or a far date.
    if abs((result - said_on).days) > 400:
        return None
    return result


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
