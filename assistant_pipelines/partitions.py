"""The team's weeks: Monday-start weekly partitions in ``ASSISTANT_TIMEZONE``.

Built from settings by ``definitions.py`` (never at import time), so a team can move its first
week back to backfill history, and tests can use their own.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg
from dagster import AssetExecutionContext

DEFAULT_FIRST_WEEK = "2025-01-06"  # a Monday; set ASSISTANT_FIRST_WEEK for older history


def monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_partitions(first_week: str | None, timezone: str) -> dg.WeeklyPartitionsDefinition:
    """Weeks from Monday 00:00 to Monday 00:00 local time (``day_offset=1``: Dagster's weeks
    otherwise start on Sunday). ``end_offset=1`` includes the week in progress, so this week's
    report can be drafted before it ends."""
    start = monday_on_or_before(date.fromisoformat(first_week or DEFAULT_FIRST_WEEK))
    return dg.WeeklyPartitionsDefinition(
        start_date=start.isoformat(), timezone=timezone, day_offset=1, end_offset=1
    )


def week_window(context: AssetExecutionContext) -> tuple[date, datetime, datetime]:
    """(Monday, start, end) of the partition being materialized, times aware in the team's zone."""
    window = context.partition_time_window
    return window.start.date(), window.start, window.end
