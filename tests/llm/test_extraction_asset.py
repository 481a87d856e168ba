"""The ``action_item_candidates`` asset and ``llm_batch_sensor`` in Dagster, in process: the
metadata and checks a person sees, ``document_extractions``, the budget stop, and the Batch API
round trip (asset submits, sensor collects and asks for the week again, the re-run hits the
cache)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import dagster as dg
import pytest

from assistant_pipelines.assets.extraction import BATCH_RUN_TAG, build_extraction_asset
from assistant_pipelines.partitions import weekly_partitions
from assistant_pipelines.resources import LLMResource, TeamResource, WarehouseResource
from assistant_pipelines.sensors.batch import llm_batch_sensor
from assistant_pipelines.warehouse import open_warehouse
from tests.fakes.openai_server import ChatReply, FakeOpenAIServer, json_reply
from tests.llm.conftest import extraction_model

WEEK = "2026-10-05"
DOCS = [
    ("meeting-a", "meeting", "Kestrel planning", datetime(2026, 10, 6, 8, tzinfo=UTC),
     "Mira: I'll draft the kestrel rollout plan by Friday.\nTomas: Sounds good.\nTomas: I'll review the budget."),
    ("email-b", "email", "Harbor budget", datetime(2026, 10, 7, 9, tzinfo=UTC),
     "Hi,\nI'll send the harbor budget draft tomorrow.\nOla"),
    ("email-c", "email", "Dock access", datetime(2026, 10, 8, 9, tzinfo=UTC),
     "Hello,\nI'll renew the dock access badges this week.\nPer"),
]


def seed(url: str) -> None:
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        rows = [{"document_id": d, "kind": k, "source_file": f"{d}.txt", "title": t, "occurred_at": at,
                 "week_start": datetime(2026, 10, 5).date(), "author_person_id": None, "author": "Ola",
                 "participants": "[]", "thread_id": None, "url": None, "text": text,
                 "content_hash": hashlib.sha256(text.encode()).hexdigest()} for d, k, t, at, text in DOCS]
        wh.insert_rows("documents", list(rows[0]), rows)


def resources(url: str, server: FakeOpenAIServer, tmp_path, **llm) -> dict:
    return {
        "warehouse": WarehouseResource(url=url),
        "llm": LLMResource(backend="openai", model="fake-model", base_url=server.base_url, api_key=server.api_key,
                           concurrency=2, retry_base_s=0.01, **llm),
        "team": TeamResource(home=str(tmp_path), inbox=str(tmp_path / "inbox"), timezone="Europe/Berlin"),
    }


def materialize(url, server, tmp_path, tags=None, **llm) -> dg.ExecuteInProcessResult:
    asset = build_extraction_asset(weekly_partitions(WEEK, "Europe/Berlin"))
    return dg.materialize([asset], partition_key=WEEK, resources=resources(url, server, tmp_path, **llm),
                          tags=tags, raise_on_error=True)


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture
def url(tmp_path) -> str:
    address = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    seed(address)
    return address


def test_sync_run_reports_calls_cost_latency_and_stores_summaries(url, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_IN", "0.15")
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_OUT", "0.60")
    with FakeOpenAIServer(extraction_model, latency_s=0.02) as server:
        first = materialize(url, server, tmp_path, pack_emails=True)
        second = materialize(url, server, tmp_path, pack_emails=True)
        assert len(server.chat_requests()) == 2  # the meeting, and the two e-mails in one pack
    meta = metadata(first)
    assert (meta["documents"], meta["chunks"], meta["chunks_ok"]) == (3, 3, 3)
    assert (meta["model_calls"], meta["cache_hits"], meta["packed_requests"]) == (2, 0, 1)
    assert meta["tokens_in"] > 0 and meta["tokens_out"] > 0 and meta["cost_usd"] > 0
    assert meta["latency_p50_ms"] >= 20 and meta["latency_p99_ms"] >= meta["latency_p50_ms"]
    assert meta["candidates"] == 4 and meta["budget_reached"] is False
    again = metadata(second)
    assert (again["model_calls"], again["cache_hits"], again["cost_usd"]) == (0, 3, 0)
    assert all(c.passed for c in checks(first).values())
    with open_warehouse(url) as wh:
        rows = wh.query("SELECT * FROM document_extractions ORDER BY document_id")
        candidates = wh.query("SELECT document_id, task, due_date, evidence_text FROM action_item_candidates "
                              "ORDER BY document_id, task")
    assert [(r["document_id"], r["status"], r["packed"]) for r in rows] == [
        ("email-b", "ok", True), ("email-c", "ok", True), ("meeting-a", "ok", False)]
    assert rows[2]["summary"] == "One commitment per line." and json.loads(rows[2]["decisions"]) == ["keep the plan"]
    assert rows[0]["summary"] == "D1 summary" and rows[0]["from_cache"] is True  # the second run's rows
    by_task = {c["task"]: c for c in candidates}
    assert by_task["draft the kestrel rollout plan by Friday"]["evidence_text"].startswith("Mira: I'll draft")
    assert by_task["send the harbor budget draft tomorrow"]["document_id"] == "email-b"


def _friday_for_everything(request: dict) -> ChatReply:
    """``extraction_model`` giving every item the due "Friday", as the embedded model does."""
    answer = json.loads(extraction_model(request).content)
    if "documents" in answer:
        return json_reply({"documents": [{**d, "action_items": [{**i, "due": "Friday"} for i in d["action_items"]]}
                                         for d in answer["documents"]]})
    return json_reply({**answer, "action_items": [{**i, "due": "Friday"} for i in answer["action_items"]]})


def test_dues_the_source_does_not_say_are_dropped_and_counted(url, tmp_path):
    with FakeOpenAIServer(_friday_for_everything) as server:
        meta = metadata(materialize(url, server, tmp_path))
    with open_warehouse(url) as wh:
        dues = {r["task"]: (r["due_text"], r["due_date"]) for r in
                wh.query("SELECT task, due_text, due_date FROM action_item_candidates")}
    friday = ("Friday", datetime(2026, 10, 9).date())
    assert dues == {
        "draft the kestrel rollout plan by Friday": friday,
        # two lines below Mira's "by Friday": near enough to be taken as said (the window's cost)
        "review the budget": friday,
        "send the harbor budget draft tomorrow": (None, None),  # "tomorrow" from Wednesday: Thursday
        "renew the dock access badges this week": friday,  # "this week" is that Friday (dates.py)
    }
    assert (meta["dues_from_model"], meta["dues_said"]) == (4, 3)


def test_budget_stop_is_reported_by_metadata_and_check(url, tmp_path):
    with FakeOpenAIServer(extraction_model) as server:
        result = materialize(url, server, tmp_path, budget_tokens=2000, max_tokens=600)
        assert len(server.chat_requests()) == 1
    meta = metadata(result)
    assert meta["skipped_for_budget"] == 2 and meta["budget_reached"] is True
    assert "of 2,000 tokens" in meta["budget"]
    check = checks(result)["within_budget"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert not checks(result)["every_chunk_extracted"].passed
    with open_warehouse(url) as wh:
        statuses = wh.query("SELECT status, COUNT(*) AS n FROM document_extractions GROUP BY 1 ORDER BY 1")
    assert [(s["status"], s["n"]) for s in statuses] == [("ok", 1), ("skipped_budget", 2)]


def test_batch_mode_round_trip_through_the_sensor(url, tmp_path):
    with FakeOpenAIServer(extraction_model, batch_polls_until_done=0) as server:
        submitted = materialize(url, server, tmp_path, mode="batch")
        meta = metadata(submitted)
        assert meta["pending_in_batch"] == 3 and meta["batch_id"].startswith("batch_")
        assert meta["model_calls"] == 0 and meta["candidates"] == 0
        assert not checks(submitted)["every_chunk_extracted"].passed

        with dg.build_sensor_context(resources=resources(url, server, tmp_path, mode="batch")) as context:
            sensor_result = llm_batch_sensor(context)
        [request] = sensor_result.run_requests
        assert request.partition_key == WEEK and request.tags[BATCH_RUN_TAG] == meta["batch_id"]
        assert request.run_key == f"llm-batch:{meta['batch_id']}:{WEEK}"

        rerun = materialize(url, server, tmp_path, tags=dict(request.tags), mode="batch")
        again = metadata(rerun)
        assert (again["chunks_ok"], again["cache_hits"], again["batch_id"]) == (3, 3, "none")
        assert again["candidates"] == 4
        assert all(c.passed for c in checks(rerun).values())
        # Nothing open any more: the sensor skips.
        with dg.build_sensor_context(resources=resources(url, server, tmp_path, mode="batch")) as context:
            assert "no open batches" in llm_batch_sensor(context).skip_reason.skip_message
    with open_warehouse(url) as wh:
        ledger = wh.query("SELECT mode, outcome, COUNT(*) AS n FROM llm_calls GROUP BY 1, 2 ORDER BY 1, 2")
    assert [(r["mode"], r["outcome"], r["n"]) for r in ledger] == [("batch", "cache_hit", 3), ("batch", "ok", 3)]


def test_the_sensor_stays_quiet_in_sync_mode(url, tmp_path):
    with FakeOpenAIServer(extraction_model) as server, \
            dg.build_sensor_context(resources=resources(url, server, tmp_path)) as context:
        result = llm_batch_sensor(context)
    assert "not 'batch'" in result.skip_reason.skip_message


def test_batch_mode_needs_the_openai_backend(url, tmp_path):
    asset = build_extraction_asset(weekly_partitions(WEEK, "Europe/Berlin"))
    res = {"warehouse": WarehouseResource(url=url), "llm": LLMResource(backend="local", mode="batch"),
           "team": TeamResource(home=str(tmp_path), inbox=str(tmp_path), timezone="Europe/Berlin")}
    result = dg.materialize([asset], partition_key=WEEK, resources=res, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "needs ASSISTANT_LLM=openai" in str(failure)


def _long_meeting_and_an_email(tmp_path, lines: list[str]) -> str:
    """A warehouse holding the 40-line meeting of ``long_meeting`` (as ``lines``) and a short e-mail."""
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        rows = [{"document_id": "meeting-long", "kind": "meeting", "source_file": "long.vtt",
                 "title": "Kestrel planning", "occurred_at": datetime(2026, 10, 6, 8, tzinfo=UTC),
                 "week_start": datetime(2026, 10, 5).date(), "author_person_id": None, "author": None,
                 "participants": "[]", "thread_id": None, "url": None, "text": "\n".join(lines),
                 "content_hash": "h1"},
                {"document_id": "email-b", "kind": "email", "source_file": "b.eml", "title": "Harbor budget",
                 "occurred_at": datetime(2026, 10, 7, 9, tzinfo=UTC), "week_start": datetime(2026, 10, 5).date(),
                 "author_person_id": None, "author": "Ola", "participants": "[]", "thread_id": None, "url": None,
                 "text": "Hi,\nI'll send the harbor budget draft tomorrow.\nOla", "content_hash": "h2"}]
        wh.insert_rows("documents", list(rows[0]), rows)
    return url


def test_focus_pass_in_the_asset_judges_long_meetings_and_is_cached(tmp_path):
    """``focus="on"``: the long meeting's candidate lines are judged first (P(yes) from
    logprobs), only the kept lines reach the extraction; the short e-mails go whole. The judge
    calls are in the ledger and the metadata, and a re-run asks nothing."""
    from tests.conftest import rule_based_extraction
    from tests.llm.test_focus import long_meeting

    _, lines = long_meeting()
    url = _long_meeting_and_an_email(tmp_path, lines)
    with FakeOpenAIServer(rule_based_extraction) as server:
        first = metadata(materialize(url, server, tmp_path, focus="on", focus_threshold=0.5))
        judged = [r for r in server.chat_requests() if r.get("logprobs")]
        extracted = [r for r in server.chat_requests() if not r.get("logprobs")]
        second = metadata(materialize(url, server, tmp_path, focus="on", focus_threshold=0.5))
        assert len(server.chat_requests()) == len(judged) + len(extracted)  # the re-run asked nothing
    assert first["focus_questions"] == len(judged) > 3 and first["focus_failed"] == 0
    assert first["focus_lines_kept"] == 3
    assert len(extracted) == 4  # one request per kept line of the meeting, and the e-mail whole
    assert first["model_calls"] == len(judged) + len(extracted)
    assert second["model_calls"] == 0 and second["cache_hits"] == len(judged) + len(extracted)
    with open_warehouse(url) as wh:
        found = wh.query("SELECT owner_text, task, evidence_lines FROM action_item_candidates "
                         "WHERE quarantine_reason IS NULL ORDER BY document_id, owner_text")
        ledger = wh.query("SELECT prompt_version, COUNT(*) AS n FROM llm_calls WHERE outcome = 'ok' GROUP BY 1")
    assert [(r["owner_text"], r["evidence_lines"]) for r in found] == [
        (None, "[2]"), ("Ines", "[38]"), ("Mira", "[21]"), ("Tomas", "[13]")]  # the fake names no e-mail owner
    assert {r["prompt_version"].split("@")[0]: r["n"] for r in ledger} == {
        "verify_line": len(judged), "extract_action_items": len(extracted)}


def test_work_the_model_takes_from_a_passages_context_is_quarantined(tmp_path):
    """Line 12 promises something, but the judge does not keep it (it scores it 0.05); the
    passage of kept line 13 shows it as context and the model reports it anyway. That item is
    quarantined with the reason; the kept lines' items are accepted, with confidence at most
    the judge's P(yes)."""
    from tests.conftest import rule_based_extraction
    from tests.fakes.openai_server import judge_reply
    from tests.llm.test_focus import long_meeting

    _, lines = long_meeting()
    lines[11] = "Tomas: I'll grab coffee for everyone after this."
    url = _long_meeting_and_an_email(tmp_path, lines)

    def model(request: dict):
        question = request["messages"][-1]["content"] if request.get("logprobs") else ""
        if ">>> Tomas: I'll grab coffee" in question:
            return judge_reply(0.05)
        if ">>> Mira: I will book the usability lab" in question:
            return judge_reply(0.6)  # kept (threshold 0.5), but the judge is unsure
        return rule_based_extraction(request)

    with FakeOpenAIServer(model) as server:
        meta = metadata(materialize(url, server, tmp_path, focus="on", focus_threshold=0.5))
    assert meta["focus_lines_kept"] == 3
    with open_warehouse(url) as wh:
        rows = wh.query("SELECT evidence_lines, quarantine_reason, confidence FROM action_item_candidates "
                        "WHERE document_id = 'meeting-long' ORDER BY evidence_lines")
    assert [(r["evidence_lines"], r["quarantine_reason"]) for r in rows] == [
        ("[12]", ("taken from context line(s) [12], which the focus pass did not keep: "
                  "a focused passage asks only about its marked line")),
        ("[13]", None), ("[21]", None), ("[38]", None)]
    # The fake model says 0.8 for a promise and 0.7 for a request; the judge's P(yes) caps it.
    assert [r["confidence"] for r in rows[1:]] == pytest.approx([0.8, 0.6, 0.7])


