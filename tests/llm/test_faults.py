"""Every failure an LLM API produces, through the real ``openai`` client and the loopback server.

The client's own retries are off, so the server sees exactly the attempts the extraction loop
makes, and each of them must be one ``llm_calls`` row.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from assistant_pipelines.llm.extract import run_extraction
from assistant_pipelines.llm.limiter import RetryPolicy
from tests.fakes.openai_server import (
    ChatReply,
    ErrorReply,
    FakeOpenAIServer,
    Hang,
    RawReply,
    json_reply,
)
from tests.llm.conftest import (
    extraction_model,
    fast_settings,
    first_user,
    ledger,
    make_backend,
    make_store,
    meeting,
    requested_titles,
)


def _attempts(wh) -> list[tuple[str, int, str]]:
    return [(r["document_id"], r["attempt"], r["outcome"]) for r in ledger(wh)]


def _assert_one_row_per_request(server, wh) -> None:
    real = [r for r in ledger(wh) if r["outcome"] != "cache_hit"]
    assert len(real) == len(server.chat_requests()), "every attempt must be ledgered, and only ours made"


def test_429_is_retried_after_the_servers_retry_after_for_everyone(wh, store):
    # The 429 comes back at once, the answers after 50 ms: the other worker learns of the
    # Retry-After before its own answer frees it to send more (with equal latencies the two
    # replies raced, and a request could leave between them).
    with FakeOpenAIServer(lambda request: replace(extraction_model(request), latency_s=0.05)) as server:
        server.enqueue(ErrorReply(429, retry_after=0.6, message="slow down"))
        docs = [meeting(n) for n in range(6)]
        run = run_extraction(docs, make_backend(server, concurrency=2), store, fast_settings(concurrency=2))
    assert all(o.status == "ok" for o in run.outcomes)
    chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    limited_at = chats[0].received_at
    # Besides the one request already on its way with the first (which may reach the server
    # late on a loaded machine, hence the wide window), requests came only once the
    # Retry-After had passed: none in between.
    after = [r.received_at - limited_at for r in chats[1:]]
    on_its_way = [t for t in after if t < 0.3]
    assert len(on_its_way) <= 1
    assert len(after) > len(on_its_way) and min(t for t in after if t >= 0.3) >= 0.6 - 0.02
    rows = ledger(wh)
    limited = [r for r in rows if r["outcome"] == "rate_limited"]
    assert len(limited) == 1 and limited[0]["http_status"] == 429 and "slow down" in limited[0]["error"]
    retried = [r for r in rows if r["document_id"] == limited[0]["document_id"] and r["outcome"] == "ok"]
    assert retried[0]["attempt"] == 2
    assert run.limiter.cuts == 1 and run.limiter.lowest_limit == 1
    _assert_one_row_per_request(server, wh)


def test_500_then_success(server, wh, store):
    server.enqueue(ErrorReply(500, message="boom"), ErrorReply(503))
    run = run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    assert run.outcomes[0].status == "ok"
    assert _attempts(wh) == [("meeting-1", 1, "server_error"), ("meeting-1", 2, "server_error"),
                             ("meeting-1", 3, "ok")]
    assert [r["http_status"] for r in ledger(wh)] == [500, 503, 200]
    _assert_one_row_per_request(server, wh)


def test_a_hung_request_times_out_and_is_retried(server, wh, store):
    server.enqueue(Hang(10))
    run = run_extraction([meeting(1)], make_backend(server, timeout_s=0.4), store, fast_settings())
    assert run.outcomes[0].status == "ok"
    rows = ledger(wh)
    assert [r["outcome"] for r in rows] == ["timeout", "ok"]
    assert rows[0]["latency_ms"] >= 350
    _assert_one_row_per_request(server, wh)


def test_a_malformed_response_body_is_retried(server, wh, store):
    server.enqueue(RawReply(b'{"choices": ['), RawReply(b"<html>gateway</html>", content_type="text/html"))
    run = run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    assert run.outcomes[0].status == "ok"
    assert [r["outcome"] for r in ledger(wh)] == ["malformed_response", "malformed_response", "ok"]


def test_giving_up_after_max_attempts_records_the_reason(server, wh, store):
    server.enqueue(*[ErrorReply(502, message="bad gateway")] * 3)
    settings = fast_settings(retry=RetryPolicy(max_attempts=3, base_s=0.01))
    run = run_extraction([meeting(1)], make_backend(server), store, settings)
    outcome = run.outcomes[0]
    assert outcome.status == "failed" and outcome.result is None
    assert "HTTP 502" in outcome.error and "after 3 attempts" in outcome.error
    assert len(server.chat_requests()) == 3


def test_a_rejected_request_is_not_retried(server, wh, store):
    server.enqueue(ErrorReply(400, message="context length exceeded"))
    run = run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    assert run.outcomes[0].status == "failed" and "context length exceeded" in run.outcomes[0].error
    assert _attempts(wh) == [("meeting-1", 1, "rejected")]


def test_output_that_is_not_json_gets_one_repair_retry(server, wh, store):
    server.enqueue(ChatReply("Sure! Here are the action items: ..."))
    run = run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    assert run.outcomes[0].status == "ok"
    first, repair = server.chat_requests()
    assert repair["messages"][: len(first["messages"])] == first["messages"]
    assert repair["messages"][-2] == {"role": "assistant", "content": "Sure! Here are the action items: ..."}
    assert "does not match the schema" in repair["messages"][-1]["content"]
    assert [r["outcome"] for r in ledger(wh)] == ["invalid_output", "ok"]


def test_truncated_output_gets_one_repair_retry(server, wh, store):
    server.enqueue(ChatReply('{"action_items": [{"task": "prepare the', finish_reason="length"))
    run = run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    assert run.outcomes[0].status == "ok"
    rows = ledger(wh)
    assert [(r["outcome"], r["finish_reason"]) for r in rows] == [("truncated", "length"), ("ok", "stop")]
    assert "cut off at max_tokens" in server.chat_requests()[1]["messages"][-1]["content"]


def test_invalid_twice_fails_and_the_next_run_tries_again(server, wh):
    bad = json_reply({"action_items": [{"task": "x"}], "decisions": [], "open_questions": [], "summary": ""})
    server.enqueue(bad, bad)
    docs = [meeting(1), meeting(2)]
    with make_store(wh, "run-1") as store:
        first = run_extraction(docs, make_backend(server, concurrency=1), store, fast_settings(concurrency=1))
    failed = first.outcomes[0]
    assert failed.status == "failed" and "does not match the schema" in failed.error
    assert first.outcomes[1].status == "ok"
    # Nothing was cached for the failed chunk: the next run asks the model again, and only for it.
    with make_store(wh, "run-2") as store:
        second = run_extraction(docs, make_backend(server), store, fast_settings())
    assert [o.status for o in second.outcomes] == ["ok", "ok"]
    assert [o.from_cache for o in second.outcomes] == [False, True]
    assert requested_titles(server) == ["Kestrel sync 1", "Kestrel sync 1", "Kestrel sync 2", "Kestrel sync 1"]
    runs = wh.query("SELECT run_id, outcome, COUNT(*) AS n FROM llm_calls GROUP BY run_id, outcome "
                    "ORDER BY run_id, outcome")
    assert [(r["run_id"], r["outcome"], r["n"]) for r in runs] == [
        ("run-1", "invalid_output", 2), ("run-1", "ok", 1), ("run-2", "cache_hit", 1), ("run-2", "ok", 1)]


def test_budget_stops_the_run_cleanly_and_the_next_run_finishes(server, wh):
    docs = [meeting(n) for n in range(8)]
    one_request = 1300  # ~650 input tokens by the server's count + max_tokens reserved
    settings = fast_settings(budget_tokens=3 * one_request, max_tokens=400, concurrency=2)
    with make_store(wh, "run-1") as store:
        run = run_extraction(docs, make_backend(server, concurrency=2), store, settings)
    done = [o for o in run.outcomes if o.status == "ok"]
    skipped = run.skipped_for_budget
    assert done and skipped and len(done) + len(skipped) == len(docs)
    assert run.budget_reached and run.budget.spent_tokens <= settings.budget_tokens
    assert all("budget is spent" in o.error for o in skipped)
    spent = wh.scalar("SELECT SUM(tokens_in + tokens_out) FROM llm_calls WHERE run_id = 'run-1'")
    assert spent == run.budget.spent_tokens <= settings.budget_tokens
    assert len(server.chat_requests()) == len(done)
    # Without the budget, the next run does exactly the skipped chunks.
    with make_store(wh, "run-2") as store:
        rest = run_extraction(docs, make_backend(server), store, fast_settings())
    assert all(o.status == "ok" for o in rest.outcomes)
    assert len(server.chat_requests()) == len(docs)
    assert sum(not o.from_cache for o in rest.outcomes) == len(skipped)


def test_a_run_killed_midway_keeps_what_it_paid_for(server, wh):
    server.latency_s = 0.02
    docs = [meeting(n) for n in range(12)]

    class Killed(Exception):
        pass

    class DyingStore(type(make_store(wh))):
        answers = 0

        def store_answer(self, *args, **kw):
            if self.answers == 5:
                raise Killed("the run was killed")
            self.answers += 1
            super().store_answer(*args, **kw)

    with pytest.raises(Killed), DyingStore(wh, "run-1", flush_interval_s=0.05) as store:
        run_extraction(docs, make_backend(server, concurrency=2), store, fast_settings(concurrency=2))
    stored = wh.scalar("SELECT COUNT(*) FROM llm_cache")
    assert stored == 5
    first_titles = requested_titles(server)
    assert len(first_titles) < len(docs), "the run must stop soon after it is killed"

    with make_store(wh, "run-2") as store:
        rerun = run_extraction(docs, make_backend(server, concurrency=2), store, fast_settings(concurrency=2))
    assert all(o.status == "ok" for o in rerun.outcomes)
    assert sum(o.from_cache for o in rerun.outcomes) == 5
    second_titles = requested_titles(server)[len(first_titles):]
    cached_titles = {f"Kestrel sync {o.document_id.split('-')[1]}" for o in rerun.outcomes if o.from_cache}
    assert len(second_titles) == len(docs) - 5
    assert not cached_titles & set(second_titles), "an answer already paid for was asked again"


def test_every_request_asks_for_a_strict_schema_and_no_client_retries(server, wh, store):
    server.enqueue(ErrorReply(500))
    run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    for body in server.chat_requests():
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        assert body["temperature"] == 0 and body["max_tokens"] == 900
        assert "<source>" in first_user(body)
    headers = [r.headers for r in server.requests if r.path.endswith("/chat/completions")]
    assert all(h.get("x-stainless-retry-count", "0") == "0" for h in headers)
    _assert_one_row_per_request(server, wh)


def test_json_object_dialect_puts_the_schema_inside(server, wh, store):
    backend = make_backend(server)
    backend.response_format = "json_object"
    run_extraction([meeting(1)], backend, store, fast_settings())
    fmt = server.chat_requests()[0]["response_format"]
    assert fmt["type"] == "json_object" and fmt["schema"]["required"] == [
        "action_items", "decisions", "open_questions", "summary"]


def test_extraction_results_keep_decisions_and_summary(server, wh, store):
    run = run_extraction([meeting(1)], make_backend(server), store, fast_settings())
    result = run.outcomes[0].result
    assert result.decisions == ["keep the plan"] and result.summary == "One commitment per line."
    cached = json.loads(wh.scalar("SELECT response_json FROM llm_cache"))
    assert cached["decisions"] == ["keep the plan"]


# What llama-cpp-python's OpenAI-compatible server answers to response_format json_schema:
# HTTP 500 with its request validation error (DESIGN.md §5).
_REFUSES_JSON_SCHEMA = ("1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', "
                        "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}")


def _only_json_object(body: dict):
    if body["response_format"]["type"] == "json_schema":
        return ErrorReply(500, message=_REFUSES_JSON_SCHEMA)
    return extraction_model(body)


def test_an_endpoint_that_refuses_json_schema_is_asked_again_in_json_object(server, wh, store):
    server.set_responder(_only_json_object)
    backend = make_backend(server, concurrency=2)
    assert backend.response_format == "auto" and backend.dialect == "json_schema"
    docs = [meeting(n) for n in range(4)]
    run = run_extraction(docs, backend, store, fast_settings(concurrency=2))
    assert all(o.status == "ok" for o in run.outcomes)
    assert backend.dialect == "json_object"
    rows = ledger(wh)
    switched = [r for r in rows if r["outcome"] == "format_switched"]
    # Only requests already on their way when the first refusal came back were refused.
    assert 1 <= len(switched) <= 2 and all(r["http_status"] == 500 for r in switched)
    assert "json_object" in switched[0]["error"]
    types = [b["response_format"]["type"] for b in server.chat_requests()]
    assert types.count("json_schema") == len(switched) and types[-1] == "json_object"
    _assert_one_row_per_request(server, wh)


def test_a_backend_told_json_schema_does_not_switch_and_says_what_to_set(server, wh, store):
    server.set_responder(_only_json_object)
    backend = make_backend(server)
    backend.response_format = "json_schema"
    run = run_extraction([meeting(1)], backend, store, fast_settings())
    outcome = run.outcomes[0]
    assert outcome.status == "failed" and "ASSISTANT_LLM_RESPONSE_FORMAT=json_object" in outcome.error
    assert [r["outcome"] for r in ledger(wh)] == ["rejected"], "a refused dialect is not worth retrying"
    assert backend.dialect == "json_schema"


def test_an_error_about_the_schema_itself_does_not_switch_the_dialect(server, wh, store):
    server.set_responder(lambda body: ErrorReply(
        400, message="Invalid schema for response_format 'extraction': 'additionalProperties' is required"))
    backend = make_backend(server)
    run = run_extraction([meeting(1)], backend, store, fast_settings())
    assert run.outcomes[0].status == "failed"
    assert [r["outcome"] for r in ledger(wh)] == ["rejected"]
    assert backend.dialect == "json_schema"
