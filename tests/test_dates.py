"""Deadlines as people say them → dates, relative to the day they were said (the conventions
are in ``assistant_pipelines/dates.py``'s docstring)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_pipelines.dates import MAX_DAYS_AWAY, deadline_said, only_a_date, resolve_due_date

# The week of Monday 5 to Sunday 11 October 2026.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 10, 5) + timedelta(days=i) for i in range(7))


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


@pytest.mark.parametrize(
    ("said_on", "expected"),
    [(MON, d(10, 9)), (TUE, d(10, 9)), (WED, d(10, 9)), (THU, d(10, 9)),
     (FRI, d(10, 16)),  # "Friday" said on a Friday is next week's: the same day would be "today"
     (SAT, d(10, 16)), (SUN, d(10, 16))],
)
@pytest.mark.parametrize("text", ["Friday", "friday", "by Friday", "this Friday", "Fri", "by Friday.",
                                  "Friday at 5pm", "EOD Friday", "by end of day Friday", "Friday morning"])
def test_a_weekday_is_its_next_occurrence(text: str, said_on: date, expected: date) -> None:
    assert resolve_due_date(text, said_on) == expected


@pytest.mark.parametrize(
    ("said_on", "expected"),
    # "next Tuesday" is the Tuesday of the week after the one it was said in.
    [(MON, d(10, 13)), (TUE, d(10, 13)), (WED, d(10, 13)), (FRI, d(10, 13)), (SUN, d(10, 13))],
)
@pytest.mark.parametrize("text", ["next Tuesday", "Tuesday next week", "next week Tuesday", "by next Tue"])
def test_next_weekday_is_in_the_following_week(text: str, said_on: date, expected: date) -> None:
    assert resolve_due_date(text, said_on) == expected


def test_next_friday_said_on_monday_and_on_friday() -> None:
    assert resolve_due_date("next Friday", MON) == d(10, 16)
    assert resolve_due_date("next Friday", FRI) == d(10, 16)
    assert resolve_due_date("next Monday", SUN) == d(10, 12)


@pytest.mark.parametrize(
    ("text", "said_on", "expected"),
    [
        ("tomorrow", WED, d(10, 8)),
        ("tomorrow morning", WED, d(10, 8)),
        ("by tomorrow EOD", SUN, d(10, 12)),
        ("today", WED, WED),
        ("EOD", WED, WED),
        ("in two hours", WED, WED),
        ("day after tomorrow", WED, d(10, 9)),
        ("end of week", MON, d(10, 9)),
        ("by the end of the week", THU, d(10, 9)),
        ("EOW", FRI, d(10, 9)),
        # Said at the weekend, "end of week" is the coming Friday, never one already past.
        ("end of week", SAT, d(10, 16)),
        ("this week", SUN, d(10, 16)),
        ("next week", MON, d(10, 16)),
        ("next week", SUN, d(10, 16)),
        ("sometime next week", WED, d(10, 16)),
        ("early next week", WED, d(10, 13)),
        ("by end of next week", WED, d(10, 16)),
        ("end of month", WED, d(10, 31)),
        ("by the end of the month", d(2, 10, 2028), d(2, 29, 2028)),
        ("end of month", d(10, 31), d(10, 31)),
        ("next month", WED, d(11, 30)),
        ("end of October", WED, d(10, 31)),
        ("end of March", WED, d(3, 31, 2027)),
        ("in two weeks", WED, d(10, 21)),
        ("in 2 weeks", WED, d(10, 21)),
        ("in a couple of weeks", WED, d(10, 21)),
        ("within a week", WED, d(10, 14)),
        ("in 3 days", WED, d(10, 10)),
        ("in a month", d(1, 31, 2027), d(2, 28, 2027)),
        ("in a fortnight", WED, d(10, 21)),
        ("before the next meeting", WED, d(10, 14)),
        ("by the next meeting", MON, d(10, 12)),
        ("2026-10-14", WED, d(10, 14)),
        ("due 2026-10-14", WED, d(10, 14)),
        ("Oct 14", WED, d(10, 14)),
        ("by October 14th", WED, d(10, 14)),
        ("14 October", WED, d(10, 14)),
        ("Friday, Oct 9", WED, d(10, 9)),
        ("Jan 5", WED, d(1, 5, 2027)),  # the next 5 January, not the one already past
        ("Dec 25", WED, d(12, 25)),
        ("yesterday", WED, d(10, 6)),  # explicit past dates are kept: extraction quarantines them
    ],
)
def test_phrases(text: str, said_on: date, expected: date) -> None:
    assert resolve_due_date(text, said_on) == expected


@pytest.mark.parametrize(
    ("text", "said_on", "expected"),
    [
        ("by the 14th", WED, d(10, 14)),  # later this month
        ("the 14th", d(10, 14), d(10, 14)),  # today counts
        ("by the 3rd", WED, d(11, 3)),  # already past this month: next month's
        ("on the 9th", WED, d(10, 9)),
        ("the 21st of the month", WED, d(10, 21)),
        ("by the 5", WED, d(11, 5)),
        ("by the 3rd", d(12, 20), d(1, 3, 2027)),  # over the year's end
        ("by the 31st", d(11, 5), d(11, 30)),  # a day the month lacks: its last day
    ],
)
def test_day_of_month(text: str, said_on: date, expected: date) -> None:
    assert resolve_due_date(text, said_on) == expected


@pytest.mark.parametrize(
    "text",
    [
        None, "", "   ", "asap", "soon", "TBD", "n/a", "-", "?", "later", "blah blah",
        "when the design is ready", "after the launch", "next sprint", "Q3", "next quarter",
        "next year", "in 10 years", "March", "may",
        "by 5", "at 10", "12", "3pm", "2030",  # bare numbers are clock times or years, not days
        "the 32nd", "2026-13-01", "2026-02-30",  # no such day: not re-read as something else
        "Friday 14th",  # the 14th is a Wednesday: contradictory, so neither
        "3000-01-01", "1999-12-31", "in 500 days",
    ],
)
def test_nonsense_and_unknowable_give_no_date(text: str | None) -> None:
    assert resolve_due_date(text, WED) is None


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=30),
        st.from_regex(r"(by |before |due |in |next |the )?(\d{1,4}|[a-z]{2,9})( \d{1,4}| [a-z]{2,9}){0,2}",
                      fullmatch=True),
        st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)).map(date.isoformat),
    ),
    said_on=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
)
def test_never_a_date_more_than_400_days_away_and_never_a_crash(text: str, said_on: date) -> None:
    found = resolve_due_date(text, said_on)
    assert found is None or abs((found - said_on).days) <= MAX_DAYS_AWAY


# -- deadline_said ------------------------------------------------------------------------------
@pytest.mark.parametrize(("due", "source"), [
    ("Friday", "Marcus: Sure, I'll fix it by Friday."),
    ("by Friday", "Marcus: Friday works."),
    ("this Friday", "Marcus: by Friday"),
    ("Thursday", "Send it by Thu please"),
    ("Oct 14", "due on the 14th of October"),
    ("end of month", "by the end of the month"),
    ("EOD", "before end of day"),
    ("2 weeks", "in two weeks' time"),
    ("early next week", "I'll have it early next week."),
    ("when legal signs off", "once more: when legal signs off, we ship"),
    ("before this release", "I'll do it before the release."),  # an event: no date to compare
    ("tomorrow", "Tomorrow morning, first thing."),
    # not the same words, the same date (said on Wednesday 2026-10-07)
    ("end of the week", "I'll do it by Friday."),
    ("2026-10-14", "Deadline: Oct 14."),
    ("2026-10-13 13:00", "The slot is Tuesday 10/13 1-2:30pm."),  # a numeric date stays whole
    ("next Friday", "Friday next week, then."),
])
def test_a_deadline_said_in_its_own_or_other_words_is_said(due: str, source: str) -> None:
    assert deadline_said(due, source, WED)


@pytest.mark.parametrize(("due", "source"), [
    ("next week", "I'll look at the finance."),  # the small model's favourite, said nowhere
    ("Friday", "ID: I'll work on the working design."),
    ("next Friday", "by this Friday"),  # another Friday
    ("next week", "before the next meeting"),  # a week from today, not next week's Friday
    ("2004-10-11 10:00", "Project Manager: we'll discuss the look-and-feel design."),
    ("by the", "by the way, I'll do it"),  # no deadline in it at all
    ("Friday", "Ich schicke es bis Freitag."),  # translated: the prompt asks for it as said
    ("", "by Friday"),
])
def test_a_deadline_the_source_does_not_say_is_not_said(due: str, source: str) -> None:
    assert not deadline_said(due, source, WED)


def test_a_deadline_in_another_language_said_as_written_is_said() -> None:
    # the module resolves English only; a due copied from the source is still kept as text
    assert deadline_said("bis Freitag", "Priya Nair: Ich schicke die Präsentation bis Freitag an Zoë.", WED)
    assert resolve_due_date("bis Freitag", WED) is None


def test_a_source_full_of_dates_is_read_only_so_far() -> None:
    """Each phrase tried as a date may go through dateparser; an e-mail of figures and dates
    would take seconds per item. Past ``MAX_DATE_PHRASES`` phrases the due counts as not said
    (the words of a due said as it is written are still found, at any length)."""
    filler = " ".join(f"item {n} shipped on the {n % 28 + 1}th, lot {n % 12 + 1}/{n % 28 + 1}." for n in range(400))
    assert deadline_said("2026-10-14", "Deadline: Oct 14. " + filler, WED)
    assert not deadline_said("2026-10-14", filler + " Deadline: Oct 14.", WED)
    assert deadline_said("Oct 14", filler + " Deadline: Oct 14.", WED)  # the same words: found anyway


@pytest.mark.parametrize(("text", "expected"), [
    ("Wednesday 28 October", True), ("Tue 27 Oct, 14:00 CET", True), ("2026-10-16", True),
    ("on the 14th", True), ("9:30am", True),
    ("Zoë, Wednesday", False), ("Friday, if the backup window allows", False), ("the", False), ("", False),
])
def test_only_a_date(text: str, expected: bool) -> None:
    assert only_a_date(text) is expected
