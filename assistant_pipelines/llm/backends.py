"""The two ways to reach a model, behind one small interface.

``OpenAIBackend``: the ``openai`` client against any OpenAI-compatible endpoint (OpenAI,
vLLM, Ollama, a llama.cpp server), with the client's own retries switched off: the extraction
loop owns the one retry policy, so every attempt is ledgered. ``LocalLlamaBackend``:
llama-cpp-python in this process, the model loaded once per process with one thread per
physical core. Both return a :class:`Completion` or raise :class:`BackendError`; neither
validates the answer (``extract.py`` does, whatever the backend promised).
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant_pipelines.llm.limiter import parse_retry_after

# What went wrong, as recorded in ``llm_calls.outcome``; the retryable ones may pass if tried later.
# ``format_switched``: the endpoint refused ``json_schema`` and the backend now sends ``json_object``.
RETRYABLE_KINDS = frozenset({"rate_limited", "server_error", "timeout", "connection_error", "malformed_response",
                             "format_switched"})

# The request dialects of ``OpenAIBackend`` (``auto``: json_schema until the endpoint refuses it).
RESPONSE_FORMATS = ("auto", "json_schema", "json_object")


class BackendError(RuntimeError):
    """The endpoint or the model could not answer.

    ``kind`` is one of ``rate_limited``, ``server_error``, ``timeout``, ``connection_error``,
    ``malformed_response``, ``format_switched`` (retryable) or ``rejected``, ``unavailable`` (not);
    ``retry_after_s`` is the wait the server asked for, ``status`` the HTTP status if any."""

    def __init__(self, message: str, *, kind: str, retry_after_s: float | None = None,
                 status: int | None = None, latency_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s
        self.status = status
        self.latency_s = latency_s

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    model: str
    latency_s: float


@dataclass(frozen=True)
class Judgement:
    """A yes/no question answered with the model's probability of "yes" (its first answer
    token's distribution over yes and no, renormalised), not a sampled word: a small model's
    ranking of candidates is far better than its argmax (docs/quality.md)."""

    p_yes: float
    tokens_in: int | None
    model: str
    latency_s: float


YES_WORDS = frozenset({"yes", "y"})
NO_WORDS = frozenset({"no", "n"})


def yes_share(token_probs: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over answer tokens (any case, any leading space), or None
    when neither appears."""
    yes = sum(p for t, p in token_probs.items() if t.strip().lower() in YES_WORDS)
    no = sum(p for t, p in token_probs.items() if t.strip().lower() in NO_WORDS)
    return yes / (yes + no) if yes + no > 0 else None


class ChatBackend(Protocol):
    name: str  # "openai" | "local"
    model: str
    max_concurrency: int

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Completion: ...

    def judge(self, messages: list[dict[str, str]]) -> Judgement: ...