def test_focus_questions_spend_from_the_runs_budget(tmp_path):
    """With a token budget that holds a few of the judge's questions, the rest are not asked,
    nothing is extracted, and the run says its budget was reached (the next run picks it up)."""
    from tests.conftest import rule_based_extraction
    from tests.llm.test_focus import long_meeting

    doc, lines = long_meeting()
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        row = {"document_id": "meeting-long", "kind": "meeting", "source_file": "long.vtt", "title": doc.title,
               "occurred_at": datetime(2026, 10, 6, 8, tzinfo=UTC), "week_start": datetime(2026, 10, 5).date(),
               "author_person_id": None, "author": None, "participants": "[]", "thread_id": None, "url": None,
               "text": "\n".join(lines), "content_hash": "h1"}
        wh.insert_rows("documents", list(row), [row])
    with FakeOpenAIServer(rule_based_extraction) as server:
        result = materialize(url, server, tmp_path, focus="on", focus_threshold=0.5, budget_tokens=600)
        asked = server.chat_requests()
    meta = metadata(result)
    assert 0 < len(asked) == meta["focus_questions"] - meta["focus_skipped_budget"]
    assert meta["focus_skipped_budget"] > 0 and meta["focus_failed"] == 0
    assert all(r.get("logprobs") for r in asked)  # no room was left for an extraction request
    assert meta["budget_reached"] is True and "of 600 tokens" in meta["budget"]
    budget_check = checks(result)["within_budget"]
    assert budget_check.passed is False
    assert budget_check.metadata["focus_questions_skipped_for_budget"].value == meta["focus_skipped_budget"]
