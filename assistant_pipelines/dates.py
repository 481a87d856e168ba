"""Turn a deadline as people say it into a date, relative to when it was said.

"Friday", "next Tuesday", "tomorrow", "end of week", "end of month", "by the 14th",
"next week", "in two weeks", "before the next meeting", "Oct 14", "2026-10-14". Anything not
understood stays as text with no date: a wrong date is worse than none.

Conventions (``said_on`` is the document's local date; weeks run Monday to Sunday):

- A weekday alone ("Friday", "this Friday", "coming Friday") is its next occurrence strictly
  after ``said_on``: "Friday" said on a Friday is a week later (the same day would be "today").
- "next Friday", "Friday next week", "next week Friday" are the Friday of the week after the
  one ``said_on`` falls in: said on a Monday that is 11 days ahead, said on a Sunday, 5.
- "end of week", "this week", "EOW", "later this week" are the Friday of the working week;
  said on a Saturday or Sunday, the coming Friday (never a date already past).
- "next week", "end of next week", "sometime next week" are the Friday of next week;
  "early next week" its Tuesday, "mid next week" its Wednesday.
- "end of month" is the month's last day; "next month" the last day of next month;
  "end of October" the last day of the next October not yet over.
- "by the 14th" (needs "the" or an ordinal suffix) is the 14th of this month if that is today
  or later, else of next month, clamped to the month's last day. A bare number ("by 5",
  "at 10") is a clock time, not a day: no date.
- "in N days / weeks / months", "in a couple of weeks", "in a fortnight" count from ``said_on``.
- "before the next meeting" is a week later (teams here meet weekly).
- A time of day ("at 5pm", "EOD Friday", "Monday morning") is dropped: the date stays.
- Month-and-day dates ("Oct 14", "14 October") are their next occurrence; ISO dates are taken
  as written, and an ISO-shaped string that is no date ("2026-13-01") gives none.
- Explicit past dates ("yesterday", a past ISO date) are returned as such: callers decide
  (extraction quarantines a due date before the document's date).
- Never a date more than :data:`MAX_DAYS_AWAY` days from ``said_on``, in either direction.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

MAX_DAYS_AWAY = 400

_WEEKDAYS = {name: i for i, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_WEEKDAYS.update({"mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3,
                  "thurs": 3, "fri": 4, "sat": 5, "sun": 6})
_MONTHS = {name: i + 1 for i, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"])}
_MONTHS.update({"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
                "sept": 9, "oct": 10, "nov": 11, "dec": 12})
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "a": 1, "an": 1, "a couple of": 2, "couple of": 2}
_FILLER = re.compile(
    r"^(?:(?:by|before|until|till|til|due|on|at|no later than|latest|the|sometime|some time)\s+)+")
_ORDINAL_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)(?:\s+of\s+(?:the|this)\s+month)?$")
# Times of day carry no date: "Friday at 5pm", "EOD Friday", "tomorrow morning".
_TIME_OF_DAY = re.compile(
    r"(?:^|\s)(?:at\s+)?(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}|noon|midday|midnight"
    r"|eod|cob|end of (?:the )?day|close of business|first thing(?: in the morning)?"
    r"|(?:in the )?(?:morning|afternoon|evening|lunch(?:time)?))(?=\s|$)")
_WEEKDAY_PHRASE = re.compile(
    r"(?:(?P<which>this|next|coming|following) )?(?P<day>[a-z]+)(?: (?:of )?(?P<week>this|next) week)?"
    r"|(?P<week2>this|next) week (?P<day2>[a-z]+)")
_MONTH_NAME = re.compile(r"\b(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b")
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[/.]\d{1,2}(?:[/.]\d{2,4})?\b")
_ISO_SHAPE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")


def resolve_due_date(text: str | None, said_on: date) -> date | None:
    """The date meant by ``text`` when said on ``said_on`` (the document's local date), or None
    when the text names no date this module understands (see the module docstring)."""
    if not text:
        return None
    phrase = " ".join(text.lower().replace(",", " ").split()).rstrip(".!?")
    # "by the 5" is a day of the month, "by 5" a clock time: keep that "the" before fillers go.
    phrase = re.sub(r"\bthe (\d{1,2})$", r"\1th", phrase)
    phrase = _FILLER.sub("", phrase).strip()
    if not phrase:
        return None
    without_time = _FILLER.sub("", _TIME_OF_DAY.sub(" ", phrase)).strip()
    for candidate in dict.fromkeys([phrase, " ".join(without_time.split())]):
        if not candidate:
            continue
        for rule in _RULES:
            found = rule(candidate, said_on)
            if found is _NO_DATE:
                return None
            if found is not None:
                return found if abs((found - said_on).days) <= MAX_DAYS_AWAY else None
    return None


# A rule returns a date, None (not mine: try the next rule) or _NO_DATE (mine, and no date).
_NO_DATE = date.min


def _iso(phrase: str, said_on: date) -> date | None:
    match = _ISO_SHAPE.search(phrase)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return _NO_DATE  # ISO-shaped but no real date: don't let a fuzzy parser guess


def _relative_words(phrase: str, said_on: date) -> date | None:
    monday = said_on - timedelta(days=said_on.weekday())
    friday = monday + timedelta(days=4)
    if said_on > friday:  # said at the weekend: the working week meant is the coming one
        friday += timedelta(days=7)
    next_monday = monday + timedelta(days=7)
    table = {
        "today": said_on, "tonight": said_on, "this morning": said_on,
        "this afternoon": said_on, "this evening": said_on, "eod": said_on, "end of day": said_on,
        "end of the day": said_on, "close of business": said_on, "cob": said_on,
        "yesterday": said_on - timedelta(days=1),
        "tomorrow": said_on + timedelta(days=1),
        "day after tomorrow": said_on + timedelta(days=2),
        "the day after tomorrow": said_on + timedelta(days=2),
        "end of week": friday, "end of the week": friday, "eow": friday, "this week": friday,
        "later this week": friday, "end of this week": friday,
        "next week": next_monday + timedelta(days=4),
        "end of next week": next_monday + timedelta(days=4),
        "the end of next week": next_monday + timedelta(days=4),
        "early next week": next_monday + timedelta(days=1),
        "mid next week": next_monday + timedelta(days=2),
        "middle of next week": next_monday + timedelta(days=2),
        "end of month": _month_end(said_on), "end of the month": _month_end(said_on),
        "end of this month": _month_end(said_on),
        "eom": _month_end(said_on), "this month": _month_end(said_on),
        "next month": _month_end(_month_end(said_on) + timedelta(days=1)),
        "end of next month": _month_end(_month_end(said_on) + timedelta(days=1)),
        # Teams here meet weekly: "the next meeting" is a week after this one.
        "next meeting": said_on + timedelta(days=7), "the next meeting": said_on + timedelta(days=7),
        "our next meeting": said_on + timedelta(days=7),
        "next standup": said_on + timedelta(days=1), "the next standup": said_on + timedelta(days=1),
    }
    if phrase in table:
        return table[phrase]
    numbers = "|".join(re.escape(w) for w in sorted(_NUMBER_WORDS, key=len, reverse=True))
    match = re.fullmatch(rf"(?:with)?in (\d+|{numbers}) (min|minute|hour|day|week|month)s?(?: time)?",
                         phrase)
    if match:
        count = int(match[1]) if match[1].isdigit() else _NUMBER_WORDS[match[1]]
        if match[2] in {"min", "minute", "hour"}:
            return said_on  # a date, not a time: "in two hours" is due the day it was said
        if match[2] == "day":
            return said_on + timedelta(days=count)
        if match[2] == "week":
            return said_on + timedelta(weeks=count)
        return _add_months(said_on, count)
    match = re.fullmatch(r"(?:the )?end of ([a-z]+)", phrase)
    if match and match[1] in _MONTHS:
        month = _MONTHS[match[1]]
        year = said_on.year if month >= said_on.month else said_on.year + 1
        return _month_end(date(year, month, 1))
    return None


def _weekday(phrase: str, said_on: date) -> date | None:
    match = _WEEKDAY_PHRASE.fullmatch(phrase)
    if not match:
        return None
    target = _WEEKDAYS.get(match["day"] or match["day2"] or "")
    if target is None:
        return None
    if match["which"] in {"next", "following"} or "next" in {match["week"], match["week2"]}:
        next_monday = said_on + timedelta(days=7 - said_on.weekday())
        return next_monday + timedelta(days=target)
    ahead = (target - said_on.weekday()) % 7 or 7  # "Friday" said on a Friday: the next one
    return said_on + timedelta(days=ahead)


def _ordinal_day(phrase: str, said_on: date) -> date | None:
    match = _ORDINAL_DAY.match(phrase)
    if not match:
        return None
    day = int(match[1])
    if not 1 <= day <= 31:
        return _NO_DATE
    year, month = said_on.year, said_on.month
    if day < said_on.day:  # "by the 3rd" said on the 20th is next month's 3rd
        month += 1
        if month == 13:
            year, month = year + 1, 1
    day = min(day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _parsed(phrase: str, said_on: date) -> date | None:
    # dateparser reads almost anything as a date ("12" → the 12th, "next year" → a year from
    # now): only hand it phrases that name a month or are written as a numeric date.
    if not (_MONTH_NAME.search(phrase) or _NUMERIC_DATE.search(phrase)
            or re.search(r"\b(?:fortnight|days?|weeks?)\b", phrase)):
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
    named = [day for word, day in _WEEKDAYS.items() if re.search(rf"\b{word}\b", phrase)]
    if named and result.weekday() not in named:
        return _NO_DATE  # "Friday 14th" when the 14th is a Wednesday: which one? Neither.
    return result


_RULES: tuple[Callable[[str, date], date | None], ...] = (
    _iso, _relative_words, _weekday, _ordinal_day, _parsed)


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# -- a date and nothing else ------------------------------------------------------------------
_DATE_PART = re.compile(
    r"(?i)^(?:" + "|".join(sorted({*_WEEKDAYS, *_MONTHS}, key=len, reverse=True))
    + r"|\d{1,4}(?:st|nd|rd|th)?|\d{1,2}[:.]\d{2}(?:am|pm)?|\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?|am|pm|noon"
    r"|today|tomorrow|utc|gmt|cet|cest|[ecmp][sd]t)$")
_DATE_GLUE = frozenset({"at", "on", "the", "of", "by", "from", "to", "until", "-", "–"})


def only_a_date(text: str) -> bool:
    """Whether ``text`` is a date or time and nothing else ("Wednesday 28 October",
    "Tue 27 Oct, 14:00 CET", "2026-10-16"): what a schedule lists against a milestone."""
    words = [w.strip(".") for w in re.findall(r"[\w:/.–-]+", text.replace(",", " ")) if w.strip(".")]
    dated = [w for w in words if w.lower() not in _DATE_GLUE]
    return bool(dated) and all(_DATE_PART.match(w) for w in dated)


# -- is a deadline said in the source? ------------------------------------------------------
# Words that carry no deadline of their own: "by Friday" and "Friday", "the 14th" and "14th",
# "this Friday" and "Friday" are one deadline.
_DEADLINE_FILLER = frozenset({
    "by", "before", "until", "till", "til", "due", "on", "at", "the", "no", "later", "than", "latest",
    "sometime", "some", "time", "of", "in", "within", "a", "an", "to", "for", "this", "coming", "as"})
_ABBREVIATION = {"eod": "end day", "eow": "end week", "eom": "end month", "cob": "close business",
                 "asap": "soon possible", "tmrw": "tomorrow", "tmr": "tomorrow", "tomorow": "tomorrow"}


def _full_names(table: dict[str, int]) -> dict[str, str]:
    full: dict[int, str] = {}
    for name, number in table.items():  # the full names come first in each table
        full.setdefault(number, name)
    return {name: full[number] for name, number in table.items()}


_FULL_NAME = {**_full_names(_WEEKDAYS), **_full_names(_MONTHS)}
_PLURAL_UNITS = frozenset({"minutes", "hours", "days", "weeks", "months", "years", "mins", "hrs"})
_DIGIT_WORDS = {w: str(n) for w, n in _NUMBER_WORDS.items() if " " not in w and w not in {"a", "an"}}
# A word, or a date written with digits kept whole: "2026-10-14", "4/8", "14.10.2026".
_DEADLINE_TOKEN = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,4}[/.]\d{1,2}(?:[/.]\d{2,4})?|[^\W_]+")
# Words a deadline phrase can hang on: a phrase of the source is tried as a date only if it
# holds one of them. Of numbers, only a day of the month ("14", "14th") or a date ("4/8",
# "2026-10-14"): an e-mail of figures would otherwise mean thousands of phrases to try.
_DATE_ANCHOR = re.compile(
    r"^(?:(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?|\d{4}-\d{1,2}-\d{1,2}|\d{1,4}[/.]\d{1,2}(?:[/.]\d{2,4})?|"
    + "|".join(sorted({*_WEEKDAYS, *_MONTHS}, key=len, reverse=True))
    + r"|today|tonight|tomorrow|yesterday|weeks?|months?|days?|fortnight|eod|eow|eom|cob|meeting|standup)$")
# At most this many phrases of one source are tried as dates (each may go through dateparser).
MAX_DATE_PHRASES = 200


def _deadline_words(text: str) -> list[str]:
    words = []
    for token in _DEADLINE_TOKEN.findall(text.lower()):
        for word in _ABBREVIATION.get(token, token).split():
            word = re.sub(r"^(\d{1,2})(?:st|nd|rd|th)$", r"\1", word)  # "14th" is "14"
            word = _DIGIT_WORDS.get(word, word)
            if word in _FULL_NAME:  # "Thu" is "Thursday", "Oct" is "October"
                word = _FULL_NAME[word]
            elif word in _PLURAL_UNITS:
                word = word[:-1]  # "two weeks" and "2 week"
            words.append(word)
    return words


def deadline_said(due: str, source: str, said_on: date) -> bool:
    """Whether the deadline ``due`` (as a model wrote it) is said in ``source`` (the lines it
    was taken from): every word of it that names a time is there ("by the end of the month"
    says "end of month", "in two weeks" says "2 weeks"), or a phrase of ``source`` means the
    same date ("by Friday" says "end of the week"; "Oct 14" says "2026-10-14"). Told "do not
    invent dates", the 1.5B model gave a due to all 142 of its items on the AMI meetings, and
    125 of them ("next week" 95 times, "Friday" 20) are said nowhere near the item; an invented
    date makes an item overdue in every report that follows. A deadline the model translated
    ("Friday" for "Freitag") is not said: the prompt asks for it as it is said. At most
    :data:`MAX_DATE_PHRASES` phrases are tried as dates."""
    wanted = {w for w in _deadline_words(due) if w not in _DEADLINE_FILLER}
    if not wanted:
        return False
    said = _deadline_words(source)
    if wanted <= set(said):
        return True
    meant = resolve_due_date(due, said_on)
    if meant is None:
        return False
    plain = _DEADLINE_TOKEN.findall(source.lower())
    tried: set[str] = set()
    for i, word in enumerate(plain):
        if not _DATE_ANCHOR.match(word):
            continue
        for start in range(max(0, i - 3), i + 1):
            for end in range(i + 1, min(len(plain), start + 5) + 1):
                phrase = " ".join(plain[start:end])
                if phrase in tried:
                    continue
                if len(tried) >= MAX_DATE_PHRASES:
                    return False  # the words did not match and the source is mostly dates: not said
                tried.add(phrase)
                if resolve_due_date(phrase, said_on) == meant:
                    return True
    return False
