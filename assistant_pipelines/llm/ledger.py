"""The warehouse-backed :class:`~assistant_pipelines.llm.extract.CallStore`: the answer cache
(``llm_cache``) and the call ledger (``llm_calls``).

Both are written as they happen, not at the end of a run, so a run killed half-way keeps the
answers it paid for and the next run starts where it stopped.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import datetime, timezone

from assistant_pipelines.llm.extract import CallRecord
from assistant_pipelines.warehouse import Warehouse

CALL_COLUMNS = list(CallRecord.__dataclass_fields__) + ["run_id"]


class WarehouseCallStore:
    """Thread-safe: extraction calls it from its worker threads; one connection, one lock."""

    def __init__(self, wh: Warehouse, run_id: str | None = None) -> None:
        self._wh = wh
        self._run_id = run_id
        self._lock = threading.Lock()

    def cached_answer(self, cache_key: str) -> str | None:
        with self._lock:
            rows = self._wh.run_file("llm_cache_get", {"cache_key": cache_key})
        return rows[0]["response_json"] if rows else None

    def store_answer(self, cache_key: str, *, model: str, prompt_version: str, input_hash: str,
                     response_json: str) -> None:
        row = {"cache_key": cache_key, "model": model, "prompt_version": prompt_version,
               "input_hash": input_hash, "response_json": response_json,
               "created_at": datetime.now(timezone.utc)}
        with self._lock:
            self._wh.replace_rows("llm_cache", ["cache_key"], list(row), [row])

    def record_call(self, record: CallRecord) -> None:
        row = {**asdict(record), "run_id": self._run_id}
        with self._lock:
            self._wh.insert_rows("llm_calls", CALL_COLUMNS, [row])
