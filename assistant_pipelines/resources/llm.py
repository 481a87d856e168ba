"""``llm``: the model backend (``local`` llama.cpp or any OpenAI-compatible ``openai`` endpoint)
and how extraction uses it: sync or Batch API mode, concurrency, chunking, packing, retries
and the per-run budget (docs/extraction.md)."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from assistant_pipelines.llm.backends import ChatBackend, LocalLlamaBackend, OpenAIBackend
from assistant_pipelines.llm.extract import ExtractionSettings
from assistant_pipelines.llm.focus import FocusSettings
from assistant_pipelines.llm.limiter import RetryPolicy
from assistant_pipelines.llm.local_model import resolve_local_model
from assistant_pipelines.llm.packing import PackPlan


class LLMResource(ConfigurableResource):
    backend: str = Field(default="local", description="local | openai")
    model: str = Field(default="gpt-4o-mini", description="model name for the openai backend")
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int = Field(default=8, description="requests in flight at most (ASSISTANT_LLM_CONCURRENCY)")
    response_format: str = Field(default="auto", description="auto | json_schema | json_object: how the openai "
                                 "backend asks for the schema (auto: json_schema until the endpoint refuses it; "
                                 "ASSISTANT_LLM_RESPONSE_FORMAT)")
    local_model_path: str | None = None
    model_cache_dir: str = "./var/models"
    local_threads: int | None = Field(default=None, description="llama.cpp threads; default one per physical core")
    chunk_tokens: int = 1200
    overlap_lines: int = 2
    max_tokens: int = 900
    timeout_s: float = 300.0
    mode: str = Field(default="sync", description="sync | batch (OpenAI Batch API; ASSISTANT_LLM_MODE)")
    budget_tokens: int | None = Field(default=None, description="per-run token limit (ASSISTANT_LLM_BUDGET_TOKENS)")
    budget_usd: float | None = Field(default=None, description="per-run US$ limit (ASSISTANT_LLM_BUDGET_USD)")
    pack_emails: bool = Field(default=False, description="pack several short e-mails into one request")
    pack_max_documents: int = 6
    pack_tokens: int = 1500
    max_attempts: int = Field(default=5, description="attempts per request for 429, 5xx, time-outs")
    retry_base_s: float = 0.5
    max_batch_attempts: int = Field(default=3, description="batches a failing chunk is retried in automatically")
    focus: str = Field(default="auto", description="auto | on | off: ask line by line which lines of a long "
                       "document hand out work, and extract from those only (auto: with the local backend)")
    focus_threshold: float = Field(default=FocusSettings.threshold, ge=0.0, le=1.0,
                                   description="P(yes) at or above which a judged line is shown to the extraction")

    def get_backend(self) -> ChatBackend:
        """Built on each call; the local model itself is loaded once per process."""
        if self.backend == "openai":
            return OpenAIBackend(
                model=self.model,
                base_url=self.base_url,
                api_key=self.api_key,
                max_concurrency=self.concurrency,
                response_format=self.response_format,
                timeout_s=self.timeout_s,
            )
        if self.backend == "local":
            path = resolve_local_model(
                Path(self.local_model_path) if self.local_model_path else None,
                Path(self.model_cache_dir),
            )
            return LocalLlamaBackend(path, n_threads=self.local_threads)
        raise ValueError(f"unknown llm backend {self.backend!r}: use 'local' or 'openai'")

    def get_batch_backend(self) -> OpenAIBackend:
        """The endpoint for Batch API mode, which only the ``openai`` backend has."""
        if self.mode != "batch":
            raise ValueError("the Batch API is used only with mode 'batch'")
        if self.backend != "openai":
            raise ValueError("ASSISTANT_LLM_MODE=batch needs ASSISTANT_LLM=openai: the local model has no Batch API")
        backend = self.get_backend()
        assert isinstance(backend, OpenAIBackend)
        return backend

    def extraction_settings(self) -> ExtractionSettings:
        if self.mode not in {"sync", "batch"}:
            raise ValueError(f"ASSISTANT_LLM_MODE must be 'sync' or 'batch', not {self.mode!r}")
        return ExtractionSettings(
            concurrency=self.concurrency,
            chunk_tokens=self.chunk_tokens,
            overlap_lines=self.overlap_lines,
            max_tokens=self.max_tokens,
            pack=PackPlan(max_documents=self.pack_max_documents, max_source_tokens=self.pack_tokens)
            if self.pack_emails else None,
            retry=RetryPolicy(max_attempts=self.max_attempts, base_s=self.retry_base_s),
            budget_tokens=self.budget_tokens,
            budget_usd=self.budget_usd,
        )

    def focus_settings(self) -> FocusSettings | None:
        """The judge pass's settings, or None when it is off (``auto``: on for the local
        backend, whose list-everything extraction is the imprecise one; a hosted model reads
        whole documents better and cheaper)."""
        if self.focus not in {"auto", "on", "off"}:
            raise ValueError(f"ASSISTANT_LLM_FOCUS must be 'auto', 'on' or 'off', not {self.focus!r}")
        if self.focus == "off" or (self.focus == "auto" and self.backend != "local"):
            return None
        return FocusSettings(threshold=self.focus_threshold)
