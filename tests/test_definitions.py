"""The whole ``Definitions`` (the last rung of the testing ladder) and a snapshot of the graph.

The snapshot makes a change to the asset graph (a renamed asset, a lost dependency, a changed
partitioning) a deliberate act: update ``EXPECTED_GRAPH`` together with DESIGN.md and the docs.
"""

from __future__ import annotations

import dagster as dg

from assistant_pipelines.definitions import build_definitions
from assistant_pipelines.settings import load_settings

EXPECTED_GRAPH = {
    "raw_transcripts": (set(), False),
    "raw_emails": (set(), False),
    "raw_tickets": (set(), False),
    "people": ({"raw_transcripts", "raw_emails", "raw_tickets"}, False),
    "documents": ({"raw_transcripts", "raw_emails", "raw_tickets", "people"}, True),
    "action_item_candidates": ({"documents"}, True),
    "action_items": ({"action_item_candidates"}, True),
    "weekly_status_report": ({"action_items"}, True),
    "person_digests": ({"action_items"}, True),
}


def _defs(tmp_path, **env: str) -> dg.Definitions:
    return build_definitions(load_settings({"ASSISTANT_HOME": str(tmp_path), **env}))


def test_asset_graph_matches_the_snapshot(tmp_path):
    graph = _defs(tmp_path).resolve_asset_graph()
    actual = {
        key.to_user_string(): (
            {parent.to_user_string() for parent in graph.get(key).parent_keys},
            graph.get(key).partitions_def is not None,
        )
        for key in graph.get_all_asset_keys()
    }
    assert actual == EXPECTED_GRAPH


def test_every_asset_is_documented_and_grouped(tmp_path):
    for spec in _defs(tmp_path).resolve_all_asset_specs():
        assert spec.description and len(spec.description) > 40, spec.key
        assert spec.group_name in {"ingest", "extraction", "action_items", "reports"}, spec.key


def test_weeks_start_on_monday_in_the_team_time_zone(tmp_path):
    defs = _defs(tmp_path, ASSISTANT_TIMEZONE="Europe/Berlin", ASSISTANT_FIRST_WEEK="2026-10-07")
    partitions = defs.resolve_job_def("weekly_job").partitions_def
    keys = partitions.get_partition_keys()
    assert keys[0] == "2026-10-05"  # the Monday on or before the configured first week
    window = partitions.time_window_for_partition_key("2026-10-26")
    assert window.start.isoformat() == "2026-10-26T00:00:00+01:00"  # after the clocks change
    assert window.end.isoformat() == "2026-11-02T00:00:00+01:00"


def test_jobs_checks_sensors_and_schedules_are_all_there(tmp_path):
    defs = _defs(tmp_path)
    assert {s.name for s in defs.sensors} == {"inbox_files_sensor", "llm_batch_sensor"}
    assert {s.name for s in defs.schedules} == {"weekly_report_schedule"}
    assert defs.resolve_job_def("ingest_job") and defs.resolve_job_def("weekly_job")
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"action_items_expectations", "every_chunk_extracted", "evidence_grounded"} <= checks


def test_resources_follow_the_settings_at_build_time(tmp_path):
    duck = _defs(tmp_path).resources["warehouse"]
    pg = _defs(tmp_path, ASSISTANT_WAREHOUSE_URL="postgresql://u@localhost/db").resources["warehouse"]
    assert duck.dialect == "duckdb" and pg.dialect == "postgres"
    llm = _defs(tmp_path, ASSISTANT_LLM="openai", OPENAI_BASE_URL="http://127.0.0.1:9/v1").resources["llm"]
    assert llm.backend == "openai" and llm.base_url == "http://127.0.0.1:9/v1"
