"""The warehouse side of extraction: the answer cache (``llm_cache``), the call ledger
(``llm_calls``), what became of each chunk (``document_extractions``) and the Batch API's
bookkeeping (``llm_batches``, ``llm_batch_items``); plus :func:`summarize_calls`, the numbers
a run reports about its calls.

Answers and ledger rows are written as they happen, not at the end of a run, so a run killed
half-way keeps the answers it paid for and the next run starts where it stopped.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any, Self

from assistant_pipelines.llm.extract import CallRecord, ChunkOutcome
from assistant_pipelines.warehouse import Warehouse

CALL_COLUMNS = list(CallRecord.__dataclass_fields__) + ["run_id"]
CACHE_COLUMNS = ["cache_key", "model", "prompt_version", "input_hash", "response_json", "created_at"]
EXTRACTION_COLUMNS = [
    "document_id", "chunk_index", "prompt_version", "model", "week_start", "chunk_count", "first_line",
    "last_line", "input_hash", "cache_key", "status", "error", "from_cache", "packed", "action_item_count",
    "summary", "decisions", "open_questions", "run_id", "extracted_at",
]
BATCH_COLUMNS = [
    "batch_id", "status", "model", "prompt_version", "input_file_id", "output_file_id", "error_file_id",
    "request_count", "completed_count", "failed_count", "weeks", "run_id", "created_at", "checked_at",
    "ingested_at", "error",
]
BATCH_ITEM_COLUMNS = [
    "batch_id", "custom_id", "member_index", "cache_key", "document_id", "chunk_index", "input_hash",
    "week_start", "packed", "attempt", "status", "outcome", "error", "bad_answer",
]
_LOOKUP_SLICE = 500


class WarehouseCallStore:
    """Thread-safe: extraction calls it from its worker threads.

    Answers and ledger rows are buffered and written together by a background thread at least
    every ``flush_interval_s`` (and at once when ``flush_rows`` are waiting, on :meth:`flush`
    and on :meth:`close`): a DuckDB commit costs ~15-50 ms, one per call would cap a run at a
    few dozen calls a second. A run that fails flushes what it has; only a hard kill (power,
    SIGKILL) can lose the last ``flush_interval_s`` of answers, which the next run pays for again.
    Use as a context manager, or call :meth:`close`."""

    def __init__(self, wh: Warehouse, run_id: str | None = None, *, flush_interval_s: float = 0.5,
                 flush_rows: int = 200) -> None:
        self.wh = wh
        self._run_id = run_id
        self._io = threading.RLock()  # one connection: one user at a time
        self._buffer_lock = threading.Lock()
        self._answers: dict[str, dict[str, Any]] = {}
        self._calls: list[dict[str, Any]] = []
        self._flush_interval_s = flush_interval_s
        self._flush_rows = flush_rows
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- write-behind
    def _buffered(self) -> int:
        return len(self._answers) + len(self._calls)

    def _after_append(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"the warehouse could not store extraction results: {self._error}") from self._error
        if self._flusher is None:
            with self._buffer_lock:
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_loop, name="llm-ledger", daemon=True)
                    self._flusher.start()
        if self._buffered() >= self._flush_rows:
            self._wake.set()

    def _flush_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._flush_interval_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - any driver error; re-raised by the next write
                self._error = exc
                return

    def flush(self) -> None:
        """Write everything buffered, in one transaction."""
        with self._io:
            with self._buffer_lock:
                answers, calls = list(self._answers.values()), self._calls
                self._answers, self._calls = {}, []
            if not answers and not calls:
                return
            with self.wh.transaction():
                self.wh.replace_rows("llm_cache", ["cache_key"], CACHE_COLUMNS, answers)
                self.wh.insert_rows("llm_calls", CALL_COLUMNS, calls)

    def close(self) -> None:
        """Stop the background writer and write what is left."""
        self._stopping.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=60)
        self.flush()

    # -- cache and ledger (the CallStore protocol)
    def cached_answers(self, cache_keys: Sequence[str]) -> dict[str, str]:
        keys = list(dict.fromkeys(cache_keys))
        with self._buffer_lock:
            found = {k: self._answers[k]["response_json"] for k in keys if k in self._answers}
        with self._io:
            for start in range(0, len(keys), _LOOKUP_SLICE):
                rows = self.wh.run_file("llm_cache_get_many", {"cache_keys": keys[start:start + _LOOKUP_SLICE]})
                for row in rows:
                    found.setdefault(row["cache_key"], row["response_json"])
        return found

    def cached_answer(self, cache_key: str) -> str | None:
        return self.cached_answers([cache_key]).get(cache_key)

    def store_answer(self, cache_key: str, *, model: str, prompt_version: str, input_hash: str,
                     response_json: str) -> None:
        row = {"cache_key": cache_key, "model": model, "prompt_version": prompt_version,
               "input_hash": input_hash, "response_json": response_json,
               "created_at": datetime.now(UTC)}
        with self._buffer_lock:
            self._answers[cache_key] = row
        self._after_append()

    def record_calls(self, records: Sequence[CallRecord]) -> None:
        rows = [{**asdict(record), "run_id": self._run_id} for record in records]
        with self._buffer_lock:
            self._calls.extend(rows)
        self._after_append()

    def record_call(self, record: CallRecord) -> None:
        self.record_calls([record])

    # -- document_extractions
    def write_extractions(self, week: date, prompt_version: str, model: str, outcomes: Iterable[ChunkOutcome]) -> int:
        """Replace this week's rows of this prompt version and model; other versions stay, so
        two versions can be compared side by side (``diff-prompts``)."""
        now = datetime.now(UTC)
        rows = [extraction_row(o, week, self._run_id, now) for o in outcomes]
        with self._io:
            return self.wh.replace_where(
                "document_extractions", "week_start = :week AND prompt_version = :version AND model = :model",
                {"week": week, "version": prompt_version, "model": model}, EXTRACTION_COLUMNS, rows)

    # -- batches
    def record_batch(self, batch: dict[str, Any], items: Sequence[dict[str, Any]]) -> None:
        with self._io, self.wh.transaction():
            self.wh.replace_rows("llm_batches", ["batch_id"], BATCH_COLUMNS, [batch])
            self.wh.replace_rows("llm_batch_items", ["batch_id", "cache_key"], BATCH_ITEM_COLUMNS, list(items))

    def open_batches(self) -> list[dict[str, Any]]:
        with self._io:
            return self.wh.run_file("llm_open_batches")

    def batch_items(self, batch_id: str) -> list[dict[str, Any]]:
        with self._io:
            return self.wh.run_file("llm_batch_items_of", {"batch_id": batch_id})

    def pending_batch_keys(self) -> set[str]:
        with self._io:
            return {r["cache_key"] for r in self.wh.run_file("llm_batch_pending_keys")}

    def batch_failures(self) -> dict[str, dict[str, Any]]:
        """``{cache_key: {"failures": n, **last failed row}}`` for chunks still without an answer."""
        with self._io:
            rows = self.wh.run_file("llm_batch_failures")
        out: dict[str, dict[str, Any]] = {}
        for row in rows:  # ordered oldest first: the last row per key wins
            count = out.get(row["cache_key"], {}).get("failures", 0)
            out[row["cache_key"]] = {**row, "failures": count + 1}
        return out

    def update_batch_status(self, batch_id: str, status: str) -> None:
        with self._io:
            self.wh.execute("UPDATE llm_batches SET status = :status, checked_at = :now WHERE batch_id = :batch_id",
                            {"status": status, "now": datetime.now(UTC), "batch_id": batch_id})

    def finish_batch(self, batch: dict[str, Any], items: Sequence[dict[str, Any]], answers: Sequence[dict[str, Any]],
                     calls: Sequence[CallRecord]) -> None:
        """Store a finished batch's answers, ledger rows and item outcomes all at once."""
        now = datetime.now(UTC)
        cache_rows = [{**a, "created_at": now} for a in answers]
        call_rows = [{**asdict(c), "run_id": self._run_id} for c in calls]
        with self._io, self.wh.transaction():
            self.wh.replace_rows("llm_cache", ["cache_key"], CACHE_COLUMNS, cache_rows)
            # Keyed on call_id, which batch rows derive from the batch and line: ingesting a
            # batch twice cannot count its calls twice.
            self.wh.replace_rows("llm_calls", ["call_id"], CALL_COLUMNS, call_rows)
            self.wh.replace_rows("llm_batch_items", ["batch_id", "cache_key"], BATCH_ITEM_COLUMNS, list(items))
            self.wh.replace_rows("llm_batches", ["batch_id"], BATCH_COLUMNS, [{**batch, "ingested_at": now,
                                                                               "checked_at": now}])


