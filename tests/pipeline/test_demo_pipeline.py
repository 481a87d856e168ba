"""The whole graph in process on the bundled demo team, against a loopback model.

``materialize`` over the real assets and resources (the Dagster testing ladder's third rung):
ingest → people → documents → candidates → action items → report → digests, for every week,
on DuckDB and on Postgres; then the same run again must change nothing and send nothing.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assistant_pipelines.cli import install_demo_inbox
from assistant_pipelines.definitions import build_definitions
from assistant_pipelines.people import reply_address
from assistant_pipelines.resources import (
    LLMResource,
    MailerResource,
    TeamResource,
    WarehouseResource,
)
from assistant_pipelines.settings import load_settings
from assistant_pipelines.warehouse import open_warehouse

DEMO_WEEKS = ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
TABLES = ["documents", "people", "action_item_candidates", "action_items", "action_item_events",
          "reports", "outbound_messages", "ingest_errors", "raw_emails", "raw_tickets", "raw_utterances"]


def demo_definitions(home: Path, warehouse_url: str, llm_url: str, api_key: str, mailer: MailerResource) -> dg.Definitions:
    settings = load_settings({"ASSISTANT_HOME": str(home), "ASSISTANT_TIMEZONE": "Europe/Berlin",
                              "ASSISTANT_FIRST_WEEK": "2026-10-05", "ASSISTANT_WAREHOUSE_URL": warehouse_url})
    resources = {
        "warehouse": WarehouseResource(url=warehouse_url),
        "llm": LLMResource(backend="openai", model="fake-model", base_url=llm_url, api_key=api_key, concurrency=4),
        "mailer": mailer,
        "team": TeamResource(home=str(home), inbox=str(home / "inbox"), timezone="Europe/Berlin"),
    }
    return build_definitions(settings, resources=resources)


def run_everything(defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance).success
    weekly = defs.resolve_job_def("weekly_job")
    for week in DEMO_WEEKS:
        assert weekly.execute_in_process(instance=instance, partition_key=week).success


def table_counts(url: str) -> dict[str, int]:
    with open_warehouse(url) as wh:
        return {t: wh.scalar(f"SELECT COUNT(*) FROM {t}") for t in TABLES}


@pytest.mark.slow
def test_demo_end_to_end_is_complete_and_idempotent(tmp_path, warehouse_url, fake_llm, smtp_server):
    smtp_url, sink = smtp_server
    install_demo_inbox(tmp_path / "inbox")
    mailer = MailerResource(smtp_url=smtp_url, outbox_dir=str(tmp_path / "outbox"))
    defs = demo_definitions(tmp_path, warehouse_url, fake_llm.base_url, fake_llm.api_key, mailer)
    with dg.instance_for_test() as instance:
        run_everything(defs, instance)
        first = table_counts(warehouse_url)
        calls_after_first = len(fake_llm.chat_requests())
        mails_after_first = len(sink.messages)

        # Every table the product promises is filled.
        for table in ("documents", "people", "action_items", "reports", "ingest_errors", "outbound_messages"):
            assert first[table] > 0, table
        assert first["reports"] == len(DEMO_WEEKS)
        assert calls_after_first > 0 and mails_after_first > 0
        assert all(reply_address([m["To"]]) for m in sink.messages), "no digest to a no-reply address"

        run_everything(defs, instance)
        assert table_counts(warehouse_url) == first
        assert len(fake_llm.chat_requests()) == calls_after_first, "a re-run must be answered from the cache"
        assert len(sink.messages) == mails_after_first, "a re-run must not send a digest twice"

    with open_warehouse(warehouse_url) as wh:
        # The deliberately broken demo files are recorded with file, position and reason.
        errors = wh.query("SELECT source_file, position, reason FROM ingest_errors ORDER BY source_file")
        assert any("broken-standup.vtt" in e["source_file"] for e in errors)
        assert all(e["position"] and e["reason"] for e in errors)
        # Provenance on every model-made item.
        missing = wh.scalar("SELECT COUNT(*) FROM action_items WHERE model IS NULL OR prompt_version IS NULL "
                            "OR input_hash IS NULL")
        assert missing == 0
        ledger = wh.query("SELECT outcome, COUNT(*) AS n FROM llm_calls GROUP BY outcome")
        outcomes = {r["outcome"]: r["n"] for r in ledger}
        assert outcomes.get("ok", 0) == calls_after_first
        assert outcomes.get("cache_hit", 0) == calls_after_first
        # Some items finish: tickets closed during the four weeks.
        assert wh.scalar("SELECT COUNT(*) FROM action_items WHERE status <> 'open'") > 0
    report = (tmp_path / "reports" / "weekly-status-2026-10-12.md").read_text()
    assert "Weekly status" in report and "](" in report  # links back to sources


def test_an_unreadable_file_is_recorded_and_the_rest_ingested(tmp_path, monkeypatch):
    from assistant_pipelines.assets import ingest as ingest_assets
    from assistant_pipelines.ingest import rows

    install_demo_inbox(tmp_path / "inbox")
    real = rows.fingerprint

    def flaky(path):
        if path.name == "team.mbox":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(rows, "fingerprint", flaky)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        summary = ingest_assets.ingest_kind(wh, ingest_assets.MAIL, tmp_path / "inbox", load_settings({}).tz)
        errors = wh.query("SELECT source_file, position, reason FROM ingest_errors")
        emails = wh.scalar("SELECT COUNT(*) FROM raw_emails")
    assert {"source_file": "mail/team.mbox", "position": "file",
            "reason": "cannot read the file: Permission denied"} in errors
    assert emails > 0 and summary.sources_ingested >= 4
