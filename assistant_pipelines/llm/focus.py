"""Focus: which lines of a meeting or a long document hand out work, asked one line at a time.

A small model asked to list the action items of a meeting lists ideas, decisions and small
talk; asked "does this line give someone work to do later?" about one line with its
neighbours, its probability of "yes" ranks the real assignments near the top (docs/quality.md).
So meetings, whatever their length, and other long documents go through two passes:

1. **Judge.** Every candidate line (``selection.candidate_lines``: commitment, request,
   assignment and deadline cues, plus the closing part where meetings hand out work) is shown
   with ``before`` lines above and ``after`` below, and the model's P(yes) is read from its
   first answer token (:meth:`ChatBackend.judge`, one decoding step). A line at or above
   ``threshold`` gets a **second look**: the same question with the next ``confirm_after``
   lines below it as they are, backchannels included (the "Yep." that takes an assignment),
   and it stays only if that answer reaches ``threshold`` too. On six held-out meetings the
   two views, which must agree, kept a third fewer lines and the same gold items (docs/quality.md,
   row 27). A long turn of several sentences is asked about sentence by sentence
   (:func:`judge_view`) and kept when one of them is (row 33).
2. **Extract.** Only the lines kept, with ``view_context`` lines
   each side (backchannels included: "Yep." after an assignment says who took it), are shown
   to the ordinary extraction. Everything else is blanked, so line numbers stay the document's.

Each judgement is cached in the warehouse (the same answer cache as extraction, keyed by the
exact messages, the judge prompt's version and the model) and ledgered in ``llm_calls``. A
question that fails after the retry policy keeps its line in the view (fail open: a model
error must not drop an item) and is counted in ``FocusRun.failed``. Questions are asked
``concurrency`` at a time under the same adaptive limit as extraction (429s cut it), and
spend from the run's :class:`~assistant_pipelines.llm.budget.Budget` when one is passed: a
question the budget refuses is not asked, and its line is kept for the extraction, which the
same budget then skips for the next run to pick up.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from itertools import repeat

from assistant_pipelines.llm.backends import BackendError, ChatBackend
from assistant_pipelines.llm.budget import Budget
from assistant_pipelines.llm.chunking import FOCUS_MARK, FOCUS_WINDOW
from assistant_pipelines.llm.extract import (
    CallRecord,
    CallStore,
    SourceDocument,
    estimate_request_tokens,
)
from assistant_pipelines.llm.limiter import AdaptiveLimiter, RetryPolicy
from assistant_pipelines.llm.pricing import estimate_cost_usd
from assistant_pipelines.llm.prompts import defuse, kind_label, render_template, template_source
from assistant_pipelines.selection import (
    candidate_lines,
    has_cue,
    is_filler,
    sentences,
    speaker_prefix,
)

JUDGE_PROMPT = "verify_line"
JUDGE_TEMPLATES = (f"{JUDGE_PROMPT}.system.j2", f"{JUDGE_PROMPT}.user.j2")
MAX_EXCERPT_LINE_CHARS = 200  # a line shown around the asked one
# The asked line itself is shown whole up to this length. A long line of several sentences
# (a merged turn) is asked about sentence by sentence (`judge_view`), so this is for a long
# line without sentence ends (unpunctuated captions); longer still, its sentences with a cue
# are shown (`_clip_asked`).
MAX_ASKED_LINE_CHARS = 600


@dataclass(frozen=True)
class FocusSettings:
    """How the judge pass runs. ``threshold`` was chosen on AMI development meetings
    (docs/quality.md); ``before`` / ``after``: non-filler lines shown around the asked line;
    ``confirm_after``: lines shown below it, as they are, in the second look (None: one look
    only); ``min_lines``: documents with fewer non-filler lines skip the pass and go to the
    extraction whole (most e-mails); ``every_meeting``: a meeting goes through the pass
    whatever its length, since a short meeting sent whole got the model's worst answers
    (whole lines copied as tasks, ideas and dates; docs/quality.md, row 30)."""

    threshold: float = 0.8
    before: int = 2
    after: int = 1
    confirm_after: int | None = 2
    view_context: int = FOCUS_WINDOW
    min_lines: int = 25
    every_meeting: bool = True

    def min_lines_for(self, kind: str) -> int:
        """The non-filler lines a document of ``kind`` needs to go through the pass."""
        return 1 if self.every_meeting and kind == "meeting" else self.min_lines


@dataclass(frozen=True)
class LineVerdict:
    line: int  # 1-based line number in the document
    p_yes: float | None  # None: the question failed or was not asked (budget)
    from_cache: bool = False
    error: str | None = None
    skipped_budget: bool = False
    part: int = 0  # which sentence of a long line was asked about (1-based; `judge_view`), 0: the whole line

    @property
    def asked(self) -> tuple[int, int]:
        """(line, part): what was asked about; a line split into sentences has several."""
        return self.line, self.part


@dataclass
class FocusRun:
    """The focused documents, in input order, and what the judge pass did: the first look at
    every candidate line or sentence (``verdicts``) and the second look at those it kept
    (``second_looks``, by :attr:`LineVerdict.asked`)."""

    documents: list[SourceDocument]
    threshold: float
    verdicts: dict[str, list[LineVerdict]] = field(default_factory=dict)
    second_looks: dict[str, dict[tuple[int, int], LineVerdict]] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)

    def _all_verdicts(self) -> list[tuple[str, LineVerdict]]:
        firsts = [(doc, v) for doc, verdicts in self.verdicts.items() for v in verdicts]
        return firsts + [(doc, v) for doc, looks in self.second_looks.items() for v in looks.values()]

    @property
    def questions(self) -> int:
        return len(self._all_verdicts())

    @property
    def second_look_count(self) -> int:
        return sum(len(looks) for looks in self.second_looks.values())

    @property
    def failed(self) -> list[tuple[str, LineVerdict]]:
        return [(doc, v) for doc, v in self._all_verdicts() if v.p_yes is None and not v.skipped_budget]

    @property
    def skipped_budget(self) -> int:
        return sum(1 for _, v in self._all_verdicts() if v.skipped_budget)

    def kept_lines(self, document_id: str) -> list[int]:
        return list(self.kept_scores(document_id))

    def kept_scores(self, document_id: str) -> dict[int, float | None]:
        """The lines of a focused document that reach the extraction, with the judge's P(yes):
        the lower of the two looks (None for a line kept because its first question failed or
        was not asked). A line whose second look failed or was not asked keeps its first answer:
        a model error must not drop an item. A line asked about sentence by sentence is kept
        when one of them is, with the highest P(yes) of those kept. Empty for a document the
        pass did not focus."""
        second_looks = self.second_looks.get(document_id, {})
        kept: dict[int, float | None] = {}
        for first in self.verdicts.get(document_id, []):
            if first.p_yes is None:
                score = None
            elif first.p_yes < self.threshold:
                continue
            else:
                second = second_looks.get(first.asked)
                if second is None or second.p_yes is None:
                    score = first.p_yes
                elif second.p_yes >= self.threshold:
                    score = min(first.p_yes, second.p_yes)
                else:
                    continue
            if first.line not in kept or kept[first.line] is None:
                kept[first.line] = score
            elif score is not None:
                kept[first.line] = max(score, kept[first.line])  # type: ignore[type-var]
        return kept


@cache
def judge_prompt_version() -> str:
    """``verify_line@<12 hex>``: changes whenever a judge template changes."""
    digest = hashlib.sha256()
    for name in JUDGE_TEMPLATES:
        digest.update(name.encode() + b"\x00" + template_source(name).encode() + b"\x00")
    return f"{JUDGE_PROMPT}@{digest.hexdigest()[:12]}"


def judge_view(lines: Sequence[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """The lines the judge is asked about, and for each its place in ``lines`` as
    (1-based line, part). A line longer than :data:`MAX_EXCERPT_LINE_CHARS` and of two sentences
    or more, a speaker's whole turn as exports with a paragraph per turn give it, is shown
    as its sentences, each a line under the speaker's label (parts 1, 2, …); every other line
    as it is (part 0). The judge's scale was set on AMI's lines of one dialogue act each: shown
    the same meetings as turns, it scored their assignments lower and ranked them worse;
    sentence by sentence won back about two fifths of the F1 lost on short meetings
    (docs/quality.md, row 33); whole meetings as turns still lose about half their recall (row 36)."""
    view: list[str] = []
    places: list[tuple[int, int]] = []
    for number, line in enumerate(lines, start=1):
        label = speaker_prefix(line)
        parts = sentences(line[len(label):]) if len(line) > MAX_EXCERPT_LINE_CHARS else []
        if len(parts) < 2:
            view.append(line)
            places.append((number, 0))
            continue
        for part, sentence in enumerate(parts, start=1):
            view.append(label + sentence.strip())
            places.append((number, part))
    return view, places


def excerpt(lines: Sequence[str], index: int, before: int, after: int, *, backchannels_below: bool = False) -> str:
    """The line at ``index`` (0-based) marked ``>>>``, with ``before`` / ``after`` non-filler
    lines around it (``backchannels_below``: the next ``after`` lines as they are, filler
    included); long lines shortened."""

    def shown(i: int) -> bool:
        return bool(lines[i].strip()) and not is_filler(lines[i])

    above = [i for i in range(index - 1, -1, -1) if shown(i)][:before]
    below = [i for i in range(index + 1, len(lines))
             if (lines[i].strip() if backchannels_below else shown(i))][:after]
    rendered = []
    for i in [*reversed(above), index, *below]:
        text = " ".join(lines[i].split())
        if i == index:
            rendered.append(">>> " + _clip_asked(text))
            continue
        if len(text) > MAX_EXCERPT_LINE_CHARS:
            text = text[: MAX_EXCERPT_LINE_CHARS - 1] + "…"
        rendered.append("    " + text)
    return "\n".join(rendered)


def _clip_asked(text: str) -> str:
    """The asked line, whole up to :data:`MAX_ASKED_LINE_CHARS`; a longer one keeps its
    speaker label and the sentences that carry a cue (``selection.has_cue``), the others
    replaced by "…", so a promise at the end of a long turn is still what is asked about."""
    if len(text) <= MAX_ASKED_LINE_CHARS:
        return text
    label = speaker_prefix(text)
    kept = [s if has_cue(s) else "…" for s in sentences(text[len(label):])]
    squeezed = re.sub(r"…(?: …)+", "…", " ".join(kept))
    if squeezed == "…":  # no sentence has a cue: the line's opening
        squeezed = text[len(label):]
    clipped = label + squeezed
    return clipped if len(clipped) <= MAX_ASKED_LINE_CHARS else clipped[: MAX_ASKED_LINE_CHARS - 1] + "…"


def judge_messages(document: SourceDocument, lines: Sequence[str], index: int,
                   settings: FocusSettings, *, second_look: bool = False) -> list[dict[str, str]]:
    """The question about line ``index`` (0-based); ``second_look``: with the next
    ``settings.confirm_after`` lines below it as they are, backchannels included."""
    if second_look and settings.confirm_after is None:
        raise ValueError("these focus settings take no second look (confirm_after is None)")
    shown = (excerpt(lines, index, settings.before, settings.confirm_after or 0, backchannels_below=True)
             if second_look else excerpt(lines, index, settings.before, settings.after))
    system = render_template(JUDGE_TEMPLATES[0], kind=document.kind, kind_label=kind_label(document.kind))
    user = render_template(JUDGE_TEMPLATES[1],
        kind=document.kind, participants=[defuse(p) for p in document.participants],
        excerpt=defuse(shown))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def judge_cache_key(messages: list[dict[str, str]], version: str, model: str) -> str:
    material = "\x1f".join([version, model, json.dumps(messages, sort_keys=True)])
    return hashlib.sha256(material.encode()).hexdigest()


def focused_lines(lines: Sequence[str], kept: Sequence[int], view_context: int) -> list[str]:
    """``lines`` blanked except the ``kept`` line numbers (1-based), marked ``>>>``, and
    ``view_context`` lines each side of them."""
    show: set[int] = set()
    for n in kept:
        show.update(range(max(1, n - view_context), min(len(lines), n + view_context) + 1))
    marked = set(kept)
    return [(FOCUS_MARK + line if i + 1 in marked else line) if i + 1 in show else "" for i, line in enumerate(lines)]


class _Judge:
    """Asks, caches and ledgers the yes/no questions of one run (from several threads)."""

    def __init__(self, backend: ChatBackend, store: CallStore, retry: RetryPolicy, version: str,
                 sleep: Callable[[float], object] | None = None, budget: Budget | None = None,
                 limiter: AdaptiveLimiter | None = None) -> None:
        self.backend = backend
        self.store = store
        self.retry = retry
        self.version = version
        self.sleep = sleep or time.sleep
        self.budget = budget
        self.limiter = limiter or AdaptiveLimiter(1)
        self.calls: list[CallRecord] = []
        self._lock = threading.Lock()

    def _record(self, document_id: str, key: str, attempt: int, started_at: datetime, **kw: object) -> CallRecord:
        record = CallRecord(call_id=uuid.uuid4().hex, document_id=document_id, chunk_index=None,
                            backend=self.backend.name, model=self.backend.model, prompt_version=self.version,
                            input_hash=key, attempt=attempt, started_at=started_at,
                            request_id=key[:32] if attempt else None, **kw)  # type: ignore[arg-type]
        self.store.record_calls([record])
        with self._lock:
            self.calls.append(record)
        return record

    def ask(self, document_id: str, line: int, messages: list[dict[str, str]], cached: dict[str, str]) -> LineVerdict:
        key = judge_cache_key(messages, self.version, self.backend.model)
        if key in cached:
            try:
                p_yes = float(json.loads(cached[key])["p_yes"])
            except (ValueError, KeyError, TypeError):
                pass  # an entry of another shape: ask again
            else:
                self._record(document_id, key, 0, datetime.now(UTC), tokens_in=0, tokens_out=0, latency_ms=0.0,
                             cost_usd=0.0, outcome="cache_hit", finish_reason=None, error=None)
                return LineVerdict(line, p_yes, from_cache=True)
        failures = 0
        while True:
            reservation = None
            if self.budget is not None:
                reservation = self.budget.reserve(estimate_request_tokens(messages, {}), 1)
                if reservation is None:
                    return LineVerdict(line, None, error=f"not asked: the run's budget is spent "
                                       f"({self.budget.describe()})", skipped_budget=True)
            ticket = self.limiter.acquire()
            started_at = datetime.now(UTC)
            try:
                judgement = self.backend.judge(messages)
            except BackendError as exc:
                self.limiter.release(ticket, rate_limited=exc.kind == "rate_limited", retry_after_s=exc.retry_after_s)
                if reservation is not None:
                    self.budget.settle_failed(reservation, exc.kind)  # type: ignore[union-attr]
                self._record(document_id, key, failures + 1, started_at, tokens_in=None, tokens_out=None,
                             latency_ms=round(exc.latency_s * 1000, 1) if exc.latency_s is not None else None,
                             cost_usd=None, outcome=exc.kind, finish_reason=None, error=str(exc),
                             http_status=exc.status)
                failures += 1
                if exc.retryable and failures < self.retry.max_attempts:
                    self.sleep(self.retry.delay(failures, exc.retry_after_s))
                    continue
                return LineVerdict(line, None, error=str(exc))
            except BaseException:
                self.limiter.release(ticket)
                if reservation is not None:
                    self.budget.settle(reservation, None, None)  # type: ignore[union-attr]
                raise
            self.limiter.release(ticket, success=True)
            cost = estimate_cost_usd(self.backend.name, judgement.model, judgement.tokens_in, 1)
            if reservation is not None:
                self.budget.settle(reservation, judgement.tokens_in, 1, cost)  # type: ignore[union-attr]
            self._record(document_id, key, failures + 1, started_at, tokens_in=judgement.tokens_in, tokens_out=1,
                         latency_ms=round(judgement.latency_s * 1000, 1), cost_usd=cost,
                         outcome="ok", finish_reason="length", error=None,
                         http_status=200 if self.backend.name == "openai" else None)
            p_yes = round(judgement.p_yes, 6)  # as cached, so a re-run decides exactly the same
            self.store.store_answer(key, model=self.backend.model, prompt_version=self.version, input_hash=key,
                                    response_json=json.dumps({"p_yes": p_yes}))
            return LineVerdict(line, p_yes)


def focus_documents(documents: Sequence[SourceDocument], originals: dict[str, list[str]], backend: ChatBackend,
                    store: CallStore, settings: FocusSettings, retry: RetryPolicy | None = None,
                    sleep: Callable[[float], object] | None = None, *, budget: Budget | None = None,
                    concurrency: int = 1) -> FocusRun:
    """Each meeting, and each other document of ``min_lines`` non-filler lines or more
    (:meth:`FocusSettings.min_lines_for`), focused on the lines judged to hand out work
    (``originals``: the full lines of each document by id, filler included); shorter
    documents unchanged. Up to ``concurrency`` questions (capped by the backend's own
    limit) are in flight at once; ``budget`` is the run's, shared with the extraction."""
    workers = max(1, min(concurrency, backend.max_concurrency))
    judge = _Judge(backend, store, retry or RetryPolicy(), judge_prompt_version(), sleep, budget,
                   AdaptiveLimiter(workers))
    run = FocusRun(documents=[], threshold=settings.threshold)

    def ask_all(document: SourceDocument, asked: list[tuple[tuple[int, int], list[dict[str, str]]]]) -> list[LineVerdict]:
        cached = store.cached_answers([judge_cache_key(m, judge.version, backend.model) for _, m in asked])
        # map() keeps the questions' order, so verdicts (and the view) do not depend on timing
        verdicts = pool.map(judge.ask, repeat(document.document_id), [line for (line, _), _ in asked],
                            [messages for _, messages in asked], repeat(cached))
        return [replace(v, part=part) for ((_, part), _), v in zip(asked, verdicts, strict=True)]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
        for document in documents:
            lines = originals.get(document.document_id, document.lines)
            if candidate_lines(lines, min_lines=settings.min_lines_for(document.kind)) is None:
                run.documents.append(document)  # too short for the pass: its lines count, not its sentences
                continue
            view, places = judge_view(lines)
            candidates = candidate_lines(view, min_lines=1) or []
            verdicts = ask_all(document, [(places[i], judge_messages(document, view, i, settings))
                                          for i in candidates])
            run.verdicts[document.document_id] = verdicts
            if settings.confirm_after is not None:
                index_of = {place: i for i, place in enumerate(places)}
                again = [index_of[v.asked] for v in verdicts if v.p_yes is not None and v.p_yes >= settings.threshold]
                second = ask_all(document, [(places[i], judge_messages(document, view, i, settings, second_look=True))
                                            for i in again])
                run.second_looks[document.document_id] = {v.asked: v for v in second}
            kept = run.kept_lines(document.document_id)
            run.documents.append(replace(document, lines=focused_lines(lines, kept, settings.view_context),
                                         focused=True))
            store.flush()
    run.calls = judge.calls
    return run
