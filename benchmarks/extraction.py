"""Extraction engine benchmark: ``uv run --no-sync python -m benchmarks.extraction``.

Prints one table per question the issue asks:

1. Throughput against the loopback OpenAI-compatible server (run in a child process, so its
   CPU is not ours) with a fixed latency L and concurrency C: 1,000 one-chunk documents, every
   answer cached and ledgered in a DuckDB warehouse exactly as the asset does it. The ceiling is
   C/L requests a second; the target is 90 % of it.
2. The same with 10 % of calls answered 429 (with ``Retry-After``): nothing may be lost.
3. A re-run over the unchanged inputs: zero calls.
4. Prompt overhead on the real e-mails in ``../shared/data`` (BC3 and MailEx; read at run
   time, never copied): instruction and schema tokens as a share of all input tokens, one
   e-mail a request versus packed; tokens counted with SmolLM2's BPE tokenizer.
5. The embedded llama.cpp path: our backend's tokens/s next to a direct ``llama_cpp.Llama``
   call on the same prompts, and llama.cpp's own internal timings.
6. The code after the model (``candidates.build_candidates``: grounding, owners, due dates) on
   the AMI meetings in ``../shared/data`` with simulated answers, per kind of owner and due, and
   on an e-mail of figures: items a second. The rules that read the whole meeting (the names
   people go by) or try phrases as dates (a due not said in the same words) cost the most.

Options: ``--help``. Fictional documents only, but for section 6, which reads the AMI meetings
from ``--data``; nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"

_ANSWER = json.dumps({
    "action_items": [{"task": "send the pilot report", "owner": "Mira", "due": "Friday", "status": "open",
                      "priority": "normal", "confidence": 0.9, "evidence_lines": [1]}],
    "decisions": [], "open_questions": [], "summary": "One commitment.",
})


# --------------------------------------------------------------------------- loopback server
def _serve(latency_s: float, share_429: float, retry_after_s: float, ready: Any, stop: Any, stats: Any) -> None:
    """Child process: the loopback server with a fixed latency and, optionally, random 429s."""
    from tests.fakes.openai_server import ChatReply, ErrorReply, FakeOpenAIServer

    rng = random.Random(20261124)
    lock = threading.Lock()
    counts = {"429": 0, "ok": 0}

    def responder(body: dict) -> Any:
        with lock:
            limited = rng.random() < share_429
            counts["429" if limited else "ok"] += 1
        if limited:
            return ErrorReply(429, retry_after=retry_after_s, message="rate limit (benchmark)")
        return ChatReply(_ANSWER)

    with FakeOpenAIServer(responder, latency_s=latency_s) as server:
        ready.put((server.base_url, server.api_key))
        stop.wait()
        stats.put({**counts, "max_in_flight": server.max_in_flight()})


@dataclass
class Loopback:
    base_url: str
    api_key: str
    process: Any
    stop: Any
    stats: Any

    def close(self) -> dict[str, int]:
        self.stop.set()
        result = self.stats.get(timeout=30)
        self.process.join(timeout=30)
        return result


def start_loopback(latency_s: float, share_429: float = 0.0, retry_after_s: float = 0.25) -> Loopback:
    ctx = mp.get_context("spawn")
    ready, stop, stats = ctx.Queue(), ctx.Event(), ctx.Queue()
    process = ctx.Process(target=_serve, args=(latency_s, share_429, retry_after_s, ready, stop, stats), daemon=True)
    process.start()
    base_url, api_key = ready.get(timeout=60)
    return Loopback(base_url, api_key, process, stop, stats)


# --------------------------------------------------------------------------- documents
def synthetic_documents(count: int) -> list[Any]:
    """Fictional one-chunk meeting notes, all different."""
    from assistant_pipelines.llm.extract import SourceDocument

    people = ["Mira", "Tomas", "Ines", "Ola", "Per"]
    docs = []
    for n in range(count):
        lines = [f"{people[(n + i) % 5]}: I'll send the pilot report {n}-{i} to the harbor team by Friday."
                 for i in range(4)]
        docs.append(SourceDocument(f"bench-{n}", "meeting", f"Pilot sync {n}",
                                   datetime(2026, 10, 6, 9, tzinfo=UTC), people, lines))
    return docs


def shared_emails(data: Path) -> list[Any]:
    """The real e-mails of ``../shared/data`` as documents (bodies only, as the pipeline sees
    an e-mail's new text)."""
    from assistant_pipelines.llm.extract import SourceDocument

    docs = []
    for name in ("bc3_emails.jsonl", "mailex_enron_emails.jsonl"):
        path = data / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle):
                record = json.loads(line)
                body = record.get("body") or ""
                subject = record.get("subject") or record.get("thread_subject") or f"{name} #{number}"
                if body.strip():
                    docs.append(SourceDocument(record.get("source_id") or f"{name}:{number}", "email", subject[:120],
                                               datetime(2026, 10, 6, 9, tzinfo=UTC), [], body.split("\n")))
    return docs


