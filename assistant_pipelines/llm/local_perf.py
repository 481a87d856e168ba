"""Is the embedded model as fast through our backend as llama.cpp itself?

:func:`compare_with_llama_cpp` runs the same prompts, with the same JSON-schema constraint,
thread count and context size, through :class:`~assistant_pipelines.llm.backends.LocalLlamaBackend`
and through a directly constructed ``llama_cpp.Llama``, and reads llama.cpp's own performance
counters (prompt and generation time measured inside the C library) for both. The wrapper's
tokens per second should be within a few percent of the direct call's: anything more would be
overhead we added. Both objects see the same prompts in the same order, so llama.cpp's reuse
of a shared prompt prefix helps both alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant_pipelines.llm.backends import LocalLlamaBackend


@dataclass
class PathTiming:
    """Totals over all prompts for one way of calling the model."""

    label: str
    threads: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    llama_prompt_ms: float = 0.0  # llama.cpp's own prompt-processing time
    llama_eval_ms: float = 0.0  # llama.cpp's own generation time
    llama_prompt_tokens: int = 0  # prompt tokens llama.cpp really evaluated (after prefix reuse)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per wall-clock second, prompt processing included."""
        return self.completion_tokens / self.wall_s if self.wall_s else 0.0

    @property
    def llama_gen_tokens_per_s(self) -> float:
        return self.completion_tokens / (self.llama_eval_ms / 1000) if self.llama_eval_ms else 0.0

    @property
    def llama_prompt_tokens_per_s(self) -> float:
        return self.llama_prompt_tokens / (self.llama_prompt_ms / 1000) if self.llama_prompt_ms else 0.0

    @property
    def inside_llama_share(self) -> float:
        """How much of the wall time llama.cpp itself accounts for (the rest: sampling, grammar,
        Python)."""
        return (self.llama_prompt_ms + self.llama_eval_ms) / 1000 / self.wall_s if self.wall_s else 0.0


@dataclass
class ThroughputComparison:
    wrapper: PathTiming
    direct: PathTiming

    @property
    def ratio(self) -> float:
        """Wrapper tokens/s ÷ direct tokens/s (1.0: no overhead; 0.97: 3 % slower)."""
        return self.wrapper.tokens_per_s / self.direct.tokens_per_s if self.direct.tokens_per_s else 0.0


def _perf(llama: Any) -> tuple[float, float, int]:
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama._ctx.ctx)
    return data.t_p_eval_ms, data.t_eval_ms, data.n_p_eval


def _reset_perf(llama: Any) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llama._ctx.ctx)


def _timed(timing: PathTiming, llama: Any, call: Any) -> None:
    _reset_perf(llama)
    started = time.perf_counter()
    usage = call()
    timing.wall_s += time.perf_counter() - started
    prompt_ms, eval_ms, prompt_evaluated = _perf(llama)
    timing.prompt_tokens += usage[0]
    timing.completion_tokens += usage[1]
    timing.llama_prompt_ms += prompt_ms
    timing.llama_eval_ms += eval_ms
    timing.llama_prompt_tokens += prompt_evaluated


def compare_with_llama_cpp(
    model_path: Path,
    prompts: list[list[dict[str, str]]],
    schema: dict[str, Any],
    *,
    max_tokens: int = 64,
    n_threads: int | None = None,
    n_ctx: int = 4096,
    warmup: bool = True,
) -> ThroughputComparison:
    """Run ``prompts`` through our backend and through ``llama_cpp.Llama`` directly (see module
    docstring). The two alternate prompt by prompt so that machine noise hits both alike."""
    from llama_cpp import Llama

    backend = LocalLlamaBackend(model_path, n_ctx=n_ctx, n_threads=n_threads)
    ours = backend.llama()
    direct = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=backend.n_threads,
                   n_threads_batch=backend.n_threads, verbose=False)
    fmt = {"type": "json_object", "schema": schema}
    wrapper_timing = PathTiming("our LocalLlamaBackend", backend.n_threads)
    direct_timing = PathTiming("llama_cpp.Llama, direct", backend.n_threads)

    def via_wrapper(messages: list[dict[str, str]]) -> tuple[int, int]:
        completion = backend.complete(messages, schema, max_tokens)
        return completion.tokens_in or 0, completion.tokens_out or 0

    def via_direct(messages: list[dict[str, str]]) -> tuple[int, int]:
        response = direct.create_chat_completion(messages=messages, response_format=fmt, temperature=0.0,
                                                 max_tokens=max_tokens, seed=0)
        usage = response.get("usage") or {}
        return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)

    if warmup and prompts:  # first calls pay for page faults and grammar compilation
        via_wrapper(prompts[0])
        via_direct(prompts[0])
    for index, messages in enumerate(prompts):
        order = [(wrapper_timing, ours, via_wrapper), (direct_timing, direct, via_direct)]
        for timing, llama, call in (order if index % 2 == 0 else order[::-1]):
            _timed(timing, llama, lambda call=call, messages=messages: call(messages))
    direct.close()
    return ThroughputComparison(wrapper_timing, direct_timing)
