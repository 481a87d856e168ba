"""A scriptable OpenAI-compatible HTTP server on 127.0.0.1 for tests.

The project reaches models only through the real ``openai`` client, whose transport HTTP mocking
libraries do not intercept, so tests point that client at this server instead::

    with FakeOpenAIServer(lambda body: json_reply({"items": []})) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key=srv.api_key, max_retries=0)
        ...
        assert srv.chat_requests()[0]["response_format"]["type"] == "json_schema"

What it serves (paths under ``/v1``): ``POST /chat/completions``, ``GET /models``, and the Batch
API (``POST /files``, ``GET /files/{id}``, ``GET /files/{id}/content``, ``POST /batches``,
``GET /batches/{id}``, ``POST /batches/{id}/cancel``).

Every chat completion, over HTTP or as a line of a batch, is answered by the next reply queued
with :meth:`FakeOpenAIServer.enqueue` or, when the queue is empty, by the responder. With neither,
the server answers HTTP 500 saying no reply was scripted, so a test never passes by accident.
The responder is called from the server's request threads, possibly several at once.

Only the standard library is used: ``ThreadingHTTPServer`` in a daemon thread, one thread per
request, on a free port.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = [
    "ChatReply",
    "ErrorReply",
    "FakeOpenAIServer",
    "Hang",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Responder",
    "json_reply",
]


# --------------------------------------------------------------------------- replies


@dataclass
class ChatReply:
    """A normal chat completion whose message content is ``content``."""

    content: str
    finish_reason: str = "stop"  # "length" simulates output cut off at max_tokens
    prompt_tokens: int | None = None  # None → estimated from the prompt's characters
    completion_tokens: int | None = None  # None → estimated from ``content``
    latency_s: float = 0.0
    # token → log probability of the first answer token, returned as ``top_logprobs`` when
    # the request asks for ``logprobs`` (as OpenAI, vLLM and llama.cpp's server do)
    top_logprobs: dict[str, float] | None = None


@dataclass
class ErrorReply:
    """An HTTP error with an OpenAI-shaped body ``{"error": {...}}``."""

    status: int  # 429, 500, 503, 400 …
    retry_after: float | None = None  # sets the Retry-After header (seconds)
    message: str = "fake error"
    latency_s: float = 0.0


@dataclass
class Hang:
    """Accept the request and answer nothing for ``seconds``, then drop the connection.

    For the client's time-out path; the wait ends early when the server closes. In a batch the
    line is reported as a failed request with error code ``request_timeout``.
    """

    seconds: float


@dataclass
class RawReply:
    """Send ``body`` verbatim, e.g. ``b'{"choices": ['``, to test malformed responses.

    In a batch, ``body`` becomes that line of the output file verbatim (a corrupt result line).
    """

    body: bytes
    status: int = 200
    content_type: str = "application/json"


Reply = ChatReply | ErrorReply | Hang | RawReply
Responder = Callable[[dict], Reply]


def judge_reply(p_yes: float, **kw: Any) -> ChatReply:
    """The answer to a yes/no question with probability ``p_yes`` of "yes": the likelier word
    as content and both in ``top_logprobs``."""
    import math

    logprobs = {"yes": math.log(max(p_yes, 1e-9)), "no": math.log(max(1 - p_yes, 1e-9))}
    return ChatReply(content="yes" if p_yes >= 0.5 else "no", finish_reason="length", top_logprobs=logprobs,
                     completion_tokens=1, **kw)


def json_reply(obj: Any, **kw: Any) -> ChatReply:
    """A :class:`ChatReply` whose content is ``obj`` serialised as JSON; ``kw`` go to ChatReply."""
    return ChatReply(content=json.dumps(obj), **kw)


def _no_reply_scripted(body: dict) -> Reply:
    # A loud default: a test that forgot to script the model must fail, not get a plausible answer.
    return ErrorReply(
        status=500,
        message="FakeOpenAIServer: no reply was scripted for this request "
        "(enqueue replies or set a responder)",
    )


@dataclass
class RecordedRequest:
    """One HTTP request as the server received it (the Authorization header is left out)."""

    method: str
    path: str  # as requested, e.g. "/v1/chat/completions"
    json: Any | None  # the parsed JSON body; None for no body, multipart or invalid JSON
    headers: dict[str, str]  # lower-cased names
    received_at: float  # time.time()


# --------------------------------------------------------------------------- helpers


def estimate_tokens(text: str) -> int:
    """About four characters per token, rounded up: close enough for usage bookkeeping tests."""
    return (len(text) + 3) // 4


def _prompt_text(body: dict) -> str:
    """The text of all messages; content may be a string or a list of ``{"type": "text"}`` parts."""
    chunks: list[str] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            chunks.append(content)
        elif isinstance(content, list):
            chunks.extend(
                part["text"]
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
    return "".join(chunks)


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def _error_body(status: int, message: str, code: str | None = None) -> dict:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``{field name: (file name or None, raw bytes)}`` of a multipart/form-data body.

    Split by hand on the boundary so file bytes come back exactly as sent; each part's headers go
    through the stdlib e-mail header parser for the quoting rules of Content-Disposition.
    """
    ctype = BytesHeaderParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    )
    boundary = ctype.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    fields: dict[str, tuple[str | None, bytes]] = {}
    # The leading CRLF lets the first delimiter match the same pattern as the others.
    chunks = (b"\r\n" + body).split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        _, _, chunk = chunk.partition(b"\r\n")  # rest of the delimiter line
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without a blank line after its headers")
        headers = BytesHeaderParser(policy=HTTP).parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (headers.get_filename(), content)
    return fields