# --------------------------------------------------------------------------- scenarios
@dataclass
class RunRow:
    scenario: str
    docs: int
    calls: int
    rate_limited: int
    wall_s: float
    ok_chunks: int
    lost: int
    p50_ms: float | None
    p95_ms: float | None
    ceiling: float | None
    target: str
    passed: bool
    note: str = ""

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.wall_s if self.wall_s else 0.0

    @property
    def ok_per_s(self) -> float:
        return self.ok_chunks / self.wall_s if self.wall_s else 0.0


def _run(docs: list[Any], loopback: Loopback, url: str, concurrency: int, run_id: str) -> tuple[Any, float]:
    from assistant_pipelines.llm.backends import OpenAIBackend
    from assistant_pipelines.llm.extract import ExtractionSettings, run_extraction
    from assistant_pipelines.llm.ledger import WarehouseCallStore
    from assistant_pipelines.llm.limiter import RetryPolicy
    from assistant_pipelines.warehouse import open_warehouse

    backend = OpenAIBackend(model="fake-model", base_url=loopback.base_url, api_key=loopback.api_key,
                            max_concurrency=concurrency, timeout_s=30)
    settings = ExtractionSettings(concurrency=concurrency, retry=RetryPolicy(max_attempts=8, base_s=0.1))
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        with WarehouseCallStore(wh, run_id) as store:
            started = time.perf_counter()
            run = run_extraction(docs, backend, store, settings)
            store.flush()
            wall = time.perf_counter() - started
    return run, wall


def _latencies(run: Any) -> tuple[float | None, float | None]:
    values = sorted(c.latency_ms for c in run.calls if c.outcome == "ok" and c.latency_ms is not None)
    if len(values) < 2:
        return None, None
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94]


def throughput_rows(docs_count: int, latency_s: float, concurrency: int, latency_429_s: float,
                    retry_after_s: float, workdir: Path, say: Callable[[str], None]) -> list[RunRow]:
    docs = synthetic_documents(docs_count)
    rows = []

    url = f"duckdb:///{workdir / 'throughput.duckdb'}"
    say(f"throughput: {docs_count} documents, L={latency_s}s, C={concurrency} …")
    loopback = start_loopback(latency_s)
    try:
        run, wall = _run(docs, loopback, url, concurrency, "throughput")
        ceiling = concurrency / latency_s
        ok = sum(o.status == "ok" for o in run.outcomes)
        p50, p95 = _latencies(run)
        calls = sum(c.outcome != "cache_hit" for c in run.calls)
        share = (calls / wall) / ceiling
        rows.append(RunRow(f"sync, L={latency_s:g}s, C={concurrency}", len(docs), calls, 0, wall, ok,
                           len(docs) - ok, p50, p95, ceiling, "≥ 90 % of C/L", share >= 0.9 and ok == len(docs),
                           f"{share:.1%} of C/L"))
        say("re-run over unchanged inputs …")
        rerun, rewall = _run(docs, loopback, url, concurrency, "rerun")
        recalls = sum(c.outcome != "cache_hit" for c in rerun.calls)
        reok = sum(o.status == "ok" for o in rerun.outcomes)
        rows.append(RunRow("re-run, unchanged inputs", len(docs), recalls, 0, rewall, reok, len(docs) - reok,
                           None, None, None, "0 calls", recalls == 0 and reok == len(docs),
                           f"{sum(o.from_cache for o in rerun.outcomes)} cache hits"))
    finally:
        loopback.close()

    url = f"duckdb:///{workdir / 'rate_limited.duckdb'}"
    say(f"10 % answered 429 (Retry-After {retry_after_s:g}s), L={latency_429_s}s, C={concurrency} …")
    loopback = start_loopback(latency_429_s, share_429=0.10, retry_after_s=retry_after_s)
    try:
        run, wall = _run(docs, loopback, url, concurrency, "rate-limited")
    finally:
        server_counts = loopback.close()
    ok = sum(o.status == "ok" for o in run.outcomes)
    limited = sum(c.outcome == "rate_limited" for c in run.calls)
    calls = sum(c.outcome != "cache_hit" for c in run.calls)
    p50, p95 = _latencies(run)
    limiter = run.limiter
    rows.append(RunRow(
        f"10 % → 429, L={latency_429_s:g}s, C={concurrency}", len(docs), calls, limited, wall, ok, len(docs) - ok,
        p50, p95, concurrency / latency_429_s, "nothing lost", ok == len(docs) and limited == server_counts["429"],
        f"limit cut {limiter.cuts}×, lowest {limiter.lowest_limit}, held {limiter.paused_s:.1f}s for Retry-After"))
    return rows