def extraction_row(outcome: ChunkOutcome, week: date, run_id: str | None, now: datetime) -> dict[str, Any]:
    result = outcome.result
    return {
        "document_id": outcome.document_id,
        "chunk_index": outcome.chunk.index,
        "prompt_version": outcome.prompt_version,
        "model": outcome.model,
        "week_start": week,
        "chunk_count": outcome.chunk_count,
        "first_line": outcome.chunk.first_line,
        "last_line": outcome.chunk.last_line,
        "input_hash": outcome.input_hash,
        "cache_key": outcome.cache_key or None,
        "status": outcome.status,
        "error": outcome.error,
        "from_cache": outcome.from_cache,
        "packed": outcome.packed,
        "action_item_count": len(result.action_items) if result else None,
        "summary": result.summary if result else None,
        "decisions": json.dumps(result.decisions) if result else None,
        "open_questions": json.dumps(result.open_questions) if result else None,
        "run_id": run_id,
        "extracted_at": now,
    }


def _percentile(sorted_values: list[float], share: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[round(share * 100) - 1]


def summarize_calls(calls: Sequence[CallRecord]) -> dict[str, Any]:
    """What a run's ledger rows add up to: the numbers on the asset page."""
    real = [c for c in calls if c.outcome != "cache_hit"]
    latencies = sorted(c.latency_ms for c in real if c.latency_ms is not None and c.outcome not in {"timeout"})
    by_outcome: dict[str, int] = {}
    for call in real:
        by_outcome[call.outcome] = by_outcome.get(call.outcome, 0) + 1
    costs = [c.cost_usd for c in real if c.cost_usd is not None]
    summary: dict[str, Any] = {
        "model_calls": len(real),
        "cache_hits": sum(1 for c in calls if c.outcome == "cache_hit"),
        "calls_ok": by_outcome.get("ok", 0),
        "calls_failed": len(real) - by_outcome.get("ok", 0),
        "calls_by_outcome": json.dumps(dict(sorted(by_outcome.items()))),
        "retries": sum(1 for c in real if c.attempt > 1),
        "tokens_in": sum(c.tokens_in or 0 for c in real),
        "tokens_out": sum(c.tokens_out or 0 for c in real),
        "cost_usd": round(sum(costs), 6),
        "cost_unknown_calls": sum(1 for c in real if c.cost_usd is None and c.tokens_in is not None),
    }
    if latencies:
        summary.update({
            "latency_p50_ms": round(_percentile(latencies, 0.50), 1),
            "latency_p95_ms": round(_percentile(latencies, 0.95), 1),
            "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
        })
    return summary
