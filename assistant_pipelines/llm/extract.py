"""The extraction loop: documents in, validated per-chunk results out.

Planning (:func:`plan_work`, :func:`group_requests`): every document is cut into chunks; each
chunk is a :class:`WorkItem` with an input hash over everything the model is shown of it. Short
e-mails may be packed several to a :class:`ModelRequest` (:mod:`~assistant_pipelines.llm.packing`).

Running (:func:`run_extraction`): a chunk whose answer is cached (input hash × prompt version ×
model × answer schema) costs no call. The others go to worker threads, at most
``concurrency`` requests in flight under an :class:`~assistant_pipelines.llm.limiter.AdaptiveLimiter`
that halves on 429 and honours ``Retry-After``. Failures that may pass are retried with jittered
back-off (:class:`~assistant_pipelines.llm.limiter.RetryPolicy`); an invalid or truncated
answer gets one repair retry with the error shown to the model; a packed answer that is still
wrong is asked again one document at a time. Every attempt is one ledger row, written as it
happens, and every valid answer is cached the moment it arrives, so a run killed half-way
loses nothing it paid for. A chunk that still fails is returned as failed with its reason (and
nothing is cached for it, so the next run tries again); with a budget, chunks that would
exceed it are returned as skipped for budget.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol

from pydantic import ValidationError

from assistant_pipelines.llm.backends import BackendError, ChatBackend
from assistant_pipelines.llm.budget import Budget
from assistant_pipelines.llm.chunking import Chunk, chunk_lines, chunk_marked, estimate_tokens
from assistant_pipelines.llm.limiter import AdaptiveLimiter, RetryPolicy
from assistant_pipelines.llm.packing import (
    PackError,
    PackPlan,
    group,
    label,
    packed_max_tokens,
    unpack,
)
from assistant_pipelines.llm.pricing import estimate_cost_usd
from assistant_pipelines.llm.prompts import (
    PromptInput,
    prompt_version,
    render_messages,
    render_packed_messages,
    source_header,
)
from assistant_pipelines.llm.schema import (
    ExtractionResult,
    PackedExtractionResult,
    SchemaName,
    response_json_schema,
    schema_fingerprint,
)

DEFAULT_MAX_TOKENS = 900


@dataclass(frozen=True)
class SourceDocument:
    """What extraction needs to know about one document."""

    document_id: str
    kind: str  # meeting | email | ticket
    title: str
    occurred_at: datetime  # in the team's time zone
    participants: list[str]
    lines: list[str]  # the document text split into lines; numbering is 1-based
    focused: bool = False  # lines are the focus pass's view (llm/focus.py): passages, ">>>" on judged lines


@dataclass(frozen=True)
class CallRecord:
    """One row of the ``llm_calls`` ledger: one attempt at one request, or one cache hit.

    A packed request covers several documents: its rows have no ``document_id`` or
    ``chunk_index``, list the documents in ``document_ids`` and carry the request's hash as
    ``input_hash``."""

    call_id: str
    document_id: str | None
    chunk_index: int | None
    backend: str
    model: str
    prompt_version: str
    input_hash: str
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: float | None
    cost_usd: float | None
    attempt: int
    # ok | cache_hit | invalid_output | truncated | rate_limited | server_error | timeout |
    # connection_error | malformed_response | format_switched | rejected | unavailable | batch_failed
    outcome: str
    finish_reason: str | None
    error: str | None
    started_at: datetime
    request_id: str | None = None
    mode: str = "sync"  # sync | batch
    document_ids: str | None = None  # JSON list of the documents a packed request covered
    http_status: int | None = None


class CallStore(Protocol):
    """Where cached answers and the ledger live (the warehouse, in the pipeline)."""

    def cached_answers(self, cache_keys: Sequence[str]) -> dict[str, str]: ...

    def store_answer(self, cache_key: str, *, model: str, prompt_version: str, input_hash: str, response_json: str) -> None: ...

    def record_calls(self, records: Sequence[CallRecord]) -> None: ...

    def flush(self) -> None:
        """Make everything recorded so far durable (stores may buffer writes)."""


@dataclass
class ChunkOutcome:
    """What became of one chunk. ``status``: ok | failed | skipped_budget | pending_batch."""

    document_id: str
    chunk: Chunk
    chunk_count: int
    model: str
    prompt_version: str
    result: ExtractionResult | None
    error: str | None = None
    from_cache: bool = False
    calls: list[CallRecord] = field(default_factory=list)
    status: str = "ok"
    input_hash: str = ""
    cache_key: str = ""
    packed: bool = False


@dataclass(frozen=True)
class ExtractionSettings:
    """How one run extracts (the ``llm`` resource builds this from its configuration)."""

    concurrency: int = 8
    chunk_tokens: int = 1200
    overlap_lines: int = 2
    max_tokens: int = DEFAULT_MAX_TOKENS
    pack: PackPlan | None = None  # None: every chunk its own request
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget_tokens: int | None = None
    budget_usd: float | None = None


def cache_key(input_hash: str, version: str, model: str, schema: SchemaName = "single") -> str:
    """The identity of an answer: same input, prompt, answer schema and model → same answer."""
    material = "\x1f".join([input_hash, version, model, schema, schema_fingerprint(schema)])
    return hashlib.sha256(material.encode()).hexdigest()


# --------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class WorkItem:
    """One chunk of one document: the unit of caching, of results and of outcomes."""

    position: int  # order within the run; outcomes come back in this order
    document: SourceDocument
    chunk: Chunk
    chunk_count: int
    prompt: PromptInput
    input_hash: str  # sha256 of everything the model is shown of this chunk
    packable: bool

    def cache_keys(self, version: str, model: str) -> dict[SchemaName, str]:
        """Where an answer for this chunk may be cached: asked alone or inside a pack."""
        return {"single": cache_key(self.input_hash, version, model, "single"),
                "packed": cache_key(self.input_hash, version, model, "packed")}


def _prompt_for(document: SourceDocument, chunk: Chunk, count: int) -> PromptInput:
    # A focused chunk is one self-contained question about one kept line: numbering it "part
    # n of m" would make its request (and cache key) depend on which other lines were kept,
    # so a new threshold would re-ask every extraction.
    focused = document.focused
    return PromptInput(
        kind=document.kind,
        title=document.title,
        occurred_at=document.occurred_at,
        participants=document.participants,
        numbered_lines=chunk.numbered_lines,
        first_line=chunk.first_line,
        last_line=chunk.last_line,
        part_number=1 if focused else chunk.index + 1,
        part_count=1 if focused else count,
        focused=focused,
    )


def plan_chunks(document: SourceDocument, *, budget_tokens: int, overlap_lines: int) -> list[Chunk]:
    if document.focused:  # one request per line the focus pass kept
        return chunk_marked(document.lines, budget_tokens=budget_tokens)
    return chunk_lines(document.lines, budget_tokens=budget_tokens, overlap_lines=overlap_lines)


def plan_work(documents: Sequence[SourceDocument], settings: ExtractionSettings) -> list[WorkItem]:
    """Every chunk of every document, in document order."""
    items: list[WorkItem] = []
    for document in documents:
        chunks = plan_chunks(document, budget_tokens=settings.chunk_tokens, overlap_lines=settings.overlap_lines)
        for chunk in chunks:
            prompt = _prompt_for(document, chunk, len(chunks))
            digest = hashlib.sha256((source_header(prompt) + "\n" + chunk.numbered_lines).encode()).hexdigest()
            packable = (settings.pack is not None and document.kind == "email" and len(chunks) == 1
                        and settings.pack.fits(chunk.numbered_lines))
            items.append(WorkItem(len(items), document, chunk, len(chunks), prompt, digest, packable))
    return items


@dataclass(frozen=True)
class ModelRequest:
    """What is sent in one call: one chunk, or several short documents packed together."""

    items: tuple[WorkItem, ...]
    packed: bool
    max_tokens: int
    # Set when this request retries an answer that could not be used (the Batch API path):
    # the bad answer and the reason are shown to the model, as in the repair retry.
    repair_of: tuple[str, str] | None = None

    @property
    def schema_name(self) -> SchemaName:
        return "packed" if self.packed else "single"

    @property
    def labels(self) -> list[str]:
        return [label(i) for i in range(len(self.items))]

    @cached_property
    def request_id(self) -> str:
        """Stable for the same inputs, prompt set and shape: the ``custom_id`` in batch mode."""
        material = "\x1f".join([prompt_version(), self.schema_name, *(i.input_hash for i in self.items)])
        return hashlib.sha256(material.encode()).hexdigest()[:32]

    @property
    def input_hash(self) -> str:
        return self.items[0].input_hash if len(self.items) == 1 else hashlib.sha256(
            "\x1f".join(i.input_hash for i in self.items).encode()).hexdigest()

    def messages(self) -> list[dict[str, str]]:
        if self.packed:
            base = render_packed_messages([(lab, item.prompt) for lab, item in zip(self.labels, self.items, strict=True)])
        else:
            base = render_messages(self.items[0].prompt)
        if self.repair_of is not None:
            return repair_messages(base, self.repair_of[0], self.repair_of[1])
        return base

    def schema(self) -> dict[str, Any]:
        return response_json_schema(self.schema_name)


def group_requests(items: Sequence[WorkItem], settings: ExtractionSettings) -> list[ModelRequest]:
    """Requests for these (uncached) chunks: packable e-mails packed under the plan's limits,
    everything else one request per chunk; ordered by their first chunk."""
    requests = [ModelRequest((item,), False, settings.max_tokens) for item in items if not item.packable]
    packable = [item for item in items if item.packable]
    if packable and settings.pack is not None:
        sizes = [estimate_tokens(item.chunk.numbered_lines) for item in packable]
        for members in group(packable, sizes, settings.pack):
            if len(members) == 1:
                requests.append(ModelRequest((members[0],), False, settings.max_tokens))
            else:
                requests.append(ModelRequest(tuple(members), True, packed_max_tokens(settings.max_tokens, len(members))))
    return sorted(requests, key=lambda r: r.items[0].position)


def estimate_request_tokens(messages: Sequence[Mapping[str, str]], schema: Mapping[str, Any]) -> int:
    """Input tokens of a request as the endpoint will count them: messages and schema."""
    text = "".join(m["content"] for m in messages) + json.dumps(schema, separators=(",", ":"))
    return estimate_tokens(text) + 4 * len(messages)


# ---------------------------------------------------------------------------------- answers
def parse_answer_text(text: str, finish_reason: str | None, labels: Sequence[str] | None = None
                      ) -> tuple[list[ExtractionResult] | None, str | None, str]:
    """(results, error, outcome) for one answer: one result for a single request, one per
    label (in the labels' order) for a packed request."""
    if finish_reason == "length":
        return None, "the answer was cut off at max_tokens (truncated JSON)", "truncated"
    try:
        if labels is None:
            return [ExtractionResult.model_validate_json(text)], None, "ok"
        by_label = unpack(PackedExtractionResult.model_validate_json(text), labels)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}" for err in exc.errors()[:5]
        )
        return None, f"the answer does not match the schema: {problems}", "invalid_output"
    except PackError as exc:
        return None, f"the answer does not map back to the documents: {exc}", "invalid_output"
    return [by_label[lab] for lab in labels], None, "ok"