def print_run_table(rows: list[RunRow]) -> None:
    header = (f"{'scenario':<30} {'docs':>5} {'calls':>6} {'429s':>5} {'wall s':>7} {'calls/s':>8} "
              f"{'C/L':>6} {'p50 ms':>7} {'p95 ms':>7} {'lost':>5}  {'target':<15} {'result':<6} note")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.scenario:<30} {r.docs:>5} {r.calls:>6} {r.rate_limited:>5} {r.wall_s:>7.1f} {r.calls_per_s:>8.1f} "
              f"{(f'{r.ceiling:.0f}' if r.ceiling else '–'):>6} {(f'{r.p50_ms:.0f}' if r.p50_ms else '–'):>7} "
              f"{(f'{r.p95_ms:.0f}' if r.p95_ms else '–'):>7} {r.lost:>5}  {r.target:<15} "
              f"{'PASS' if r.passed else 'FAIL':<6} {r.note}")


# --------------------------------------------------------------------------- prompt overhead
@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints to file descriptor 2 from C, even with ``verbose=False``."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _token_counter(say: Callable[[str], None]) -> tuple[Callable[[str], int], str]:
    try:
        from llama_cpp import Llama

        from assistant_pipelines.llm.local_model import smollm2_model_path

        with _quiet_stderr():
            vocab = Llama(model_path=str(smollm2_model_path()), vocab_only=True, verbose=False)
        return (lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))), \
            "SmolLM2 BPE tokens"
    except Exception as exc:  # noqa: BLE001 - no llama.cpp or model: the estimate still answers
        say(f"(no tokenizer: {exc}; using the ~3.6 characters/token estimate)")
        from assistant_pipelines.llm.chunking import estimate_tokens

        return estimate_tokens, "estimated tokens"


def overhead_rows(data: Path, pack_documents: int, say: Callable[[str], None]) -> tuple[list[dict[str, Any]], str]:
    from assistant_pipelines.llm.extract import ExtractionSettings, group_requests, plan_work
    from assistant_pipelines.llm.packing import PackPlan

    docs = shared_emails(data)
    if not docs:
        return [], f"no e-mails found in {data}"
    count, unit = _token_counter(say)
    rows = []
    for label, pack in (("one e-mail a request", None), (f"packed (≤ {pack_documents} a request)",
                                                          PackPlan(max_documents=pack_documents))):
        settings = ExtractionSettings(pack=pack)
        items = plan_work(docs, settings)
        requests = group_requests(items, settings)
        total = fixed = source = 0
        for request in requests:
            system, user = request.messages()
            schema = json.dumps(request.schema(), separators=(",", ":"))
            instruction = count(system["content"]) + count(schema)
            body = sum(count(i.chunk.numbered_lines) for i in request.items)
            everything = instruction + count(user["content"])
            total += everything
            fixed += instruction
            source += body
        rows.append({"mode": label, "emails": len(docs), "chunks": len(items), "requests": len(requests),
                     "input_tokens": total, "instruction_schema": fixed, "source": source,
                     "share": fixed / total, "per_email": total / len(docs)})
    return rows, unit


def print_overhead_table(rows: list[dict[str, Any]], unit: str) -> None:
    header = (f"{'mode':<26} {'e-mails':>7} {'requests':>8} {'input tokens':>12} {'instr.+schema':>13} "
              f"{'share':>6} {'source':>8} {'tokens/e-mail':>13}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['mode']:<26} {r['emails']:>7} {r['requests']:>8} {r['input_tokens']:>12,} "
              f"{r['instruction_schema']:>13,} {r['share']:>6.1%} {r['source']:>8,} {r['per_email']:>13.0f}")
    if len(rows) == 2:
        saved = 1 - rows[1]["input_tokens"] / rows[0]["input_tokens"]
        print(f"packing saves {saved:.0%} of input tokens ({unit}; the header lines of each e-mail count as "
              "neither instruction nor source)")


