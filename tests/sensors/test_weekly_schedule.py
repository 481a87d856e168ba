"""``weekly_report_schedule`` through ``build_schedule_context``: Monday 07:00 in the team's
time zone asks for last week's partition (Monday to Sunday)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from assistant_pipelines.partitions import weekly_partitions
from assistant_pipelines.sensors.schedules import (
    WEEKLY_CRON,
    build_weekly_schedule,
    previous_week_key,
)

BERLIN = "Europe/Berlin"


@pytest.fixture(scope="module")
def weeks() -> dg.WeeklyPartitionsDefinition:
    return weekly_partitions("2026-01-05", BERLIN)


@pytest.fixture(scope="module")
def schedule(weeks: dg.WeeklyPartitionsDefinition) -> dg.ScheduleDefinition:
    @dg.asset(partitions_def=weeks)
    def weekly_thing() -> None: ...

    job = dg.define_asset_job("weekly_job", selection=[weekly_thing])
    return build_weekly_schedule(job, BERLIN)


def run_request(schedule: dg.ScheduleDefinition, tick: datetime) -> dg.RunRequest:
    return schedule(dg.build_schedule_context(scheduled_execution_time=tick))


def test_schedule_runs_on_monday_mornings_in_the_team_time_zone(schedule: dg.ScheduleDefinition) -> None:
    assert schedule.cron_schedule == WEEKLY_CRON == "0 7 * * 1"
    assert schedule.execution_timezone == BERLIN
    assert schedule.job_name == "weekly_job"


@pytest.mark.parametrize(
    ("tick", "key"),
    [
        (datetime(2026, 10, 12, 7, tzinfo=ZoneInfo(BERLIN)), "2026-10-05"),
        (datetime(2026, 10, 12, 5, tzinfo=UTC), "2026-10-05"),  # the same instant, given in UTC
        (datetime(2026, 3, 30, 7, tzinfo=ZoneInfo(BERLIN)), "2026-03-23"),  # the week with the DST change
        (datetime(2026, 11, 2, 7, tzinfo=ZoneInfo(BERLIN)), "2026-10-26"),  # the week back to CET
        (datetime(2027, 1, 4, 7, tzinfo=ZoneInfo(BERLIN)), "2026-12-28"),  # across the year's end
    ],
)
def test_a_monday_tick_requests_the_previous_week(schedule, weeks, tick: datetime, key: str) -> None:
    request = run_request(schedule, tick)
    assert request.partition_key == key
    assert request.run_key == f"weekly:{key}"
    assert key in weeks.get_partition_keys(current_time=tick)
    window = weeks.time_window_for_partition_key(key)
    assert window.end.astimezone(ZoneInfo(BERLIN)).date() == tick.astimezone(ZoneInfo(BERLIN)).date()
    assert (window.end - window.start).days == 7


def test_a_utc_instant_on_sunday_evening_is_already_monday_in_berlin() -> None:
    sunday_utc = datetime(2026, 10, 11, 22, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    assert previous_week_key(sunday_utc, BERLIN) == "2026-10-05"
    assert previous_week_key(sunday_utc, "UTC") == "2026-09-28"  # still Sunday in UTC


def test_a_late_tick_still_asks_for_the_last_full_week(schedule) -> None:
    wednesday = datetime(2026, 10, 14, 7, tzinfo=ZoneInfo(BERLIN))  # e.g. a catch-up tick
    assert run_request(schedule, wednesday).partition_key == "2026-10-05"
