"""The real llama.cpp path, in process, with the tiny SmolLM2-135M (schema-valid, not clever).

Kept short: one document, few tokens, one thread (on a busy 2-core machine a second llama.cpp
thread spins against other processes and runs several times slower)."""

from __future__ import annotations

import pytest

from assistant_pipelines.llm import backends
from assistant_pipelines.llm.backends import LocalLlamaBackend, default_threads, physical_cores
from assistant_pipelines.llm.extract import (
    ExtractionSettings,
    group_requests,
    plan_work,
    run_extraction,
)
from assistant_pipelines.llm.local_model import ModelUnavailable, smollm2_model_path
from assistant_pipelines.llm.local_perf import compare_with_llama_cpp
from tests.llm.conftest import ledger, meeting

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def smollm2():
    try:
        return smollm2_model_path()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))


def test_thread_count_is_one_per_physical_core_at_most():
    threads = default_threads()
    assert 1 <= threads <= (physical_cores() or threads)


def test_real_llama_cpp_extraction_is_ledgered(smollm2, wh, store):
    backend = LocalLlamaBackend(smollm2, n_ctx=2048, n_threads=1)
    settings = ExtractionSettings(concurrency=4, max_tokens=96)
    run = run_extraction([meeting(1, lines=2)], backend, store, settings)
    [outcome] = run.outcomes
    # SmolLM2 may or may not fit a useful answer in 96 tokens; either way the outcome is an
    # honest one and every attempt is in the ledger.
    assert outcome.status in {"ok", "failed"}
    assert (outcome.result is not None) == (outcome.status == "ok")
    rows = ledger(wh)
    assert 1 <= len(rows) <= 2 and rows[0]["backend"] == "local" and rows[0]["cost_usd"] == 0.0
    assert rows[0]["tokens_in"] > 500 and 0 < rows[0]["tokens_out"] <= 96
    assert rows[0]["model"] == smollm2.stem
    # The model was loaded once for this process, and is shared by a new backend object.
    again = LocalLlamaBackend(smollm2, n_ctx=2048, n_threads=1)
    assert again.llama() is backend.llama()
    assert sum(1 for key in backends._LOADED if key[0] == str(smollm2)) == 1


def test_our_wrapper_is_as_fast_as_llama_cpp_itself(smollm2):
    settings = ExtractionSettings()
    requests = group_requests(plan_work([meeting(2, lines=2), meeting(3, lines=2)], settings), settings)
    prompts = [r.messages() for r in requests]
    comparison = compare_with_llama_cpp(smollm2, prompts, requests[0].schema(), max_tokens=24, n_threads=1,
                                        n_ctx=2048)
    assert comparison.wrapper.completion_tokens == comparison.direct.completion_tokens > 0
    assert comparison.wrapper.prompt_tokens == comparison.direct.prompt_tokens > 0
    assert comparison.wrapper.llama_eval_ms > 0 and comparison.direct.llama_eval_ms > 0
    # A loose bound (the benchmark prints the real ratio): this catches gross overhead such
    # as reloading the model or using the wrong thread count, not machine noise.
    assert 0.5 <= comparison.ratio <= 2.0


def test_real_llama_cpp_judges_a_line_with_a_probability(smollm2, wh, store):
    """The focus pass's yes/no question in process: P(yes) is read from the first answer
    token's logits (one decoding step), cached and ledgered like any call."""
    from assistant_pipelines.llm.focus import FocusSettings, focus_documents, judge_messages
    from tests.llm.test_focus import long_meeting

    backend = LocalLlamaBackend(smollm2, n_ctx=2048, n_threads=1)
    doc, lines = long_meeting()
    judgement = backend.judge(judge_messages(doc, lines, 12, FocusSettings()))
    assert 0.0 < judgement.p_yes < 1.0  # a distribution, not a sampled word
    assert judgement.tokens_in and judgement.tokens_in > 100 and judgement.model == smollm2.stem
    again = backend.judge(judge_messages(doc, lines, 12, FocusSettings()))
    assert again.p_yes == pytest.approx(judgement.p_yes, abs=1e-6)  # deterministic
    # one look: at threshold 0 the second look would ask every line again
    run = focus_documents([doc], {doc.document_id: lines}, backend, store, FocusSettings(threshold=0.0, confirm_after=None))
    verdicts = run.verdicts[doc.document_id]
    assert verdicts and all(v.p_yes is not None for v in verdicts)
    # threshold 0: every judged line is kept and marked for the extraction
    assert sum(1 for line in run.documents[0].lines if line.startswith(">>> ")) == len(verdicts)
    rows = ledger(wh)
    assert len(rows) == len(verdicts) and {r["outcome"] for r in rows} == {"ok"}
    assert all(r["tokens_out"] == 1 and r["cost_usd"] == 0.0 for r in rows)