# --------------------------------------------------------------------------- local model
def local_rows(model: str, threads: list[int], max_tokens: int, say: Callable[[str], None]) -> list[Any]:
    from assistant_pipelines.llm.extract import ExtractionSettings, group_requests, plan_work
    from assistant_pipelines.llm.local_model import ensure_embedded_model, smollm2_model_path
    from assistant_pipelines.llm.local_perf import compare_with_llama_cpp

    if model == "smollm2":
        path = smollm2_model_path()
    elif model == "qwen":
        path = ensure_embedded_model(Path(os.environ.get("ASSISTANT_HOME", REPO_ROOT / "var")) / "models")
    else:
        path = Path(model)
    settings = ExtractionSettings()
    docs = synthetic_documents(3)
    requests = group_requests(plan_work(docs, settings), settings)
    prompts = [r.messages() for r in requests]
    results = []
    for n in threads:
        say(f"local model {path.name}: {len(prompts)} prompts, {n} thread(s), {max_tokens} tokens max …")
        results.append((path.name, compare_with_llama_cpp(path, prompts, requests[0].schema(), max_tokens=max_tokens,
                                                          n_threads=n, n_ctx=4096)))
    return results


def print_local_table(results: list[Any]) -> None:
    header = (f"{'model':<34} {'path':<26} {'thr':>3} {'prompt':>6} {'gen':>5} {'wall s':>7} {'gen tok/s':>9} "
              f"{'llama.cpp prompt tok/s':>22} {'llama.cpp gen tok/s':>19} {'inside llama.cpp':>16}")
    print(header)
    print("-" * len(header))
    for name, comparison in results:
        for timing in (comparison.wrapper, comparison.direct):
            print(f"{name[:34]:<34} {timing.label:<26} {timing.threads:>3} {timing.prompt_tokens:>6} "
                  f"{timing.completion_tokens:>5} {timing.wall_s:>7.2f} {timing.tokens_per_s:>9.1f} "
                  f"{timing.llama_prompt_tokens_per_s:>22.1f} {timing.llama_gen_tokens_per_s:>19.1f} "
                  f"{timing.inside_llama_share:>16.0%}")
        print(f"{'':<34} ours ÷ direct: {comparison.ratio:.3f} "
              f"({'within' if abs(1 - comparison.ratio) <= 0.05 else 'NOT within'} 5 %)")


# --------------------------------------------------------------------------- code after the model
def _simulated_items(lines: list[str], owner: Callable[[str], str], due: str) -> list[Any]:
    """One item on every 10th line a speaker says, its task the line's first 12 words."""
    from assistant_pipelines.candidates import speaker_of
    from assistant_pipelines.llm.schema import ExtractedActionItem

    items = []
    for number, line in enumerate(lines, 1):
        label = speaker_of(line)
        if label and number % 10 == 0:
            words = line.split(":", 1)[1].split()[:12]
            if len(words) >= 2:
                items.append(ExtractedActionItem(task=" ".join(words), owner=owner(label), due=due, status="open",
                                                 priority="normal", confidence=0.9, evidence_lines=[number]))
    return items


def _build_per_answer(doc: Any, items: list[Any], per_answer: int = 8) -> int:
    from assistant_pipelines.candidates import build_candidates
    from assistant_pipelines.people import PersonDirectory

    directory = PersonDirectory()
    for start in range(0, len(items), per_answer):
        build_candidates(items[start:start + per_answer], doc, chunk_index=start, first_line=1,
                         last_line=len(doc.lines), directory=directory, model="bench", prompt_version="bench",
                         input_hash="bench")
    return len(items)


