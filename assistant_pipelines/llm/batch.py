"""OpenAI Batch API mode (``ASSISTANT_LLM_MODE=batch``): half the price, answers within 24 h.

Submitting (:func:`submit_batch`, called by the extraction asset): chunks with a cached answer
are used at once; chunks already waiting in an open batch are left alone; every other chunk
becomes a line of a JSONL file (``custom_id`` = the request's stable id, ``body`` = exactly the
request the synchronous path would send), which is uploaded and turned into one batch. The
batch and its chunks are recorded in ``llm_batches`` and ``llm_batch_items``.

Collecting (:func:`poll_open_batches`, called by ``llm_batch_sensor``): each open batch is
polled; once it has ended, every output line is matched to its chunks by ``custom_id`` and
validated like a synchronous answer. Valid answers go into the cache, every line is one
``llm_calls`` row priced at batch rates, and lines that failed (an error line, an unusable or
truncated answer, a corrupt line, or no line at all) are recorded as failed with their reason.
The weeks the batch touched are returned so they can be re-materialized: that run finds the
answers in the cache, and submits the failed chunks again in the next batch (with the unusable
answer shown to the model, as in the repair retry; a pack that failed is split up). A run
started by the sensor gives up on a chunk after ``max_batch_attempts`` failed batches and
records it as failed; any other run tries it again.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from assistant_pipelines.llm.backends import BackendError, OpenAIBackend
from assistant_pipelines.llm.budget import Budget
from assistant_pipelines.llm.extract import (
    CallRecord,
    ChunkOutcome,
    ExtractionSettings,
    ModelRequest,
    SourceDocument,
    WorkItem,
    answers_from_cache,
    cache_key,
    estimate_request_tokens,
    group_requests,
    parse_answer_text,
    plan_work,
)
from assistant_pipelines.llm.ledger import WarehouseCallStore
from assistant_pipelines.llm.packing import label
from assistant_pipelines.llm.pricing import BATCH_PRICE_FACTOR, estimate_cost_usd
from assistant_pipelines.llm.prompts import prompt_version

ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
OPEN_STATUSES = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
DEFAULT_MAX_BATCH_ATTEMPTS = 3
_REPAIRABLE = frozenset({"invalid_output", "truncated"})


@dataclass
class BatchSubmission:
    """What the asset gets back: an outcome for every chunk, and the batch it created, if any."""

    prompt_version: str
    outcomes: list[ChunkOutcome]
    calls: list[CallRecord]  # the cache hits' ledger rows
    batch_id: str | None = None
    submitted_requests: int = 0
    submitted_chunks: int = 0
    error: str | None = None  # why submitting failed, if it did

    @property
    def pending(self) -> list[ChunkOutcome]:
        return [o for o in self.outcomes if o.status == "pending_batch"]


def _outcome(item: WorkItem, model: str, version: str, status: str, error: str | None,
             packed: bool = False) -> ChunkOutcome:
    return ChunkOutcome(item.document.document_id, item.chunk, item.chunk_count, model, version, None,
                        error=error, status=status, input_hash=item.input_hash, packed=packed)


def _with_retries(action: Callable[[], Any], settings: ExtractionSettings, sleep: Callable[[float], None]) -> Any:
    """An upload or batch call under the same retry policy as a chat call."""
    import openai

    for attempt in range(1, settings.retry.max_attempts + 1):
        try:
            return action()
        except (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError) as exc:
            if attempt == settings.retry.max_attempts:
                raise BackendError(f"the Batch API did not accept the batch: {exc}", kind="server_error") from None
            response = getattr(exc, "response", None)
            from assistant_pipelines.llm.limiter import parse_retry_after

            sleep(settings.retry.delay(attempt, parse_retry_after(response.headers) if response is not None else None))
        except openai.APIError as exc:
            raise BackendError(f"the Batch API refused the batch: {exc}", kind="rejected") from None
    raise AssertionError("unreachable")


def submit_batch(
    documents: Sequence[SourceDocument],
    backend: OpenAIBackend,
    store: WarehouseCallStore,
    settings: ExtractionSettings,
    *,
    week: date,
    run_id: str | None = None,
    automatic: bool = False,
    max_batch_attempts: int = DEFAULT_MAX_BATCH_ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
    budget: Budget | None = None,
) -> BatchSubmission:
    """Use cached answers and submit everything else of these documents as one batch.
    ``budget``: the run's, when the focus pass already spent from it (its synchronous
    questions at full price; the batch's requests are reserved at the Batch API's price)."""
    import time

    version = prompt_version()
    items = plan_work(documents, settings)
    hits, hit_calls, uncached = answers_from_cache(items, store, backend.name, backend.model, version,
                                                    mode="batch")
    store.record_calls(hit_calls)
    store.flush()
    outcomes: dict[int, ChunkOutcome] = dict(hits)
    pending_keys = store.pending_batch_keys()
    failures = store.batch_failures()

    fresh: list[WorkItem] = []
    retried: list[ModelRequest] = []
    for item in uncached:
        keys = item.cache_keys(version, backend.model)
        if pending_keys & set(keys.values()):
            outcomes[item.position] = _outcome(item, backend.model, version, "pending_batch",
                                               "waiting for an open batch")
            continue
        failure = failures.get(keys["single"]) or failures.get(keys["packed"])
        if failure is None:
            fresh.append(item)
            continue
        if automatic and failure["failures"] >= max_batch_attempts:
            outcomes[item.position] = _outcome(
                item, backend.model, version, "failed",
                f"failed in {failure['failures']} batches, last: {failure['error']}; the next run "
                "not started by the batch sensor tries again")
            continue
        repair = None
        if not failure["packed"] and failure["outcome"] in _REPAIRABLE and failure["bad_answer"]:
            repair = (failure["bad_answer"], failure["error"] or "invalid answer")
        # A chunk that failed inside a pack is asked on its own next time.
        retried.append(ModelRequest((item,), False, settings.max_tokens, repair_of=repair))
    requests = sorted([*group_requests(fresh, settings), *retried], key=lambda r: r.items[0].position)

    if budget is None and (settings.budget_tokens is not None or settings.budget_usd is not None):
        budget = Budget(max_tokens=settings.budget_tokens, max_usd=settings.budget_usd, model=backend.model,
                        backend=backend.name)
    lines: list[bytes] = []
    item_rows: list[dict[str, Any]] = []
    submitted: list[ModelRequest] = []
    for request in requests:
        messages, schema = request.messages(), request.schema()
        if budget is not None and budget.reserve(estimate_request_tokens(messages, schema), request.max_tokens,
                                                 wait=False, price_factor=BATCH_PRICE_FACTOR) is None:
            for item in request.items:
                outcomes[item.position] = _outcome(
                    item, backend.model, version, "skipped_budget",
                    f"skipped: the batch would exceed the run's budget ({budget.describe()}); the next run "
                    "picks this up")
            continue
        submitted.append(request)
        line = {"custom_id": request.request_id, "method": "POST", "url": ENDPOINT,
                "body": backend.request_body(messages, schema, request.max_tokens)}
        lines.append(json.dumps(line, separators=(",", ":")).encode())
        for index, item in enumerate(request.items):
            key = cache_key(item.input_hash, version, backend.model, request.schema_name)
            prior = failures.get(key) or failures.get(item.cache_keys(version, backend.model)["single"])
            item_rows.append({
                "custom_id": request.request_id, "member_index": index, "cache_key": key,
                "document_id": item.document.document_id, "chunk_index": item.chunk.index,
                "input_hash": item.input_hash, "week_start": week, "packed": request.packed,
                "attempt": (prior["failures"] + 1) if prior else 1, "status": "pending", "outcome": None,
                "error": None, "bad_answer": None,
            })

    submission = BatchSubmission(version, [], hit_calls)
    if submitted:
        data = b"".join(line + b"\n" for line in lines)
        try:
            wait = sleep or time.sleep
            uploaded = _with_retries(lambda: backend.client.files.create(
                file=(f"extraction-{week.isoformat()}-{version.split('@')[-1]}.jsonl", io.BytesIO(data)),
                purpose="batch"), settings, wait)
            batch = _with_retries(lambda: backend.client.batches.create(
                input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window=COMPLETION_WINDOW,
                metadata={"prompt_version": version, "week": week.isoformat()}), settings, wait)
        except BackendError as exc:
            submission.error = str(exc)
            for request in submitted:
                for item in request.items:
                    outcomes[item.position] = _outcome(item, backend.model, version, "failed", str(exc))
        else:
            now = datetime.now(UTC)
            store.record_batch(
                {"batch_id": batch.id, "status": batch.status, "model": backend.model, "prompt_version": version,
                 "input_file_id": uploaded.id, "output_file_id": None, "error_file_id": None,
                 "request_count": len(submitted), "completed_count": None, "failed_count": None,
                 "weeks": json.dumps([week.isoformat()]), "run_id": run_id, "created_at": now, "checked_at": now,
                 "ingested_at": None, "error": None},
                [{**row, "batch_id": batch.id} for row in item_rows])
            submission.batch_id = batch.id
            submission.submitted_requests = len(submitted)
            submission.submitted_chunks = len(item_rows)
            for request in submitted:
                for item in request.items:
                    outcomes[item.position] = _outcome(item, backend.model, version, "pending_batch",
                                                       f"submitted in batch {batch.id}", packed=request.packed)
    submission.outcomes = [outcomes[item.position] for item in items]
    return submission


# ------------------------------------------------------------------------------- collecting
@dataclass
class BatchIngest:
    """What polling one open batch found."""

    batch_id: str
    status: str
    finished: bool
    weeks: list[date] = field(default_factory=list)
    answered_chunks: int = 0
    failed_chunks: int = 0
    cost_usd: float = 0.0
    error: str | None = None


def _line_outcome(status_code: int | None, error_code: str | None) -> str:
    if error_code in {"request_timeout", "timeout"}:
        return "timeout"
    if status_code == 429:
        return "rate_limited"
    if status_code is not None and status_code >= 500:
        return "server_error"
    if status_code is not None and status_code >= 400:
        return "rejected"
    return "batch_failed"


def _error_message(record: dict[str, Any]) -> tuple[int | None, str | None, str]:
    response = record.get("response") or {}
    error = record.get("error") or {}
    status = response.get("status_code") if isinstance(response, dict) else None
    body_error = ((response.get("body") or {}).get("error") or {}) if isinstance(response, dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    message = (error.get("message") if isinstance(error, dict) else None) or body_error.get("message") or "failed"
    prefix = f"HTTP {status}: " if status else (f"{code}: " if code else "")
    return status, code, f"the batch line failed: {prefix}{message}"


def _read_lines(client: Any, file_id: str | None) -> tuple[list[dict[str, Any]], int]:
    """The JSON lines of a batch result file, and how many lines were not readable."""
    if not file_id:
        return [], 0
    text = client.files.content(file_id).text
    records, corrupt = [], 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            corrupt += 1
            continue
        if isinstance(record, dict) and isinstance(record.get("custom_id"), str):
            records.append(record)
        else:
            corrupt += 1
    return records, corrupt


def ingest_batch(backend: OpenAIBackend, store: WarehouseCallStore, batch_row: dict[str, Any]) -> BatchIngest:
    """Poll one open batch; if it has ended, store its answers and failures (see module doc)."""
    client = backend.client
    batch_id = batch_row["batch_id"]
    remote = client.batches.retrieve(batch_id)
    if remote.status in OPEN_STATUSES:
        store.update_batch_status(batch_id, remote.status)
        return BatchIngest(batch_id, remote.status, finished=False)

    outputs, corrupt_out = _read_lines(client, remote.output_file_id)
    errors, corrupt_err = _read_lines(client, remote.error_file_id)
    by_custom: dict[str, list[dict[str, Any]]] = {}
    for item in store.batch_items(batch_id):
        by_custom.setdefault(item["custom_id"], []).append(item)
    version, model = batch_row["prompt_version"], batch_row["model"]
    now = datetime.now(UTC)
    answers: list[dict[str, Any]] = []
    calls: list[CallRecord] = []
    updated: list[dict[str, Any]] = []
    seen: set[str] = set()
    result = BatchIngest(batch_id, remote.status, finished=True)

    def ledger(custom_id: str, members: list[dict[str, Any]], outcome: str, error: str | None, **kw: Any) -> None:
        packed = len(members) > 1
        first = members[0]
        calls.append(CallRecord(
            call_id=hashlib.sha256(f"{batch_id}\x1f{custom_id}".encode()).hexdigest()[:32],
            document_id=None if packed else first["document_id"],
            chunk_index=None if packed else first["chunk_index"],
            backend="openai", model=model, prompt_version=version,
            input_hash=first["input_hash"] if not packed else hashlib.sha256(
                "\x1f".join(m["input_hash"] for m in members).encode()).hexdigest(),
            latency_ms=None, attempt=max(m["attempt"] for m in members), outcome=outcome, error=error,
            started_at=batch_row["created_at"], request_id=custom_id, mode="batch",
            document_ids=json.dumps([m["document_id"] for m in members]) if packed else None,
            **{"tokens_in": None, "tokens_out": None, "cost_usd": None, "finish_reason": None,
               "http_status": None, **kw},
        ))

    def fail(members: list[dict[str, Any]], outcome: str, error: str, bad_answer: str | None = None) -> None:
        for member in members:
            updated.append({**member, "batch_id": batch_id, "status": "failed", "outcome": outcome, "error": error,
                            "bad_answer": bad_answer[:4000] if bad_answer else None})
        result.failed_chunks += len(members)

    for record in outputs:
        custom_id = record["custom_id"]
        members = by_custom.get(custom_id)
        if members is None or custom_id in seen:
            continue  # not ours, or a repeated line: the first one counts
        seen.add(custom_id)
        response = record.get("response") or {}
        body = response.get("body") if isinstance(response, dict) else None
        status_code = response.get("status_code") if isinstance(response, dict) else None
        if status_code != 200 or not isinstance(body, dict):
            status, code, message = _error_message(record)
            ledger(custom_id, members, _line_outcome(status, code), message, http_status=status)
            fail(members, _line_outcome(status, code), message)
            continue
        try:
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            finish_reason = choice.get("finish_reason")
            usage = body.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            message = "the batch line has no usable choices"
            ledger(custom_id, members, "malformed_response", message, http_status=200)
            fail(members, "malformed_response", message)
            continue
        tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
        cost = estimate_cost_usd("openai", body.get("model") or model, tokens_in, tokens_out, batch=True)
        result.cost_usd += cost or 0.0
        labels = [label(m["member_index"]) for m in members] if members[0]["packed"] else None
        parsed, error, outcome = parse_answer_text(text, finish_reason, labels)
        ledger(custom_id, members, outcome, error, tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost,
               finish_reason=finish_reason, http_status=200)
        if parsed is None:
            fail(members, outcome, error or "invalid answer", text)
            continue
        for member, answer in zip(members, parsed, strict=True):
            answers.append({"cache_key": member["cache_key"], "model": model, "prompt_version": version,
                            "input_hash": member["input_hash"], "response_json": answer.model_dump_json()})
            updated.append({**member, "batch_id": batch_id, "status": "ok", "outcome": "ok", "error": None,
                            "bad_answer": None})
            result.answered_chunks += 1

    for record in errors:
        custom_id = record["custom_id"]
        members = by_custom.get(custom_id)
        if members is None or custom_id in seen:
            continue
        seen.add(custom_id)
        status, code, message = _error_message(record)
        ledger(custom_id, members, _line_outcome(status, code), message, http_status=status)
        fail(members, _line_outcome(status, code), message)

    corrupt = corrupt_out + corrupt_err
    for custom_id, members in by_custom.items():
        if custom_id in seen:
            continue
        message = (f"no readable result for this request (batch {remote.status}"
                   + (f", {corrupt} corrupt line(s) in its result files" if corrupt else "") + ")")
        ledger(custom_id, members, "batch_failed", message)
        fail(members, "batch_failed", message)

    problems = [f"{e.code}: {e.message}" for e in (remote.errors.data if remote.errors and remote.errors.data else [])]
    counts = remote.request_counts
    store.finish_batch(
        {**batch_row, "status": remote.status, "output_file_id": remote.output_file_id,
         "error_file_id": remote.error_file_id, "completed_count": counts.completed if counts else None,
         "failed_count": counts.failed if counts else None, "error": "; ".join(problems)[:2000] or None,
         "checked_at": now, "ingested_at": now},
        updated, answers, calls)
    result.weeks = sorted({m["week_start"] for members in by_custom.values() for m in members})
    result.error = "; ".join(problems) or None
    return result


def poll_open_batches(backend: OpenAIBackend, store: WarehouseCallStore) -> list[BatchIngest]:
    """Poll every open batch once (see :func:`ingest_batch`)."""
    return [ingest_batch(backend, store, row) for row in store.open_batches()]
