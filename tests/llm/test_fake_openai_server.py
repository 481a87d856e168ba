"""The fake OpenAI server, exercised only through the real ``openai`` client.

The other LLM tests trust this server to behave like the real API on the paths they script, so
each reply kind is checked here against what the client actually does with it.
"""

from __future__ import annotations

import io
import json
import threading
import time

import openai
import pytest

from tests.fakes.openai_server import (
    ChatReply,
    ErrorReply,
    FakeOpenAIServer,
    Hang,
    RawReply,
    json_reply,
)

MESSAGES = [
    {"role": "system", "content": "You extract action items."},
    {"role": "user", "content": "Alice will send the report by Friday."},
]


def make_client(srv: FakeOpenAIServer, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=srv.api_key, max_retries=0, **kw)


def ask(client: openai.OpenAI, **kw):
    return client.chat.completions.create(model="fake-model", messages=MESSAGES, **kw)


def test_normal_completion_reports_content_and_usage():
    with FakeOpenAIServer(lambda body: ChatReply("hello there")) as srv:
        client = make_client(srv)
        estimated = ask(client)
        srv.enqueue(ChatReply("exact", prompt_tokens=120, completion_tokens=7))
        exact = ask(client)

    assert estimated.choices[0].message.content == "hello there"
    assert estimated.choices[0].message.role == "assistant"
    assert estimated.choices[0].finish_reason == "stop"
    assert estimated.model == "fake-model"
    prompt_chars = sum(len(m["content"]) for m in MESSAGES)
    assert estimated.usage.prompt_tokens == (prompt_chars + 3) // 4
    assert estimated.usage.completion_tokens == (len("hello there") + 3) // 4
    assert estimated.usage.total_tokens == (
        estimated.usage.prompt_tokens + estimated.usage.completion_tokens
    )
    assert (exact.usage.prompt_tokens, exact.usage.completion_tokens) == (120, 7)
    assert exact.usage.total_tokens == 127
    assert estimated.id != exact.id


def test_requests_are_recorded_without_the_api_key():
    with FakeOpenAIServer(lambda body: ChatReply("ok")) as srv:
        client = make_client(srv)
        ask(client, temperature=0)
        assert [m.id for m in client.models.list()] == ["fake-model"]

    assert [(r.method, r.path) for r in srv.requests] == [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
    ]
    assert srv.chat_requests() == [{"model": "fake-model", "messages": MESSAGES, "temperature": 0}]
    for recorded in srv.requests:
        assert "authorization" not in recorded.headers
        assert srv.api_key not in json.dumps(recorded.headers)
        assert recorded.received_at <= time.time()


def test_response_format_reaches_the_responder():
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "items",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"items": {"type": "array", "items": {"type": "string"}}},
                "required": ["items"],
                "additionalProperties": False,
            },
        },
    }
    seen: list[dict] = []

    def responder(body: dict) -> ChatReply:
        seen.append(body["response_format"])
        return json_reply({"items": ["send the report"]})

    with FakeOpenAIServer(responder) as srv:
        result = ask(make_client(srv), response_format=schema)

    assert seen == [schema]
    assert json.loads(result.choices[0].message.content) == {"items": ["send the report"]}


def test_rate_limit_carries_retry_after():
    with FakeOpenAIServer() as srv:
        srv.enqueue(ErrorReply(429, retry_after=7, message="slow down"))
        with pytest.raises(openai.RateLimitError) as caught:
            ask(make_client(srv))

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert "slow down" in str(caught.value)


def test_server_error_and_unscripted_requests_are_500():
    with FakeOpenAIServer() as srv:
        client = make_client(srv)
        srv.enqueue(ErrorReply(500, message="boom"))
        with pytest.raises(openai.InternalServerError, match="boom"):
            ask(client)
        # Nothing scripted any more: the default must fail loudly, never answer plausibly.
        with pytest.raises(openai.InternalServerError, match="no reply was scripted"):
            ask(client)
        srv.enqueue(ErrorReply(503))
        with pytest.raises(openai.InternalServerError) as caught:
            ask(client)
        assert caught.value.status_code == 503


def test_responder_bug_surfaces_as_500():
    def broken(body: dict) -> ChatReply:
        raise KeyError("missing")

    with (
        FakeOpenAIServer(broken) as srv,
        pytest.raises(openai.InternalServerError, match="responder raised"),
    ):
        ask(make_client(srv))


def test_hang_times_out_the_client_and_close_does_not_wait_for_it():
    srv = FakeOpenAIServer()
    srv.enqueue(Hang(30))
    started = time.monotonic()
    try:
        with pytest.raises(openai.APITimeoutError):
            ask(make_client(srv, timeout=0.3))
        assert time.monotonic() - started < 5
    finally:
        closing = time.monotonic()
        srv.close()
    assert time.monotonic() - closing < 2


def test_close_ends_a_hang_that_is_still_being_served():
    srv = FakeOpenAIServer()
    srv.enqueue(Hang(30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            ask(make_client(srv, timeout=20))
        except BaseException as exc:  # noqa: BLE001 - any client error will do here
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while srv.max_in_flight() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    closing = time.monotonic()
    srv.close()
    caller.join(timeout=5)
    assert time.monotonic() - closing < 2
    assert not caller.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], openai.APIConnectionError)


