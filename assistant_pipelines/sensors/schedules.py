"""``weekly_report_schedule``: every Monday morning, process the week that just ended."""


from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import ScheduleEvaluationContext

WEEKLY_CRON = "0 7 * * 1"  # Mondays 07:00 in the team's time zone


def previous_week_key(tick: datetime, timezone: str) -> str:
    """The partition key (its Monday, ``YYYY-MM-DD``) of the last full Monday-to-Sunday week
    before ``tick``, judged in the team's time zone (a naive tick is taken as local time)."""
    local = tick.astimezone(ZoneInfo(timezone)) if tick.tzinfo else tick
    this_monday = local.date() - timedelta(days=local.weekday())
    return (this_monday - timedelta(days=7)).isoformat()


def build_weekly_schedule(weekly_job: "dg.JobDefinition", timezone: str) -> dg.ScheduleDefinition:
    @dg.schedule(name="weekly_report_schedule", job=weekly_job, cron_schedule=WEEKLY_CRON,
                 execution_timezone=timezone, default_status=dg.DefaultScheduleStatus.RUNNING)
    def weekly_report_schedule(context: ScheduleEvaluationContext) -> dg.RunRequest:
        """Extract, track, report and send digests for last week (Monday to Sunday)."""
        key = previous_week_key(context.scheduled_execution_time, timezone)
        return dg.RunRequest(run_key=f"weekly:{key}", partition_key=key)

    return weekly_report_schedule
