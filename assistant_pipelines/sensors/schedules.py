"""``weekly_report_schedule``: every Monday morning, process the week that just ended."""


from datetime import timedelta

import dagster as dg
from dagster import ScheduleEvaluationContext

WEEKLY_CRON = "0 7 * * 1"  # Mondays 07:00 in the team's time zone


def build_weekly_schedule(weekly_job: "dg.JobDefinition", timezone: str) -> dg.ScheduleDefinition:
    @dg.schedule(name="weekly_report_schedule", job=weekly_job, cron_schedule=WEEKLY_CRON,
                 execution_timezone=timezone, default_status=dg.DefaultScheduleStatus.RUNNING)
    def weekly_report_schedule(context: ScheduleEvaluationContext) -> dg.RunRequest:
        """Extract, track, report and send digests for last week (Monday to Sunday)."""
        tick = context.scheduled_execution_time
        last_monday = (tick - timedelta(days=7)).date()
        last_monday -= timedelta(days=last_monday.weekday())
        key = last_monday.isoformat()
        return dg.RunRequest(run_key=f"weekly:{key}", partition_key=key)

    return weekly_report_schedule