class OpenAIBackend:
    """Any OpenAI-compatible chat completions endpoint.

    ``response_format`` is the request dialect: ``json_schema`` (OpenAI, vLLM, Ollama: strict
    schema), ``json_object`` (the schema inside ``{"type": "json_object", "schema": …}``, which
    is all llama-cpp-python's server takes; DESIGN.md §5), or ``auto``: ``json_schema`` until
    the endpoint refuses it, then ``json_object`` for the rest of this backend's life. The
    refused request fails with kind ``format_switched`` (retryable), so the caller's retry loop
    ledgers it and sends it again in the new dialect."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        max_concurrency: int = 8,
        response_format: str = "auto",
        timeout_s: float = 120.0,
    ) -> None:
        import openai

        if response_format not in RESPONSE_FORMATS:
            raise ValueError(f"response_format must be one of {', '.join(RESPONSE_FORMATS)}, not {response_format!r}")
        self.model = model
        self.max_concurrency = max_concurrency
        self.response_format = response_format
        self.switched_to_json_object = False  # set once an ``auto`` backend saw json_schema refused
        # max_retries=0: one retry policy (extract.py's), and every attempt in the ledger.
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=0,
        )

    @property
    def dialect(self) -> str:
        """The response format requests are sent in now: ``json_schema`` or ``json_object``."""
        if self.response_format == "auto":
            return "json_object" if self.switched_to_json_object else "json_schema"
        return self.response_format

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.dialect == "json_object":
            return {"type": "json_object", "schema": schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": "extraction", "strict": True, "schema": schema},
        }

    def request_body(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        """The chat completion request, as sent now or as a line of a Batch API file."""
        return {
            "model": self.model,
            "messages": messages,
            "response_format": self._response_format(schema),
            "temperature": 0,
            "max_tokens": max_tokens,
        }

    def _create(self, body: dict[str, Any]) -> tuple[Any, float]:
        """(response, latency) for one chat completion request; every failure a BackendError."""
        import openai

        started = time.monotonic()

        def fail(message: str, kind: str, exc: Exception | None = None) -> BackendError:
            response = getattr(exc, "response", None)
            return BackendError(
                message, kind=kind,
                retry_after_s=parse_retry_after(response.headers) if response is not None else None,
                status=getattr(exc, "status_code", None),
                latency_s=time.monotonic() - started,
            )

        try:
            response = self.client.chat.completions.create(**body)
        except openai.AuthenticationError as exc:
            raise fail(f"the endpoint refused the API key (HTTP {exc.status_code})", "rejected", exc) from None
        except openai.NotFoundError as exc:
            raise fail(f"the endpoint does not know model {self.model!r} (HTTP {exc.status_code})", "rejected", exc) from None
        except openai.RateLimitError as exc:
            raise fail(f"rate limited (HTTP 429): {_short(exc)}", "rate_limited", exc) from None
        except openai.APITimeoutError:
            raise fail("the endpoint did not answer in time", "timeout") from None
        except openai.APIConnectionError as exc:
            raise fail(f"cannot reach the endpoint: {_short(exc)}", "connection_error") from None
        except openai.InternalServerError as exc:
            raise fail(f"HTTP {exc.status_code}: {_short(exc)}", "server_error", exc) from None
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                raise fail(f"HTTP {exc.status_code}: {_short(exc)}", "server_error", exc) from None
            raise fail(f"the endpoint rejected the request (HTTP {exc.status_code}): {_short(exc)}",
                       "rejected", exc) from None
        except openai.APIError as exc:  # e.g. a response that fails the client's own validation
            raise fail(f"unexpected answer from the endpoint: {_short(exc)}", "malformed_response") from None
        except (ValueError, TypeError) as exc:  # a body that is not JSON or not the API's shape
            raise fail(f"malformed response from the endpoint: {_short(exc)}", "malformed_response") from None
        latency = time.monotonic() - started
        if not getattr(response, "choices", None):
            raise BackendError("the endpoint answered with no choices", kind="malformed_response", latency_s=latency)
        return response, latency

    def judge(self, messages: list[dict[str, str]]) -> Judgement:
        """P(yes) from the first answer token's ``top_logprobs`` (OpenAI, vLLM and llama.cpp's
        server return them); an endpoint that returns none is judged by the word it answered
        (1.0 or 0.0), which still works but ranks nothing."""
        response, latency = self._create({"model": self.model, "messages": messages, "temperature": 0,
                                          "max_tokens": 1, "logprobs": True, "top_logprobs": 10})
        choice = response.choices[0]
        usage = response.usage
        probs: dict[str, float] = {}
        content = getattr(choice.logprobs, "content", None) if choice.logprobs is not None else None
        if content:
            for top in content[0].top_logprobs or []:
                probs[top.token] = probs.get(top.token, 0.0) + math.exp(top.logprob)
        p_yes = yes_share(probs)
        if p_yes is None:
            word = (choice.message.content or "").strip().lower().strip(".!")
            if word not in YES_WORDS | NO_WORDS:
                raise BackendError(f"the endpoint answered {word[:40]!r} to a yes/no question",
                                   kind="malformed_response", latency_s=latency)
            p_yes = 1.0 if word in YES_WORDS else 0.0
        return Judgement(p_yes=p_yes, tokens_in=usage.prompt_tokens if usage else None,
                         model=response.model or self.model, latency_s=latency)

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Completion:
        body = self.request_body(messages, schema, max_tokens)
        try:
            response, latency = self._create(body)
        except BackendError as exc:
            if body["response_format"]["type"] != "json_schema" or not _refuses_json_schema(exc):
                raise
            if self.response_format == "json_schema":
                raise BackendError(f"{exc} (this endpoint does not take response_format json_schema: "
                                   "set ASSISTANT_LLM_RESPONSE_FORMAT=json_object or auto)", kind="rejected",
                                   status=exc.status, latency_s=exc.latency_s) from None
            # A plain assignment: concurrent requests refused at the same time all set it.
            self.switched_to_json_object = True
            raise BackendError(f"{exc} (the endpoint does not take response_format json_schema: "
                               "from now on the schema is sent inside json_object)", kind="format_switched",
                               status=exc.status, latency_s=exc.latency_s) from None
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


def _refuses_json_schema(exc: BackendError) -> bool:
    """Whether an endpoint's error says it takes ``json_object`` where we sent ``json_schema``
    (llama-cpp-python's server: HTTP 500, "Input should be 'text' or 'json_object'"; older
    llama.cpp servers: 400). An error about the schema itself (OpenAI's 400 "Invalid schema
    for response_format …") does not name json_object and is not a reason to switch."""
    text = str(exc).lower()
    return exc.status in {400, 422, 500} and "json_object" in text and (
        "response_format" in text or "json_schema" in text)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


_LOADED: dict[tuple[str, int, int], Any] = {}


@atexit.register
def _close_loaded_models() -> None:
    # Free models while the interpreter is whole: left to garbage collection at shutdown,
    # llama-cpp-python's finaliser runs after its C bindings are gone and prints a TypeError.
    while _LOADED:
        _, llama = _LOADED.popitem()
        llama.close()
_LOAD_LOCK = threading.Lock()


def physical_cores() -> int | None:
    """Physical cores from ``/proc/cpuinfo`` (Linux), or ``None`` where it cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    for line in text.splitlines() + [""]:
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "physical id":
            physical = value.strip()
        elif name == "core id":
            core = value.strip()
        elif not line.strip() and core:
            cores.add((physical, core))
            physical = core = ""
    return len(cores) or None


def default_threads() -> int:
    """llama.cpp is fastest with one thread per physical core (hyper-threads only contend),
    and never more than the CPUs this process may run on (containers, ``taskset``)."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = os.cpu_count() or 1
    return max(1, min(allowed, physical_cores() or allowed))


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
        self._yes_no_ids: tuple[list[int], list[int]] | None = None

    def llama(self) -> Any:
        """The loaded model, shared by every backend object of this process with these settings."""
        key = (str(self.model_path), self.n_ctx, self.n_threads)
        with _LOAD_LOCK:
            if key not in _LOADED:
                try:
                    from llama_cpp import Llama
                except ImportError as exc:  # pragma: no cover - the package is a dependency
                    raise BackendError(f"llama-cpp-python is not installed: {exc}", kind="unavailable") from None
                if not self.model_path.is_file():
                    raise BackendError(f"model file not found: {self.model_path}", kind="unavailable")
                try:
                    _LOADED[key] = Llama(
                        model_path=str(self.model_path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise BackendError(f"cannot load {self.model_path.name}: {exc}", kind="unavailable") from None
            return _LOADED[key]

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Completion:
        llama = self.llama()
        with self._call_lock:
            started = time.monotonic()
            try:
                # In process, only {"type": "json_object", "schema": …} constrains decoding
                # (json_schema is silently ignored; DESIGN.md §5).
                response = llama.create_chat_completion(
                    messages=messages,
                    response_format={"type": "json_object", "schema": schema},
                    temperature=0.0,
                    max_tokens=max_tokens,
                    seed=0,
                )
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise BackendError(f"the local model cannot take this request: {exc}", kind="rejected",
                                   latency_s=time.monotonic() - started) from None
            latency = time.monotonic() - started
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason"),
            tokens_in=usage.get("prompt_tokens"),
            tokens_out=usage.get("completion_tokens"),
            model=self.model,
            latency_s=latency,
        )

    def _answer_token_ids(self, llama: Any) -> tuple[list[int], list[int]]:
        """The single-token spellings of "yes" and "no" in this model's vocabulary."""
        if self._yes_no_ids is None:
            def ids(words: frozenset[str]) -> list[int]:
                found: set[int] = set()
                for word in words:
                    for spelling in (word, word.capitalize(), word.upper()):
                        for text in (spelling, " " + spelling):
                            tokens = llama.tokenize(text.encode(), add_bos=False, special=False)
                            if len(tokens) == 1:
                                found.add(tokens[0])
                return sorted(found)
            self._yes_no_ids = (ids(YES_WORDS), ids(NO_WORDS))
        return self._yes_no_ids

    def judge(self, messages: list[dict[str, str]]) -> Judgement:
        """P(yes) read from the logits of the first answer token (one decoding step). A prompt
        that shares a prefix with the previous call reuses its KV cache, so the fixed system
        prompt is read once per process, not once per question."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        llama = self.llama()
        seen: dict[str, float] = {}

        def capture(_input_ids: Any, scores: Any) -> Any:
            yes_ids, no_ids = self._answer_token_ids(llama)
            logits = np.asarray(scores, dtype=np.float64)
            top = logits.max()
            seen["yes"] = float(np.exp(logits[yes_ids] - top).sum())
            seen["no"] = float(np.exp(logits[no_ids] - top).sum())
            return scores

        with self._call_lock:
            started = time.monotonic()
            try:
                response = llama.create_chat_completion(messages=messages, temperature=0.0, max_tokens=1, seed=0,
                                                        logits_processor=LogitsProcessorList([capture]))
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise BackendError(f"the local model cannot take this request: {exc}", kind="rejected",
                                   latency_s=time.monotonic() - started) from None
            latency = time.monotonic() - started
        total = seen.get("yes", 0.0) + seen.get("no", 0.0)
        if total <= 0:
            raise BackendError("the local model gave no probability to yes or no", kind="malformed_response",
                               latency_s=latency)
        usage = response.get("usage") or {}
        return Judgement(p_yes=seen["yes"] / total, tokens_in=usage.get("prompt_tokens"), model=self.model,
                         latency_s=latency)