def rules_rows(data: Path, say: Callable[[str], None]) -> tuple[list[dict[str, Any]], str]:
    from assistant_pipelines.candidates import DocumentContext
    from assistant_pipelines.evaluation.datasets import load_ami
    from assistant_pipelines.llm.schema import ExtractedActionItem

    path = data / "ami_meetings.jsonl"
    if not path.exists():
        return [], f"no {path}: section skipped"
    said_on = datetime(2026, 10, 7, 10, tzinfo=UTC)
    docs = [DocumentContext(m.id, "meeting", m.lines(), said_on, said_on.date(), said_on.date(), None)
            for m in load_ami(path)]
    cases: list[tuple[str, Callable[[str], str], str]] = [
        ("owner a speaker label, no due", lambda label: label, ""),
        ("owner a first name no label shows (names read)", lambda label: "Nathan", ""),
        ("due 'next week', said nowhere (words, then dates)", lambda label: label, "next week"),
        ("due '2026-10-14', said nowhere (dates tried)", lambda label: label, "2026-10-14"),
    ]
    rows = []
    _build_per_answer(docs[0], _simulated_items(docs[0].lines, lambda label: label, "2026-10-14"))  # imports, warm-up
    for name, owner, due in cases:
        say(f"{name} on {len(docs)} meetings")
        started = time.perf_counter()
        items = sum(_build_per_answer(doc, _simulated_items(doc.lines, owner, due)) for doc in docs)
        rows.append({"case": f"AMI, {name}", "items": items, "seconds": time.perf_counter() - started})
    figures = [f"Lot {n}: {n * 37 % 9000} units shipped 4/{n % 28 + 1}, invoice {n * 53 % 100000} due the {n % 28 + 1}th"
               for n in range(300)]
    email = DocumentContext("bench:figures", "email", ["Please check the shipments below.", *figures], said_on,
                            said_on.date(), said_on.date(), "Ops", "Shipments")
    asks = [ExtractedActionItem(task="check the shipments", owner="", due="2026-11-30", status="open",
                                priority="normal", confidence=0.9, evidence_lines=[1]) for _ in range(20)]
    started = time.perf_counter()
    rows.append({"case": "e-mail of 300 lines of figures, due said nowhere", "items": _build_per_answer(email, asks),
                 "seconds": time.perf_counter() - started})
    return rows, "simulated answers, no model"


def print_rules_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'case':<62} {'items':>6} {'seconds':>8} {'items/s':>8} {'ms/item':>8}")
    for row in rows:
        rate = row["items"] / row["seconds"] if row["seconds"] else float("inf")
        print(f"{row['case']:<62} {row['items']:>6} {row['seconds']:>8.2f} {rate:>8.0f} "
              f"{1000 * row['seconds'] / max(1, row['items']):>8.2f}")


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.extraction", description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents per throughput run (default 1000)")
    parser.add_argument("--latency", type=float, default=0.5, help="loopback latency L in seconds (default 0.5)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrency C (default 16)")
    parser.add_argument("--latency-429", type=float, default=0.1, help="latency of the 429 run (default 0.1)")
    parser.add_argument("--retry-after", type=float, default=0.25, help="Retry-After of the 429s (default 0.25)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the shared data: its e-mails, and the AMI meetings for section 6")
    parser.add_argument("--pack", type=int, default=6, help="e-mails per packed request (default 6)")
    parser.add_argument("--local-model", default="smollm2", help="smollm2 | qwen | a GGUF path | none")
    parser.add_argument("--threads", default="1,2", help="llama.cpp thread counts to measure (default 1,2)")
    parser.add_argument("--local-tokens", type=int, default=48, help="max tokens per local answer (default 48)")
    parser.add_argument("--skip", default="",
                        help="comma list of sections to skip: throughput,overhead,local,rules")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    def say(message: str) -> None:
        print(f"  … {message}", flush=True)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Extraction benchmark — {os.cpu_count()} CPUs, load average {load:.1f} at start\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-extraction-") as tmp:
        if "throughput" not in skip:
            rows = throughput_rows(args.docs, args.latency, args.concurrency, args.latency_429, args.retry_after,
                                   Path(tmp), say)
            print("\n1-3. Concurrency, faults and cache (loopback server in a child process, DuckDB warehouse)")
            print_run_table(rows)
            print()
    if "overhead" not in skip:
        rows, unit = overhead_rows(args.data, args.pack, say)
        print(f"\n4. Prompt overhead on the e-mails in {args.data} ({unit})")
        if rows:
            print_overhead_table(rows, unit)
        else:
            print(unit)
        print()
    if "local" not in skip and args.local_model != "none":
        threads = [int(t) for t in args.threads.split(",") if t.strip()]
        results = local_rows(args.local_model, threads, args.local_tokens, say)
        print("\n5. Local model: our backend next to llama.cpp (same prompts, schema, threads; alternating)")
        print_local_table(results)
    if "rules" not in skip:
        rows, note = rules_rows(args.data, say)
        print(f"\n6. The code after the model (build_candidates, 8 items an answer; {note})")
        if rows:
            print_rules_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