def parse_answer(request: ModelRequest, text: str, finish_reason: str | None
                 ) -> tuple[dict[int, ExtractionResult] | None, str | None, str]:
    """(``{item position: result}``, error, outcome) for one answer to ``request``."""
    results, error, status = parse_answer_text(text, finish_reason, request.labels if request.packed else None)
    if results is None:
        return None, error, status
    return {item.position: result for item, result in zip(request.items, results, strict=True)}, None, status


def repair_messages(messages: list[dict[str, str]], bad_answer: str, error: str) -> list[dict[str, str]]:
    return [
        *messages,
        {"role": "assistant", "content": bad_answer[:4000]},
        {
            "role": "user",
            "content": (
                f"That answer cannot be used: {error}. Answer again with one complete JSON object "
                "that matches the schema. Keep every text short and list at most the clearest items."
            ),
        },
    ]


def result_to_json(result: ExtractionResult) -> str:
    return json.dumps(result.model_dump(), sort_keys=True)


# ---------------------------------------------------------------------------------- running
@dataclass
class ExtractionRun:
    """Everything one run produced: outcomes in chunk order and every ledger row it wrote."""

    prompt_version: str
    outcomes: list[ChunkOutcome]
    calls: list[CallRecord]
    budget: Budget | None = None
    limiter: AdaptiveLimiter | None = None
    requests: int = 0
    packed_requests: int = 0

    @property
    def failed(self) -> list[ChunkOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped_for_budget(self) -> list[ChunkOutcome]:
        return [o for o in self.outcomes if o.status == "skipped_budget"]

    @property
    def budget_reached(self) -> bool:
        return bool(self.skipped_for_budget)


def _now() -> datetime:
    return datetime.now(UTC)


def answers_from_cache(items: Sequence[WorkItem], store: CallStore, backend_name: str, model: str, version: str,
                       *, mode: str = "sync") -> tuple[dict[int, ChunkOutcome], list[CallRecord], list[WorkItem]]:
    """(outcomes of the cached items by position, their ``cache_hit`` ledger rows, the items
    that need the model). A chunk's answer counts whether it was asked alone or in a pack."""
    keys = {item.position: item.cache_keys(version, model) for item in items}
    cached = store.cached_answers([k for pair in keys.values() for k in pair.values()])
    hits: dict[int, ChunkOutcome] = {}
    records: list[CallRecord] = []
    uncached: list[WorkItem] = []
    for item in items:
        for schema, key in keys[item.position].items():
            if key not in cached:
                continue
            try:
                result = ExtractionResult.model_validate_json(cached[key])
            except ValidationError:
                continue  # an entry the current schema rejects: ask the model again
            record = CallRecord(
                call_id=uuid.uuid4().hex, document_id=item.document.document_id, chunk_index=item.chunk.index,
                backend=backend_name, model=model, prompt_version=version, input_hash=item.input_hash,
                tokens_in=0, tokens_out=0, latency_ms=0.0, cost_usd=0.0, attempt=0, outcome="cache_hit",
                finish_reason=None, error=None, started_at=_now(), mode=mode,
            )
            records.append(record)
            hits[item.position] = ChunkOutcome(
                item.document.document_id, item.chunk, item.chunk_count, model, version, result,
                from_cache=True, calls=[record], input_hash=item.input_hash, cache_key=key,
                packed=schema == "packed")
            break
        else:
            uncached.append(item)
    return hits, records, uncached


class _Runner:
    """Runs requests on worker threads; owns the outcomes and the ledger rows of one run."""

    def __init__(self, backend: ChatBackend, store: CallStore, settings: ExtractionSettings, version: str,
                 budget: Budget | None, limiter: AdaptiveLimiter, on_outcome: Callable[[ChunkOutcome], None] | None,
                 sleep: Callable[[float], None] | None) -> None:
        self.backend = backend
        self.store = store
        self.settings = settings
        self.version = version
        self.budget = budget
        self.limiter = limiter
        self.on_outcome = on_outcome
        self._abort = threading.Event()
        # Back-off waits end early when the run is aborting (a Retry-After can be minutes).
        self.sleep = sleep or self._abort.wait
        self.outcomes: dict[int, ChunkOutcome] = {}
        self.calls: list[CallRecord] = []
        self.requests = 0
        self.packed_requests = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []

    # -- bookkeeping
    def _outcome(self, item: WorkItem, **kw: Any) -> ChunkOutcome:
        return ChunkOutcome(item.document.document_id, item.chunk, item.chunk_count, self.backend.model,
                            self.version, input_hash=item.input_hash, **kw)

    def finish(self, outcome: ChunkOutcome, position: int) -> None:
        with self._lock:
            self.outcomes[position] = outcome
            if self.on_outcome is not None:
                self.on_outcome(outcome)

    def record(self, records: Sequence[CallRecord]) -> None:
        self.store.record_calls(records)
        with self._lock:
            self.calls.extend(records)

    def _call_record(self, request: ModelRequest, attempt: int, started_at: datetime, **kw: Any) -> CallRecord:
        single = request.items[0] if not request.packed else None
        return CallRecord(
            call_id=uuid.uuid4().hex,
            document_id=single.document.document_id if single else None,
            chunk_index=single.chunk.index if single else None,
            backend=self.backend.name,
            model=self.backend.model,
            prompt_version=self.version,
            input_hash=request.input_hash,
            attempt=attempt,
            started_at=started_at,
            request_id=request.request_id,
            document_ids=json.dumps([i.document.document_id for i in request.items]) if request.packed else None,
            **kw,
        )

    # -- cache
    def serve_from_cache(self, items: Sequence[WorkItem]) -> list[WorkItem]:
        """Finish every item with a cached answer; return the ones that need the model."""
        hits, records, uncached = answers_from_cache(items, self.store, self.backend.name, self.backend.model,
                                                     self.version)
        for item in items:
            if item.position in hits:
                self.finish(hits[item.position], item.position)
        if records:
            self.record(records)
        return uncached

    # -- requests
    def submit(self, request: ModelRequest) -> None:
        assert self._pool is not None
        with self._lock:
            self._futures.append(self._pool.submit(self._guarded, request))

    def _guarded(self, request: ModelRequest) -> None:
        try:
            self.execute(request)
        except BaseException:
            self._abort.set()  # stop the other workers before their next attempt
            raise

    def execute(self, request: ModelRequest) -> None:
        """One request to its end: answered, failed, skipped for budget, or split up."""
        with self._lock:
            self.requests += 1
            self.packed_requests += int(request.packed)
        messages = request.messages()
        schema = request.schema()
        retry = self.settings.retry
        transport_failures = 0
        repaired = request.repair_of is not None
        attempt = 0
        calls: list[CallRecord] = []
        while not self._abort.is_set():
            reservation = None
            if self.budget is not None:
                reservation = self.budget.reserve(estimate_request_tokens(messages, schema), request.max_tokens)
                if reservation is None:
                    self._finish_all(request, calls, "skipped_budget",
                                     f"skipped: the run's budget is spent ({self.budget.describe()}); "
                                     "the next run picks this up")
                    return
            ticket = self.limiter.acquire()
            if self._abort.is_set():  # the run failed while this request waited for room
                self.limiter.release(ticket)
                if reservation is not None:
                    self.budget.settle(reservation, 0, 0, 0.0)  # type: ignore[union-attr]
                return
            attempt += 1
            started_at = _now()
            try:
                completion = self.backend.complete(messages, schema, request.max_tokens)
            except BackendError as exc:
                self.limiter.release(ticket, rate_limited=exc.kind == "rate_limited", retry_after_s=exc.retry_after_s)
                if reservation is not None:
                    self.budget.settle_failed(reservation, exc.kind)  # type: ignore[union-attr]
                record = self._call_record(
                    request, attempt, started_at, tokens_in=None, tokens_out=None,
                    latency_ms=round(exc.latency_s * 1000, 1) if exc.latency_s is not None else None,
                    cost_usd=None, outcome=exc.kind, finish_reason=None, error=str(exc), http_status=exc.status)
                calls.append(record)
                self.record([record])
                if exc.retryable and transport_failures + 1 < retry.max_attempts:
                    transport_failures += 1
                    self.sleep(retry.delay(transport_failures, exc.retry_after_s))
                    continue
                reason = str(exc) + (f" (gave up after {transport_failures + 1} attempts)" if exc.retryable else "")
                self._finish_all(request, calls, "failed", reason)
                return
            except BaseException:
                self.limiter.release(ticket)
                if reservation is not None:
                    self.budget.settle(reservation, None, None)  # type: ignore[union-attr]
                raise
            self.limiter.release(ticket, success=True)
            cost = estimate_cost_usd(self.backend.name, completion.model, completion.tokens_in, completion.tokens_out)
            if reservation is not None:
                self.budget.settle(reservation, completion.tokens_in, completion.tokens_out, cost)  # type: ignore[union-attr]
            results, error, status = parse_answer(request, completion.text, completion.finish_reason)
            record = self._call_record(
                request, attempt, started_at, tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
                latency_ms=round(completion.latency_s * 1000, 1), cost_usd=cost, outcome=status,
                finish_reason=completion.finish_reason, error=error, http_status=200 if self.backend.name == "openai" else None)
            calls.append(record)
            self.record([record])
            if results is not None:
                self._store_results(request, results, calls)
                return
            if not repaired:
                repaired = True
                messages = repair_messages(messages, completion.text, error or "invalid answer")
                continue
            if request.packed:
                # The model cannot answer this pack: ask each of its documents on its own.
                for item in request.items:
                    self.submit(ModelRequest((item,), False, self.settings.max_tokens))
                return
            self._finish_all(request, calls, "failed", error or "invalid answer")
            return

    def _store_results(self, request: ModelRequest, results: dict[int, ExtractionResult], calls: list[CallRecord]) -> None:
        for item in request.items:
            result = results[item.position]
            key = cache_key(item.input_hash, self.version, self.backend.model, request.schema_name)
            self.store.store_answer(key, model=self.backend.model, prompt_version=self.version,
                                    input_hash=item.input_hash, response_json=result.model_dump_json())
            self.finish(self._outcome(item, result=result, calls=list(calls), cache_key=key, packed=request.packed),
                        item.position)

    def _finish_all(self, request: ModelRequest, calls: list[CallRecord], status: str, error: str) -> None:
        for item in request.items:
            self.finish(self._outcome(item, result=None, error=error, calls=list(calls), status=status,
                                      packed=request.packed), item.position)

    def run(self, requests: Sequence[ModelRequest], workers: int) -> None:
        if not requests:
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
            self._pool = pool
            for request in requests:
                self.submit(request)
            try:
                while True:
                    with self._lock:
                        pending = [f for f in self._futures if not f.done()]
                        failed = next((f for f in self._futures
                                       if f.done() and not f.cancelled() and f.exception()), None)
                    if failed is not None:
                        raise failed.exception()  # type: ignore[misc]
                    if not pending:
                        break
                    wait(pending, timeout=1.0, return_when=FIRST_EXCEPTION)
            except BaseException:
                self._abort.set()
                with self._lock:
                    for future in self._futures:
                        future.cancel()
                raise


def run_budget(settings: ExtractionSettings, backend: ChatBackend) -> Budget | None:
    """The run's spending limit from ``ASSISTANT_LLM_BUDGET_*``, or None when none is set."""
    if settings.budget_tokens is None and settings.budget_usd is None:
        return None
    return Budget(max_tokens=settings.budget_tokens, max_usd=settings.budget_usd,
                  model=backend.model, backend=backend.name)


def run_extraction(
    documents: Sequence[SourceDocument],
    backend: ChatBackend,
    store: CallStore,
    settings: ExtractionSettings | None = None,
    *,
    on_outcome: Callable[[ChunkOutcome], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    budget: Budget | None = None,
) -> ExtractionRun:
    """Extract every chunk of every document (see the module docstring for how).

    ``budget``: the run's, when something else (the focus pass) already spends from it;
    otherwise one is made from ``settings`` (:func:`run_budget`). Raises only for what no
    retry can help: the store failing (the warehouse is gone) or an unenforceable budget
    (:class:`~assistant_pipelines.llm.budget.BudgetError`). Everything a model or endpoint
    does wrong ends in a chunk's outcome."""
    settings = settings or ExtractionSettings()
    version = prompt_version()
    if budget is None:
        budget = run_budget(settings, backend)
    workers = max(1, min(settings.concurrency, backend.max_concurrency))
    limiter = AdaptiveLimiter(workers)
    runner = _Runner(backend, store, settings, version, budget, limiter, on_outcome, sleep)
    items = plan_work(documents, settings)
    try:
        uncached = runner.serve_from_cache(items)
        requests = group_requests(uncached, settings)
        runner.run(requests, workers)
    finally:
        store.flush()  # also when the run fails: keep every answer that was paid for
    outcomes = []
    for item in items:
        outcome = runner.outcomes.get(item.position)
        if outcome is None:  # cannot happen unless a worker died without raising; never a silent gap
            outcome = runner._outcome(item, result=None, status="failed", error="no answer was recorded for this chunk")
        outcomes.append(outcome)
    return ExtractionRun(version, outcomes, runner.calls, budget, limiter, runner.requests, runner.packed_requests)
