"""The extraction loop: documents in, validated per-chunk results out.

For each chunk: look the answer up in the cache (input hash × prompt version × model ×
schema); otherwise call the backend, validate with pydantic, and on invalid or truncated output
retry once with the error shown to the model (the repair retry). Every call, cached or not, is
recorded through the :class:`CallStore`; a chunk that still fails is returned as failed with its
reason, so the caller records it and the next run tries again (nothing is cached for it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from pydantic import ValidationError

from assistant_pipelines.llm.backends import BackendError, ChatBackend, Completion
from assistant_pipelines.llm.chunking import Chunk, chunk_lines
from assistant_pipelines.llm.pricing import estimate_cost_usd
from assistant_pipelines.llm.prompts import PromptInput, prompt_version, render_messages
from assistant_pipelines.llm.schema import ExtractionResult, response_json_schema, schema_fingerprint

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


@dataclass(frozen=True)
class CallRecord:
    """One row of the ``llm_calls`` ledger."""

    call_id: str
    document_id: str
    chunk_index: int
    backend: str
    model: str
    prompt_version: str
    input_hash: str
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: float | None
    cost_usd: float | None
    attempt: int
    outcome: str  # ok | cache_hit | invalid_output | truncated | error
    finish_reason: str | None
    error: str | None
    started_at: datetime


class CallStore(Protocol):
    """Where cached answers and the ledger live (the warehouse, in the pipeline)."""

    def cached_answer(self, cache_key: str) -> str | None: ...

    def store_answer(self, cache_key: str, *, model: str, prompt_version: str, input_hash: str, response_json: str) -> None: ...

    def record_call(self, record: CallRecord) -> None: ...


@dataclass
class ChunkOutcome:
    document_id: str
    chunk: Chunk
    chunk_count: int
    model: str
    prompt_version: str
    result: ExtractionResult | None
    error: str | None = None
    from_cache: bool = False
    calls: list[CallRecord] = field(default_factory=list)


def cache_key(input_hash: str, version: str, model: str) -> str:
    """The identity of an answer: same source text, prompt, schema and model → same answer."""
    material = "\x1f".join([input_hash, version, model, schema_fingerprint()])
    return hashlib.sha256(material.encode()).hexdigest()


def plan_chunks(document: SourceDocument, *, budget_tokens: int, overlap_lines: int) -> list[Chunk]:
    return chunk_lines(document.lines, budget_tokens=budget_tokens, overlap_lines=overlap_lines)


def _prompt_for(document: SourceDocument, chunk: Chunk, count: int) -> PromptInput:
    return PromptInput(
        kind=document.kind,
        title=document.title,
        occurred_at=document.occurred_at,
        participants=document.participants,
        numbered_lines=chunk.numbered_lines,
        first_line=chunk.first_line,
        last_line=chunk.last_line,
        part_number=chunk.index + 1,
        part_count=count,
    )


def _parse(completion: Completion) -> tuple[ExtractionResult | None, str | None, str]:
    """(result, error, outcome) for one completion."""
    if completion.finish_reason == "length":
        return None, "the answer was cut off at max_tokens (truncated JSON)", "truncated"
    try:
        return ExtractionResult.model_validate_json(completion.text), None, "ok"
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}" for err in exc.errors()[:5]
        )
        return None, f"the answer does not match the schema: {problems}", "invalid_output"


def _repair_messages(messages: list[dict[str, str]], bad: Completion, error: str) -> list[dict[str, str]]:
    return [
        *messages,
        {"role": "assistant", "content": bad.text[:4000]},
        {
            "role": "user",
            "content": (
                f"That answer cannot be used: {error}. Answer again with one complete JSON object "
                "that matches the schema. Keep every text short and list at most the clearest items."
            ),
        },
    ]


def extract_chunk(
    document: SourceDocument,
    chunk: Chunk,
    chunk_count: int,
    backend: ChatBackend,
    store: CallStore,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> ChunkOutcome:
    """One chunk: the cached answer if there is one, else the model with one repair retry."""
    version = prompt_version()
    key = cache_key(chunk.input_hash, version, backend.model)
    outcome = ChunkOutcome(document.document_id, chunk, chunk_count, backend.model, version, None)

    def record(**kw: object) -> None:
        rec = CallRecord(
            call_id=uuid.uuid4().hex,
            document_id=document.document_id,
            chunk_index=chunk.index,
            backend=backend.name,
            model=backend.model,
            prompt_version=version,
            input_hash=chunk.input_hash,
            started_at=now(),
            **kw,  # type: ignore[arg-type]
        )
        outcome.calls.append(rec)
        store.record_call(rec)

    cached = store.cached_answer(key)
    if cached is not None:
        try:
            outcome.result = ExtractionResult.model_validate_json(cached)
            outcome.from_cache = True
            record(tokens_in=0, tokens_out=0, latency_ms=0.0, cost_usd=0.0, attempt=0,
                   outcome="cache_hit", finish_reason=None, error=None)
            return outcome
        except ValidationError:
            pass  # a stale cache entry for a changed schema: ask the model again

    messages = render_messages(_prompt_for(document, chunk, chunk_count))
    schema = response_json_schema()
    for attempt in (1, 2):
        try:
            completion = backend.complete(messages, schema, max_tokens)
        except BackendError as exc:
            record(tokens_in=None, tokens_out=None, latency_ms=None, cost_usd=None, attempt=attempt,
                   outcome="error", finish_reason=None, error=str(exc))
            outcome.error = str(exc)
            return outcome
        result, error, status = _parse(completion)
        record(
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            latency_ms=round(completion.latency_s * 1000, 1),
            cost_usd=estimate_cost_usd(backend.name, completion.model, completion.tokens_in, completion.tokens_out),
            attempt=attempt,
            outcome=status,
            finish_reason=completion.finish_reason,
            error=error,
        )
        if result is not None:
            store.store_answer(key, model=backend.model, prompt_version=version,
                               input_hash=chunk.input_hash, response_json=result.model_dump_json())
            outcome.result = result
            outcome.error = None
            return outcome
        outcome.error = error
        messages = _repair_messages(messages, completion, error or "invalid")
    return outcome


def extract_documents(
    documents: Sequence[SourceDocument],
    backend: ChatBackend,
    store: CallStore,
    *,
    concurrency: int = 1,
    budget_tokens: int = 1200,
    overlap_lines: int = 2,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Iterator[ChunkOutcome]:
    """Every chunk of every document, ``concurrency`` model calls in flight at most.

    Outcomes are yielded in document and chunk order, so the caller's output does not depend
    on which call finished first."""
    work: list[tuple[SourceDocument, Chunk, int]] = []
    for document in documents:
        chunks = plan_chunks(document, budget_tokens=budget_tokens, overlap_lines=overlap_lines)
        work.extend((document, chunk, len(chunks)) for chunk in chunks)
    workers = max(1, min(concurrency, backend.max_concurrency, len(work) or 1))
    if workers == 1:
        for document, chunk, count in work:
            yield extract_chunk(document, chunk, count, backend, store, max_tokens=max_tokens)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
        futures = [
            pool.submit(extract_chunk, document, chunk, count, backend, store, max_tokens=max_tokens)
            for document, chunk, count in work
        ]
        for future in futures:
            yield future.result()


def result_to_json(result: ExtractionResult) -> str:
    return json.dumps(result.model_dump(), sort_keys=True)