# --------------------------------------------------------------------------- server


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict | None
    lines: list[dict]  # parsed input lines; empty when validation failed
    created_at: int
    status: str = "validating"
    polls: int = 0
    errors: list[dict] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    timestamps: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        stamp = self.timestamps.get
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": stamp("in_progress"),
            "expires_at": self.created_at + 24 * 3600,
            "finalizing_at": stamp("finalizing"),
            "completed_at": stamp("completed"),
            "failed_at": stamp("failed"),
            "expired_at": None,
            "cancelling_at": stamp("cancelling"),
            "cancelled_at": stamp("cancelled"),
            "request_counts": {
                "total": len(self.lines),
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
        }


class _HTTPServer(ThreadingHTTPServer):
    """Keeps track of open connections so :meth:`FakeOpenAIServer.close` can cut them."""

    daemon_threads = True
    # close() cuts connections itself and joins with a deadline; never block on a stuck client.
    block_on_close = False
    fake: FakeOpenAIServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()
        self.handler_threads: set[threading.Thread] = set()
        self.conn_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
            self.handler_threads.add(threading.current_thread())
        try:
            super().finish_request(request, client_address)
        finally:
            with self.conn_lock:
                self.connections.discard(request)
                self.handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or a close() that cut the socket is expected, not news.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeOpenAIServer:
    """An OpenAI-compatible server on ``127.0.0.1``; use as ``with FakeOpenAIServer(r) as srv:``.

    ``latency_s`` is added to every chat reply's own latency. ``model`` is what ``GET /models``
    lists and what replies name when the request names none. A batch reports ``in_progress`` for
    its first ``batch_polls_until_done`` retrievals, then runs its lines and reports ``completed``.
    """

    api_key = "sk-fake-test-key"

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency_s: float = 0.0,
        model: str = "fake-model",
        batch_polls_until_done: int = 1,
    ) -> None:
        self.latency_s = latency_s
        self.model = model
        self.batch_polls_until_done = batch_polls_until_done
        self.requests: list[RecordedRequest] = []
        self._responder: Responder = responder or _no_reply_scripted
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._in_flight = 0
        self._max_in_flight = 0
        self._counter = 0
        self._files: dict[str, _File] = {}
        self._batches: dict[str, _Batch] = {}
        self._closed = False

        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-openai-{port}",
            daemon=True,
        )
        self._thread.start()

    # ---- scripting

    def enqueue(self, *replies: Reply) -> None:
        """Queue one-shot replies; they answer the next chat completions in order, before the
        responder is asked."""
        for reply in replies:
            _check_reply(reply)
        with self._lock:
            self._queue.extend(replies)

    def set_responder(self, responder: Responder) -> None:
        """Answer chat completions with ``responder(request_json)`` once the queue is empty."""
        with self._lock:
            self._responder = responder

    # ---- inspection

    def chat_requests(self) -> list[dict]:
        """The JSON bodies of the ``POST /chat/completions`` requests received, in order
        (including any the server refused, e.g. for a wrong API key)."""
        with self._lock:
            return [
                r.json
                for r in self.requests
                if r.method == "POST"
                and r.path.rstrip("/").endswith("/chat/completions")
                and isinstance(r.json, dict)
            ]

    def max_in_flight(self) -> int:
        """The most chat completion requests that were being served at the same time."""
        with self._lock:
            return self._max_in_flight

    # ---- lifecycle

    def close(self) -> None:
        """Stop serving; ends any Hang or latency wait at once and cuts open connections."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._httpd.conn_lock:
            connections = list(self._httpd.connections)
            threads = list(self._httpd.handler_threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
        self._thread.join(timeout=5)
        deadline = time.monotonic() + 5
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- used by the handler

    def _next_id(self, prefix: str) -> str:
        """A unique id shaped like the real API's: ``chatcmpl-…``, ``file-…``, ``batch_…``."""
        with self._lock:
            self._counter += 1
            return f"{prefix}fake{self._counter:06d}"

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            queued = self._queue.popleft() if self._queue else None
            responder = self._responder
        if queued is not None:
            return queued
        try:
            reply = responder(body)
        except Exception as exc:  # noqa: BLE001 - a test's own bug must come back as a 500
            return ErrorReply(status=500, message=f"FakeOpenAIServer: responder raised {exc!r}")
        try:
            _check_reply(reply)
        except TypeError as exc:
            return ErrorReply(status=500, message=f"FakeOpenAIServer: {exc}")
        return reply

    def _enter_chat(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave_chat(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _completion(self, body: dict, reply: ChatReply) -> dict:
        prompt_tokens = (
            reply.prompt_tokens
            if reply.prompt_tokens is not None
            else estimate_tokens(_prompt_text(body))
        )
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else estimate_tokens(reply.content)
        )
        model = body.get("model") if isinstance(body.get("model"), str) else self.model
        return {
            "id": self._next_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "finish_reason": reply.finish_reason,
                    "logprobs": _logprobs(reply) if body.get("logprobs") else None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_fake",
        }

    def _store_file(self, filename: str, purpose: str, data: bytes) -> _File:
        stored = _File(
            id=self._next_id("file-"),
            filename=filename,
            purpose=purpose,
            data=data,
            created_at=int(time.time()),
        )
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def _get_file(self, file_id: str) -> _File | None:
        with self._lock:
            return self._files.get(file_id)

    def _create_batch(self, body: dict) -> tuple[int, dict]:
        input_file_id = body.get("input_file_id")
        endpoint = body.get("endpoint")
        window = body.get("completion_window")
        if endpoint != "/v1/chat/completions":
            return 400, _error_body(400, f"endpoint {endpoint!r} is not supported by the fake")
        if window != "24h":
            return 400, _error_body(400, f"completion_window must be '24h', got {window!r}")
        source = self._get_file(input_file_id) if isinstance(input_file_id, str) else None
        if source is None:
            return 404, _error_body(404, f"no such file: {input_file_id!r}")
        lines, errors = _parse_batch_input(source.data, endpoint)
        now = int(time.time())
        batch = _Batch(
            id=self._next_id("batch_"),
            input_file_id=input_file_id,
            endpoint=endpoint,
            completion_window=window,
            metadata=body.get("metadata"),
            lines=[] if errors else lines,
            created_at=now,
            errors=errors,
        )
        if errors:  # like the real API: a bad input file fails the whole batch
            batch.status = "failed"
            batch.timestamps["failed"] = now
        with self._lock:
            self._batches[batch.id] = batch
        return 200, batch.to_json()

    def _poll_batch(self, batch_id: str) -> tuple[int, dict]:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            return 404, _error_body(404, f"no such batch: {batch_id!r}")
        run_now = False
        with self._lock:
            now = int(time.time())
            if batch.status == "cancelling":
                batch.status = "cancelled"
                batch.timestamps["cancelled"] = now
            elif batch.status in ("validating", "in_progress"):
                if batch.polls < self.batch_polls_until_done:
                    batch.polls += 1
                    batch.status = "in_progress"
                    batch.timestamps.setdefault("in_progress", now)
                else:
                    # Claim the run under the lock so two concurrent polls cannot both run it.
                    batch.status = "finalizing"
                    batch.timestamps.setdefault("in_progress", now)
                    batch.timestamps["finalizing"] = now
                    run_now = True
        if run_now:
            self._run_batch(batch)
        with self._lock:
            return 200, batch.to_json()

    def _cancel_batch(self, batch_id: str) -> tuple[int, dict]:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return 404, _error_body(404, f"no such batch: {batch_id!r}")
            if batch.status not in ("validating", "in_progress"):
                return 409, _error_body(409, f"cannot cancel a batch that is {batch.status}")
            batch.status = "cancelling"
            batch.timestamps["cancelling"] = int(time.time())
            return 200, batch.to_json()

    def _run_batch(self, batch: _Batch) -> None:
        """Answer every line through the queue/responder and write the output and error files."""
        outputs: list[bytes] = []
        errors: list[bytes] = []
        completed = failed = 0
        for line in batch.lines:
            reply = self._next_reply(line["body"])
            line_id = self._next_id("batch_req_")
            request_id = self._next_id("req_")
            if isinstance(reply, ChatReply):
                completed += 1
                record = {
                    "id": line_id,
                    "custom_id": line["custom_id"],
                    "response": {
                        "status_code": 200,
                        "request_id": request_id,
                        "body": self._completion(line["body"], reply),
                    },
                    "error": None,
                }
                outputs.append(json.dumps(record).encode())
            elif isinstance(reply, RawReply):
                completed += 1
                outputs.append(reply.body.rstrip(b"\n"))
            elif isinstance(reply, ErrorReply):
                failed += 1
                record = {
                    "id": line_id,
                    "custom_id": line["custom_id"],
                    "response": {
                        "status_code": reply.status,
                        "request_id": request_id,
                        "body": _error_body(reply.status, reply.message),
                    },
                    "error": None,
                }
                errors.append(json.dumps(record).encode())
            else:  # Hang: no HTTP answer at all, which the Batch API reports as a non-HTTP error
                failed += 1
                record = {
                    "id": line_id,
                    "custom_id": line["custom_id"],
                    "response": None,
                    "error": {"code": "request_timeout", "message": "the request timed out"},
                }
                errors.append(json.dumps(record).encode())
        output_file = (
            self._store_file(f"{batch.id}_output.jsonl", "batch_output", _jsonl(outputs))
            if outputs
            else None
        )
        error_file = (
            self._store_file(f"{batch.id}_error.jsonl", "batch_output", _jsonl(errors))
            if errors
            else None
        )
        with self._lock:
            batch.completed, batch.failed = completed, failed
            batch.output_file_id = output_file.id if output_file else None
            batch.error_file_id = error_file.id if error_file else None
            batch.status = "completed"
            batch.timestamps["completed"] = int(time.time())


def _logprobs(reply: ChatReply) -> dict | None:
    if not reply.top_logprobs:
        return None
    top = [{"token": token, "logprob": lp, "bytes": list(token.encode())}
           for token, lp in sorted(reply.top_logprobs.items(), key=lambda kv: -kv[1])]
    return {"content": [{**top[0], "top_logprobs": top}], "refusal": None}


def _jsonl(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _check_reply(reply: object) -> None:
    if not isinstance(reply, ChatReply | ErrorReply | Hang | RawReply):
        raise TypeError(f"not a Reply: {reply!r}")


def _parse_batch_input(data: bytes, endpoint: str) -> tuple[list[dict], list[dict]]:
    """The input file's request lines, or the validation errors that fail the batch."""
    lines: list[dict] = []
    errors: list[dict] = []
    seen: set[str] = set()

    def fail(line_no: int, code: str, message: str) -> None:
        errors.append({"code": code, "message": message, "param": None, "line": line_no})

    for line_no, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            fail(line_no, "invalid_json_line", "this line is not valid JSON")
            continue
        if not isinstance(item, dict):
            fail(line_no, "invalid_request", "a line must be a JSON object")
            continue
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            fail(line_no, "missing_required_parameter", "custom_id is required")
        elif custom_id in seen:
            fail(line_no, "duplicate_custom_id", f"custom_id {custom_id!r} is used twice")
        elif item.get("method") != "POST":
            fail(line_no, "invalid_method", "method must be POST")
        elif item.get("url") != endpoint:
            fail(line_no, "mismatched_url", f"url must be the batch's endpoint {endpoint}")
        elif not isinstance(item.get("body"), dict):
            fail(line_no, "missing_required_parameter", "body must be a JSON object")
        else:
            seen.add(custom_id)
            lines.append(item)
    if not lines and not errors:
        fail(1, "empty_file", "the input file has no requests")
    return lines, errors


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
    # Headers and body go out in two writes; with Nagle's algorithm on, the body then waits for
    # the client's delayed ACK (~40 ms on Linux), which would add to every scripted latency.
    disable_nagle_algorithm = True
    server: _HTTPServer
    timeout = 60  # an idle keep-alive connection must not hold a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests; the requests are recorded on the server object instead

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ---- plumbing

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-request-id", self.fake._next_id("req_"))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (time-out) or close() cut us

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers=headers)

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        content_type = self.headers.get("Content-Type") or ""
        parsed: Any = None
        if body and content_type.startswith("application/json"):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.fake._record(RecordedRequest(method, path, parsed, headers, time.time()))

        if self.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            self._send_json(
                401,
                _error_body(401, "Incorrect API key provided.", code="invalid_api_key"),
            )
            return
        if not path.startswith("/v1/"):
            self._send_json(404, _error_body(404, f"unknown path {path}"))
            return
        parts = [p for p in path[len("/v1/") :].split("/") if p]
        route = (method, *parts)

        match route:
            case ("POST", "chat", "completions"):
                self._chat(body, parsed)
            case ("GET", "models"):
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": self.fake.model,
                                "object": "model",
                                "created": 0,
                                "owned_by": "fake",
                            }
                        ],
                    },
                )
            case ("POST", "files"):
                self._upload(body, content_type)
            case ("GET", "files", file_id):
                stored = self.fake._get_file(file_id)
                if stored is None:
                    self._send_json(404, _error_body(404, f"no such file: {file_id!r}"))
                else:
                    self._send_json(200, stored.to_json())
            case ("GET", "files", file_id, "content"):
                stored = self.fake._get_file(file_id)
                if stored is None:
                    self._send_json(404, _error_body(404, f"no such file: {file_id!r}"))
                else:
                    self._send(200, stored.data, "application/octet-stream")
            case ("POST", "batches"):
                if not isinstance(parsed, dict):
                    self._send_json(400, _error_body(400, "the body must be a JSON object"))
                else:
                    self._send_json(*self.fake._create_batch(parsed))
            case ("GET", "batches", batch_id):
                self._send_json(*self.fake._poll_batch(batch_id))
            case ("POST", "batches", batch_id, "cancel"):
                self._send_json(*self.fake._cancel_batch(batch_id))
            case _:
                self._send_json(404, _error_body(404, f"unknown route {method} {path}"))

    # ---- endpoints

    def _chat(self, raw: bytes, body: Any) -> None:
        if not isinstance(body, dict):
            self._send_json(400, _error_body(400, "the body must be a JSON object"))
            return
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            self._send_json(
                400, _error_body(400, "a chat completion needs 'model' and a 'messages' list")
            )
            return
        if body.get("stream"):
            self._send_json(400, _error_body(400, "the fake server does not stream"))
            return
        fake = self.fake
        fake._enter_chat()
        try:
            reply = fake._next_reply(body)
            if isinstance(reply, Hang):
                fake._stop.wait(reply.seconds)
                self.close_connection = True  # never answer: the client sees a time-out or EOF
                return
            own_latency = reply.latency_s if isinstance(reply, ChatReply | ErrorReply) else 0.0
            if fake._stop.wait(fake.latency_s + own_latency):
                self.close_connection = True  # closing: don't answer mid-shutdown
                return
            if isinstance(reply, ChatReply):
                self._send_json(200, fake._completion(body, reply))
            elif isinstance(reply, ErrorReply):
                headers = {}
                if reply.retry_after is not None:
                    headers["Retry-After"] = f"{reply.retry_after:g}"
                self._send_json(reply.status, _error_body(reply.status, reply.message), headers)
            else:
                self._send(reply.status, reply.body, reply.content_type)
        finally:
            fake._leave_chat()

    def _upload(self, body: bytes, content_type: str) -> None:
        if not content_type.startswith("multipart/form-data"):
            self._send_json(400, _error_body(400, "files must be uploaded as multipart/form-data"))
            return
        try:
            fields = _parse_multipart(body, content_type)
        except ValueError as exc:
            self._send_json(400, _error_body(400, f"bad multipart body: {exc}"))
            return
        if "file" not in fields or "purpose" not in fields:
            self._send_json(400, _error_body(400, "an upload needs 'file' and 'purpose' fields"))
            return
        filename, data = fields["file"]
        purpose = fields["purpose"][1].decode("utf-8", "replace")
        stored = self.fake._store_file(filename or "upload", purpose, data)
        self._send_json(200, stored.to_json())