def test_malformed_json_body_raises_json_decode_error():
    with FakeOpenAIServer() as srv:
        srv.enqueue(RawReply(b'{"choices": ['))
        # What the openai client does: it calls response.json() and lets the decoder's error
        # through, so callers must catch ValueError as well as openai.APIError.
        with pytest.raises(json.JSONDecodeError):
            ask(make_client(srv))


def test_truncated_output_reports_length():
    with FakeOpenAIServer() as srv:
        srv.enqueue(ChatReply('{"items": ["send the', finish_reason="length"))
        result = ask(make_client(srv), max_tokens=5)
    assert result.choices[0].finish_reason == "length"
    assert result.choices[0].message.content == '{"items": ["send the'


def test_enqueued_replies_come_first_in_order_then_the_responder():
    with FakeOpenAIServer(lambda body: ChatReply("from responder")) as srv:
        client = make_client(srv)
        srv.enqueue(ChatReply("first"), ChatReply("second"))
        answers = [ask(client).choices[0].message.content for _ in range(3)]
        srv.set_responder(lambda body: ChatReply("replaced"))
        answers.append(ask(client).choices[0].message.content)
    assert answers == ["first", "second", "from responder", "replaced"]


def test_wrong_api_key_gets_401():
    with FakeOpenAIServer(lambda body: ChatReply("never")) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            ask(client)
    assert caught.value.status_code == 401
    assert "authorization" not in srv.requests[0].headers


def test_concurrent_requests_are_served_in_parallel():
    calls = 8
    with FakeOpenAIServer(lambda body: ChatReply("ok"), latency_s=0.3) as srv:
        client = make_client(srv)
        results: list[str] = []
        failures: list[BaseException] = []

        def call() -> None:
            try:
                results.append(ask(client).choices[0].message.content)
            except BaseException as exc:  # noqa: BLE001 - reported by the asserts below
                failures.append(exc)

        threads = [threading.Thread(target=call) for _ in range(calls)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        elapsed = time.monotonic() - started

    assert failures == []
    assert results == ["ok"] * calls
    assert elapsed < calls * 0.3 / 2, f"{calls} calls took {elapsed:.2f}s: not concurrent"
    assert srv.max_in_flight() >= 4


def test_reply_latency_adds_to_the_server_latency():
    with FakeOpenAIServer(latency_s=0.1) as srv:
        srv.enqueue(ChatReply("slow", latency_s=0.2))
        started = time.monotonic()
        ask(make_client(srv))
        assert time.monotonic() - started >= 0.3


def _batch_input(*custom_ids: str) -> bytes:
    lines = [
        {
            "custom_id": cid,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "fake-model",
                "messages": [{"role": "user", "content": f"task {cid}"}],
            },
        }
        for cid in custom_ids
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_batch_flow_end_to_end_with_an_error_line():
    def responder(body: dict):
        task = body["messages"][0]["content"]
        if task == "task b":
            return ErrorReply(400, message="bad request for b")
        return json_reply({"task": task}, prompt_tokens=10, completion_tokens=3)

    with FakeOpenAIServer(responder, batch_polls_until_done=2) as srv:
        client = make_client(srv)
        data = _batch_input("a", "b", "c")
        uploaded = client.files.create(file=("requests.jsonl", io.BytesIO(data)), purpose="batch")
        assert uploaded.bytes == len(data)
        assert client.files.retrieve(uploaded.id).filename == "requests.jsonl"
        assert client.files.content(uploaded.id).content == data  # byte-exact round trip

        batch = client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
        assert batch.status == "validating"
        assert srv.chat_requests() == []  # lines run only when the batch completes

        statuses = [client.batches.retrieve(batch.id).status for _ in range(2)]
        done = client.batches.retrieve(batch.id)
        assert statuses == ["in_progress", "in_progress"]
        assert done.status == "completed"
        assert (done.request_counts.total, done.request_counts.completed) == (3, 2)
        assert done.request_counts.failed == 1

        output = [
            json.loads(line) for line in client.files.content(done.output_file_id).text.splitlines()
        ]
        errors = [
            json.loads(line) for line in client.files.content(done.error_file_id).text.splitlines()
        ]

    assert [line["custom_id"] for line in output] == ["a", "c"]
    for line in output:
        assert line["error"] is None
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert json.loads(body["choices"][0]["message"]["content"]) == {
            "task": f"task {line['custom_id']}"
        }
        assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    assert len(errors) == 1
    assert errors[0]["custom_id"] == "b"
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"]["error"]["message"] == "bad request for b"
    assert len({line["id"] for line in output + errors}) == 3


def test_batch_with_a_bad_input_line_fails_and_cancel_works():
    with FakeOpenAIServer(lambda body: ChatReply("ok"), batch_polls_until_done=0) as srv:
        client = make_client(srv)
        bad = _batch_input("a") + b"{not json\n"
        bad_file = client.files.create(file=("bad.jsonl", bad), purpose="batch")
        failed = client.batches.create(
            input_file_id=bad_file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert failed.status == "failed"
        assert failed.errors.data[0].line == 2

        good_file = client.files.create(file=("good.jsonl", _batch_input("a")), purpose="batch")
        batch = client.batches.create(
            input_file_id=good_file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert client.batches.cancel(batch.id).status == "cancelling"
        cancelled = client.batches.retrieve(batch.id)
        assert cancelled.status == "cancelled"
        assert cancelled.output_file_id is None

        with pytest.raises(openai.NotFoundError):
            client.batches.retrieve("batch-does-not-exist")
