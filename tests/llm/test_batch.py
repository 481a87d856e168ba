"""Batch API mode end to end: submit, poll, ingest by ``custom_id``, retry failed lines in the
next batch, and ledger everything at batch prices — on DuckDB and on Postgres."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest

from assistant_pipelines.llm.batch import poll_open_batches, submit_batch
from assistant_pipelines.llm.ledger import WarehouseCallStore
from assistant_pipelines.llm.packing import PackPlan
from assistant_pipelines.warehouse import open_warehouse
from tests.fakes.openai_server import ChatReply, ErrorReply, FakeOpenAIServer, RawReply
from tests.llm.conftest import (
    email,
    extraction_model,
    fast_settings,
    first_user,
    make_backend,
    meeting,
)

WEEK = date(2026, 10, 5)


class FailingFirst:
    """The extraction model, except that the first request about each named meeting fails in a
    given way (and any request about a meeting in ``always`` fails every time)."""

    def __init__(self, first: dict[str, object], always: set[str] = frozenset()) -> None:
        self.first = dict(first)
        self.always = always
        self.lock = threading.Lock()

    def __call__(self, body: dict):
        user = first_user(body)
        with self.lock:
            for title, reply in list(self.first.items()):
                if f'"{title}"' in user:
                    del self.first[title]
                    return reply
        if any(f'"{title}"' in user for title in self.always):
            return ErrorReply(500, message="this one never works")
        return extraction_model(body)


def _statuses(outcomes) -> dict[str, str]:
    return {o.document_id: o.status for o in outcomes}


def test_batch_flow_end_to_end_with_failed_lines_retried_in_the_next_batch(warehouse_url, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_IN", "1.0")
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_OUT", "2.0")
    docs = [meeting(1), meeting(2), meeting(3), email(1), email(2), email(3)]
    model = FailingFirst({
        "Kestrel sync 1": ChatReply("I could not find any JSON to give you."),  # unusable answer
        "Kestrel sync 2": ErrorReply(500, message="upstream overloaded"),  # an error line
        "Kestrel sync 3": RawReply(b'{"custom_id": '),  # a corrupt output line
    })
    settings = fast_settings(pack=PackPlan(max_documents=4))
    with FakeOpenAIServer(model, batch_polls_until_done=1) as server, open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        backend = make_backend(server)
        with WarehouseCallStore(wh, "run-1") as store:
            first = submit_batch(docs, backend, store, settings, week=WEEK, run_id="run-1")
        assert first.batch_id and not first.error
        assert set(_statuses(first.outcomes).values()) == {"pending_batch"}
        assert (first.submitted_requests, first.submitted_chunks) == (4, 6)
        assert server.chat_requests() == []  # nothing runs until the batch does

        # The uploaded file: one line per request, the same body the sync path sends.
        batch_row = wh.query("SELECT * FROM llm_batches")[0]
        lines = [json.loads(x) for x in backend.client.files.content(batch_row["input_file_id"]).text.splitlines()]
        assert len(lines) == 4 and len({line["custom_id"] for line in lines}) == 4
        assert all(line["url"] == "/v1/chat/completions" and line["method"] == "POST" for line in lines)
        assert all(line["body"]["response_format"]["json_schema"]["strict"] for line in lines)
        assert sum('<source id="D3">' in line["body"]["messages"][1]["content"] for line in lines) == 1

        # Submitting again while the batch is open submits nothing twice.
        with WarehouseCallStore(wh, "run-2") as store:
            again = submit_batch(docs, backend, store, settings, week=WEEK, run_id="run-2")
        assert again.batch_id is None and set(_statuses(again.outcomes).values()) == {"pending_batch"}

        with WarehouseCallStore(wh) as store:
            polled = poll_open_batches(backend, store)
        assert [(p.finished, p.status) for p in polled] == [(False, "in_progress")]
        with WarehouseCallStore(wh) as store:
            [ingest] = poll_open_batches(backend, store)
        assert ingest.finished and ingest.weeks == [WEEK]
        assert (ingest.answered_chunks, ingest.failed_chunks) == (3, 3)

        items = {r["document_id"]: r for r in wh.query("SELECT * FROM llm_batch_items")}
        assert items["meeting-1"]["outcome"] == "invalid_output"
        assert items["meeting-1"]["bad_answer"] == "I could not find any JSON to give you."
        assert items["meeting-2"]["outcome"] == "server_error" and "upstream overloaded" in items["meeting-2"]["error"]
        assert items["meeting-3"]["outcome"] == "batch_failed" and "corrupt line" in items["meeting-3"]["error"]
        assert {items[f"email-{n}"]["status"] for n in (1, 2, 3)} == {"ok"}
        calls = wh.query("SELECT * FROM llm_calls WHERE mode = 'batch' AND outcome <> 'cache_hit'")
        assert len(calls) == 4
        pack = next(c for c in calls if c["document_ids"])
        assert pack["outcome"] == "ok" and pack["request_id"] in {line["custom_id"] for line in lines}
        expected = (pack["tokens_in"] * 1.0 + pack["tokens_out"] * 2.0) / 1_000_000 * 0.5
        assert pack["cost_usd"] == pytest.approx(expected)

        # The re-materialization the sensor asks for: e-mails from the cache, meetings resubmitted.
        with WarehouseCallStore(wh, "run-3") as store:
            retry = submit_batch(docs, backend, store, settings, week=WEEK, run_id="run-3", automatic=True)
        statuses = _statuses(retry.outcomes)
        assert [statuses[f"email-{n}"] for n in (1, 2, 3)] == ["ok"] * 3
        assert [statuses[f"meeting-{n}"] for n in (1, 2, 3)] == ["pending_batch"] * 3
        assert retry.batch_id != first.batch_id and retry.submitted_requests == 3
        second_lines = [json.loads(x) for x in backend.client.files.content(
            wh.scalar("SELECT input_file_id FROM llm_batches WHERE batch_id = :b", {"b": retry.batch_id})
        ).text.splitlines()]
        repaired = [line for line in second_lines if len(line["body"]["messages"]) == 4]
        assert len(repaired) == 1  # the unusable answer is shown to the model, as in a repair retry
        assert repaired[0]["body"]["messages"][2]["content"] == "I could not find any JSON to give you."
        assert wh.scalar("SELECT MAX(attempt) FROM llm_batch_items WHERE batch_id = :b", {"b": retry.batch_id}) == 2

        with WarehouseCallStore(wh) as store:
            poll_open_batches(backend, store)  # in progress
            [done] = poll_open_batches(backend, store)
        assert (done.answered_chunks, done.failed_chunks) == (3, 0)
        with WarehouseCallStore(wh, "run-4") as store:
            final = submit_batch(docs, backend, store, settings, week=WEEK, run_id="run-4", automatic=True)
        assert set(_statuses(final.outcomes).values()) == {"ok"} and final.batch_id is None
        assert all(o.from_cache for o in final.outcomes)
        assert [o.result.action_items[0].task for o in final.outcomes][:1] == ["prepare item 1 of the kestrel plan 1"]
        assert wh.scalar("SELECT COUNT(*) FROM llm_batches WHERE ingested_at IS NULL") == 0

        # Ingesting is idempotent: a batch already ingested is not polled again.
        with WarehouseCallStore(wh) as store:
            assert poll_open_batches(backend, store) == []
        assert wh.scalar("SELECT COUNT(*) FROM llm_calls WHERE mode = 'batch' AND outcome <> 'cache_hit'") == 7


def test_automatic_retries_stop_after_max_batches_but_a_manual_run_tries_again(tmp_path):
    model = FailingFirst({}, always={"Kestrel sync 1"})
    with FakeOpenAIServer(model, batch_polls_until_done=0) as server, \
            open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.ensure_schema()
        backend = make_backend(server)
        for attempt in range(1, 4):
            with WarehouseCallStore(wh, f"run-{attempt}") as store:
                sub = submit_batch([meeting(1)], backend, store, fast_settings(), week=WEEK, automatic=attempt > 1,
                                   max_batch_attempts=2)
                if attempt <= 2:
                    assert sub.batch_id and _statuses(sub.outcomes) == {"meeting-1": "pending_batch"}
                    poll_open_batches(backend, store)
        assert sub.batch_id is None
        [outcome] = sub.outcomes
        assert outcome.status == "failed" and "failed in 2 batches" in outcome.error
        assert "this one never works" in outcome.error
        with WarehouseCallStore(wh, "manual") as store:
            manual = submit_batch([meeting(1)], backend, store, fast_settings(), week=WEEK, automatic=False,
                                  max_batch_attempts=2)
        assert manual.batch_id and manual.outcomes[0].status == "pending_batch"


def test_a_batch_budget_submits_only_what_fits(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_IN", "1.0")
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_OUT", "1.0")
    docs = [meeting(n) for n in range(5)]
    with FakeOpenAIServer(extraction_model) as server, open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.ensure_schema()
        with WarehouseCallStore(wh) as store:
            # ~1,025 input tokens + 900 reserved for the answer, at half of $1/M: ~$0.00096 a
            # request, so two fit in $0.002 and a third does not.
            sub = submit_batch(docs, make_backend(server), store, fast_settings(budget_usd=0.002, max_tokens=900),
                               week=WEEK)
    statuses = [o.status for o in sub.outcomes]
    assert statuses.count("pending_batch") == sub.submitted_chunks == 2
    assert statuses.count("skipped_budget") == 3
    assert all("budget" in o.error for o in sub.outcomes if o.status == "skipped_budget")


def test_a_batch_shares_the_runs_budget_at_the_batch_price(tmp_path, monkeypatch):
    """The focus pass's synchronous questions spend first, at full price; what is left is
    reserved for batch requests at the Batch API's half price."""
    from assistant_pipelines.llm.budget import Budget

    monkeypatch.setenv("ASSISTANT_LLM_PRICE_IN", "1.0")
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_OUT", "1.0")
    docs = [meeting(n) for n in range(5)]
    budget = Budget(max_usd=0.002, model="fake-model")
    spent_by_judge = budget.reserve(1000, 0)  # ~$0.001 of full-price questions
    assert spent_by_judge is not None
    budget.settle(spent_by_judge, 1000, 0)
    with FakeOpenAIServer(extraction_model) as server, open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.ensure_schema()
        with WarehouseCallStore(wh) as store:
            sub = submit_batch(docs, make_backend(server), store, fast_settings(budget_usd=0.002, max_tokens=900),
                               week=WEEK, budget=budget)
    # $0.001 left: one request at ~$0.00096 (half price) fits, where a full-price one would not
    assert sub.submitted_chunks == 1
    assert [o.status for o in sub.outcomes].count("skipped_budget") == 4
