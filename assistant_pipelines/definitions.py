"""The one place that knows every part: assets, checks, jobs, schedules, sensors, resources.

``build_definitions(settings)`` assembles them for given settings (tests pass their own);
``defs`` is what ``dagster dev`` / ``workspace.yaml`` load, built from the environment when the
code location starts, not when this module is imported.
"""

from __future__ import annotations

import dagster as dg

from assistant_pipelines.assets.action_items import (
    action_items_expectations,
    build_action_items_asset,
)
from assistant_pipelines.assets.documents import build_documents_asset
from assistant_pipelines.assets.extraction import build_extraction_asset
from assistant_pipelines.assets.ingest import people, raw_emails, raw_tickets, raw_transcripts
from assistant_pipelines.assets.reports import build_report_assets
from assistant_pipelines.partitions import weekly_partitions
from assistant_pipelines.resources import resources_from_settings
from assistant_pipelines.sensors.batch import llm_batch_sensor
from assistant_pipelines.sensors.inbox import inbox_files_sensor
from assistant_pipelines.sensors.schedules import build_weekly_schedule
from assistant_pipelines.settings import Settings, load_settings

INGEST_ASSETS = [raw_transcripts, raw_emails, raw_tickets, people]
WEEKLY_ASSET_NAMES = ["documents", "action_item_candidates", "action_items", "weekly_status_report", "person_digests"]


def build_definitions(settings: Settings | None = None, resources: dict[str, object] | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    weeks = weekly_partitions(settings.first_week, settings.timezone)
    weekly_assets = [
        build_documents_asset(weeks),
        build_extraction_asset(weeks),
        build_action_items_asset(weeks),
        *build_report_assets(weeks),
    ]
    ingest_job = dg.define_asset_job(
        "ingest_job", selection=dg.AssetSelection.assets(*INGEST_ASSETS),
        description="Ingest the inbox: transcripts, mail, tickets and the people directory.",
    )
    weekly_job = dg.define_asset_job(
        "weekly_job", selection=dg.AssetSelection.assets(*WEEKLY_ASSET_NAMES),
        description="One week: documents, extraction, action items, the status report and digests.",
    )
    return dg.Definitions(
        assets=[*INGEST_ASSETS, *weekly_assets],
        asset_checks=[action_items_expectations],
        jobs=[ingest_job, weekly_job],
        schedules=[build_weekly_schedule(weekly_job, settings.timezone)],
        sensors=[inbox_files_sensor, llm_batch_sensor],
        resources=resources if resources is not None else resources_from_settings(settings),
        # One process per run: a DuckDB file admits one writer, and on 2 cores a subprocess per
        # step costs ~2 s each (DESIGN.md §6).
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
