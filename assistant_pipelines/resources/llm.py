"""``llm``: the model backend (``local`` llama.cpp or any OpenAI-compatible ``openai`` endpoint)."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from assistant_pipelines.llm.backends import ChatBackend, LocalLlamaBackend, OpenAIBackend
from assistant_pipelines.llm.local_model import resolve_local_model


class LLMResource(ConfigurableResource):
    backend: str = Field(default="local", description="local | openai")
    model: str = Field(default="gpt-4o-mini", description="model name for the openai backend")
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int = 8
    response_format: str = Field(default="json_schema", description="json_schema | json_object")
    local_model_path: str | None = None
    model_cache_dir: str = "./var/models"
    chunk_tokens: int = 1200
    overlap_lines: int = 2
    max_tokens: int = 900
    timeout_s: float = 300.0

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
            return LocalLlamaBackend(path)
        raise ValueError(f"unknown llm backend {self.backend!r}: use 'local' or 'openai'")
