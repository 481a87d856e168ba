"""The two ways to reach a model, behind one small interface.

``OpenAIBackend``: the ``openai`` client against any OpenAI-compatible endpoint (OpenAI,
vLLM, Ollama, a llama.cpp server). ``LocalLlamaBackend``: llama-cpp-python in this process,
the model loaded once per process. Both return a :class:`Completion`; neither validates the
answer (``extract.py`` does, whatever the backend promised).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class BackendError(RuntimeError):
    """The endpoint or the model could not answer: ``retryable`` says if trying later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    model: str
    latency_s: float


class ChatBackend(Protocol):
    name: str  # "openai" | "local"
    model: str
    max_concurrency: int

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Completion: ...


class OpenAIBackend:
    """Any OpenAI-compatible chat completions endpoint.

    ``response_format`` is the request dialect: ``json_schema`` (OpenAI, vLLM: strict schema)
    or ``json_object`` (llama.cpp's server and Ollama, which reject or ignore ``json_schema``
    and take the schema inside ``json_object``; DESIGN.md §5)."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        max_concurrency: int = 8,
        response_format: str = "json_schema",
        timeout_s: float = 120.0,
        max_retries: int = 4,
    ) -> None:
        import openai

        self.model = model
        self.max_concurrency = max_concurrency
        self.response_format = response_format
        # The client retries 429 (honouring Retry-After), 5xx, time-outs and connection errors
        # with exponential back-off and jitter; we add the repair retry for bad output on top.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
        )

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.response_format == "json_object":
            return {"type": "json_object", "schema": schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": "extraction", "strict": True, "schema": schema},
        }

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Completion:
        import openai

        started = time.monotonic()
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=self._response_format(schema),  # type: ignore[arg-type]
                temperature=0,
                max_tokens=max_tokens,
            )
        except openai.AuthenticationError as exc:
            raise BackendError(f"the endpoint refused the API key (HTTP {exc.status_code})", retryable=False) from None
        except openai.NotFoundError as exc:
            raise BackendError(f"the endpoint does not know model {self.model!r} (HTTP {exc.status_code})", retryable=False) from None
        except openai.BadRequestError as exc:
            raise BackendError(f"the endpoint rejected the request: {_short(exc)}", retryable=False) from None
        except openai.RateLimitError as exc:
            raise BackendError(f"rate limited after retries: {_short(exc)}", retryable=True) from None
        except openai.APITimeoutError:
            raise BackendError("the endpoint timed out after retries", retryable=True) from None
        except openai.APIConnectionError as exc:
            raise BackendError(f"cannot reach the endpoint: {_short(exc)}", retryable=True) from None
        except openai.APIStatusError as exc:
            raise BackendError(f"HTTP {exc.status_code} after retries: {_short(exc)}", retryable=True) from None
        except (ValueError, TypeError) as exc:  # a body that is not the API's shape
            raise BackendError(f"malformed response from the endpoint: {exc}", retryable=True) from None
        latency = time.monotonic() - started
        if not response.choices:
            raise BackendError("the endpoint answered with no choices", retryable=True)
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
            model=response.model or self.model,
            latency_s=latency,
        )


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


_LOADED: dict[tuple[str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()


def default_threads() -> int:
    """llama.cpp is fastest with one thread per physical core; more threads only contend."""
    return max(1, os.cpu_count() or 1)


class LocalLlamaBackend:
    """A GGUF model run in this process by llama-cpp-python (one call at a time)."""

    name = "local"
    max_concurrency = 1

    def __init__(self, model_path: Path, *, n_ctx: int = 4096, n_threads: int | None = None) -> None:
        self.model_path = Path(model_path)
        self.model = self.model_path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self._call_lock = threading.Lock()

    def _llama(self) -> Any:
        key = (str(self.model_path), self.n_ctx, self.n_threads)
        with _LOAD_LOCK:
            if key not in _LOADED:
                try:
                    from llama_cpp import Llama
                except ImportError as exc:  # pragma: no cover - the package is a dependency
                    raise BackendError(f"llama-cpp-python is not installed: {exc}", retryable=False) from None
                if not self.model_path.is_file():
                    raise BackendError(f"model file not found: {self.model_path}", retryable=False)
                try:
                    _LOADED[key] = Llama(
                        model_path=str(self.model_path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise BackendError(f"cannot load {self.model_path.name}: {exc}", retryable=False) from None
            return _LOADED[key]

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Completion:
        llama = self._llama()
        started = time.monotonic()
        with self._call_lock:
            # In process, only {"type": "json_object", "schema": …} constrains decoding
            # (json_schema is silently ignored; DESIGN.md §5).
            response = llama.create_chat_completion(
                messages=messages,
                response_format={"type": "json_object", "schema": schema},
                temperature=0.0,
                max_tokens=max_tokens,
                seed=0,
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason"),
            tokens_in=usage.get("prompt_tokens"),
            tokens_out=usage.get("completion_tokens"),
            model=self.model,
            latency_s=time.monotonic() - started,
        )
