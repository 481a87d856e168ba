"""``assistant-pipelines eval``: the real extraction path on labelled meetings and e-mails.

Each labelled document goes through exactly what the pipeline does to a document (line
selection, chunking, the configured backend with its cache and ledger, grounding and
quarantine rules) and the accepted items are judged against the gold by meaning. Answers are
cached in a warehouse of the evaluation's own (``$ASSISTANT_HOME/eval/eval.duckdb``), so a
second run with the same prompt and model is instant and a changed prompt re-asks only what
changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant_pipelines.candidates import (
    DocumentContext,
    build_candidates,
    drop_chunk_duplicates,
    due_counts,
)
from assistant_pipelines.evaluation.datasets import (
    DatasetError,
    LabelledEmail,
    LabelledMeeting,
    as_cues,
    load_ami,
    load_bc3,
    merged_turns,
    short_meetings,
)
from assistant_pipelines.evaluation.matching import DEFAULT_MAX_LINES_APART, Matcher
from assistant_pipelines.evaluation.report import format_table, write_items_jsonl
from assistant_pipelines.evaluation.runner import (
    DocumentOutcome,
    Prediction,
    StopEvaluation,
    evaluate,
)
from assistant_pipelines.ingest.mail_text import authored_lines
from assistant_pipelines.llm.budget import BudgetError
from assistant_pipelines.llm.extract import SourceDocument, run_budget, run_extraction
from assistant_pipelines.llm.focus import focus_documents
from assistant_pipelines.llm.ledger import WarehouseCallStore
from assistant_pipelines.people import PersonDirectory
from assistant_pipelines.selection import lines_for_model
from assistant_pipelines.settings import Settings
from assistant_pipelines.warehouse import open_warehouse

DATA_FILES = {"ami": "ami_meetings.jsonl", "bc3": "bc3_emails.jsonl"}
FALLBACK_DATE = datetime(2005, 1, 3, 10, 0, tzinfo=UTC)  # AMI gives no time of day


def load_documents(data_dir: Path, source: str, limit: int | None,
                   only: set[str] | None = None) -> list[LabelledMeeting | LabelledEmail]:
    documents: list[LabelledMeeting | LabelledEmail] = []
    for name in (["ami", "bc3"] if source == "all" else [source]):
        path = data_dir / DATA_FILES[name]
        if not path.is_file():
            raise DatasetError(str(path), "file", f"not found: expected {DATA_FILES[name]} in {data_dir}")
        loaded: list[LabelledMeeting | LabelledEmail] = list(load_ami(path) if name == "ami" else load_bc3(path))
        if only is not None:
            loaded = [doc for doc in loaded if doc.id in only]
        documents += loaded[:limit] if limit else loaded
    if only is not None:
        missing = sorted(only - {doc.id for doc in documents})
        if missing:
            raise DatasetError(str(data_dir), "--only", f"no document with id {', '.join(missing)}")
    return documents


def _source_document(doc: LabelledMeeting | LabelledEmail) -> tuple[SourceDocument, DocumentContext]:
    occurred = doc.occurred_at or FALLBACK_DATE
    if occurred.tzinfo is None:
        occurred = occurred.replace(hour=10, tzinfo=UTC)
    lines = doc.lines()
    if doc.kind == "email":  # what the pipeline reads of an e-mail: its author's new text
        lines = [line if authored else "" for line, authored in zip(lines, authored_lines(lines), strict=True)]
    author = getattr(doc, "sender", None)
    source = SourceDocument(f"eval:{doc.source}:{doc.id}", doc.kind, getattr(doc, "title", None) or
                            getattr(doc, "subject", "") or doc.id, occurred, list(doc.participants)[:20],
                            lines_for_model(doc.kind, lines))
    context = DocumentContext(source.document_id, doc.kind, lines, occurred, occurred.date(),
                              occurred.date(), author, source.title)
    return source, context


class RealExtraction:
    """``extract(doc)`` for the evaluation runner, backed by the configured model. The whole
    evaluation spends from one budget (``ASSISTANT_LLM_BUDGET_*``), judge questions included;
    when it runs out the evaluation stops rather than scoring a half-read document, and what
    was asked stays cached for the next run. Raises ``BudgetError`` for a budget it cannot
    enforce (a dollar limit for a model without a known price)."""

    def __init__(self, settings: Settings, store: WarehouseCallStore) -> None:
        from assistant_pipelines.resources import llm_resource

        # Outside Dagster nothing resolves an EnvVar: the resource gets the key's value.
        llm = llm_resource(settings, resolve_secrets=True)
        self.backend = llm.get_backend()
        self.settings = llm.extraction_settings()
        self.focus = llm.focus_settings()
        self.budget = run_budget(self.settings, self.backend)
        self.judged = 0
        self.second_looks = 0
        self.judge_failed = 0
        self.notes: dict[str, str] = {}  # per document: what the focus pass kept
        self.store = store
        self.directory = PersonDirectory()
        self.quarantined = 0
        self.model_items = 0
        self.dues_given = 0  # items the model gave a due, as it answered
        self.dues_said = 0  # accepted items whose due the source says (the others' is dropped)

    def __call__(self, doc: Any) -> list[Prediction]:
        source, context = _source_document(doc)
        focus_scores: dict[int, float | None] = {}
        if self.focus is not None:
            focus = focus_documents([source], {source.document_id: context.lines}, self.backend, self.store,
                                    self.focus, self.settings.retry, budget=self.budget,
                                    concurrency=self.settings.concurrency)
            self._stop_if_over_budget(focus.skipped_budget)
            source = focus.documents[0]
            self.judged += sum(len(v) for v in focus.verdicts.values())
            self.second_looks += focus.second_look_count
            self.judge_failed += len(focus.failed)
            if source.document_id in focus.verdicts:
                focus_scores = focus.kept_scores(source.document_id)
                self.notes[doc.id] = (f"focus kept {len(focus_scores)} line(s) after judging "
                                      f"{len(focus.verdicts[source.document_id])} lines or sentences "
                                      f"({focus.questions} questions)")
        run = run_extraction([source], self.backend, self.store, self.settings, budget=self.budget)
        self._stop_if_over_budget(len(run.skipped_for_budget))
        failed = [o for o in run.outcomes if o.result is None]
        if failed:
            raise RuntimeError(f"{len(failed)} chunk(s) failed: {failed[0].error}")
        rows: list[dict[str, Any]] = []
        for outcome in run.outcomes:
            assert outcome.result is not None
            rows += build_candidates(
                outcome.result.action_items, context, chunk_index=outcome.chunk.index,
                first_line=outcome.chunk.first_line, last_line=outcome.chunk.last_line,
                directory=self.directory, model=outcome.model, prompt_version=outcome.prompt_version,
                input_hash=outcome.input_hash, shown_lines=outcome.chunk.shown_lines(),
                focus_scores=focus_scores)
        rows = drop_chunk_duplicates(rows)
        self.model_items += len(rows)
        self.quarantined += sum(1 for r in rows if r["quarantine_reason"])
        given, said = due_counts(run.outcomes, rows)
        self.dues_given += given
        self.dues_said += said
        return [Prediction(task=r["task"], owner=r["owner_text"], due=r["due_text"], confidence=r["confidence"],
                           evidence_lines=[int(n) for n in r["evidence_lines"].strip("[]").split(",") if n])
                for r in rows if r["quarantine_reason"] is None]

    def _stop_if_over_budget(self, skipped: int) -> None:
        if skipped and self.budget is not None:
            raise StopEvaluation(f"the budget ran out ({self.budget.describe()}); {skipped} request(s) of this "
                                 "document were not sent")


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    data_dir = Path(args.data).expanduser().resolve()
    try:
        only = {part.strip() for part in args.only.split(",") if part.strip()} if getattr(args, "only", None) else None
        documents = load_documents(data_dir, args.source, args.limit, only)
        shape = merged_turns if getattr(args, "merged_turns", False) else as_cues if getattr(args, "as_cues", False) else None
        if shape is not None:
            documents = [shape(d) if isinstance(d, LabelledMeeting) else d for d in documents]
        if getattr(args, "short_meetings", None) is not None:
            if args.short_meetings < 1:
                raise DatasetError(str(data_dir), "--short-meetings", "needs a number of lines of 1 or more")
            documents = [*short_meetings((d for d in documents if isinstance(d, LabelledMeeting)), args.short_meetings),
                         *(d for d in documents if not isinstance(d, LabelledMeeting))]
    except DatasetError as exc:
        print(f"assistant-pipelines eval: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else settings.home / "eval" / (
        f"items-{args.source}-{datetime.now():%Y%m%d-%H%M%S}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    cache_url = f"duckdb:///{settings.home / 'eval' / 'eval.duckdb'}"
    matcher = Matcher(max_lines_apart=None if getattr(args, "match_anywhere", False) else DEFAULT_MAX_LINES_APART)
    started = time.monotonic()
    print(f"evaluating {len(documents)} documents from {data_dir} with {settings.llm_backend} "
          f"({settings.llm_model if settings.llm_backend == 'openai' else 'local model'})", flush=True)
    with open_warehouse(cache_url) as wh:
        wh.ensure_schema()
        with WarehouseCallStore(wh, run_id=f"eval-{int(time.time())}") as store:
            try:
                extraction = RealExtraction(settings, store)
            except BudgetError as exc:
                print(f"assistant-pipelines eval: {exc}", file=sys.stderr)
                return 2

            def progress(outcome: DocumentOutcome) -> None:
                status = f"FAILED: {outcome.error}" if outcome.error else (
                    f"{len(outcome.predictions)} predicted, {len(outcome.gold)} gold, {len(outcome.pairs)} matched")
                note = extraction.notes.get(outcome.document_id)
                print(f"  [{outcome.source}] {outcome.document_id}: {status} ({outcome.seconds:.0f} s"
                      f"{'; ' + note if note else ''})", flush=True)

            result = evaluate(documents, extraction, matcher, on_document=progress)
    written = write_items_jsonl(result, out)
    print()
    print(format_table(result.metrics, threshold=result.threshold, max_lines_apart=result.max_lines_apart))
    if matcher.max_lines_apart is None:
        print("matched by meaning alone, wherever the evidence lies (--match-anywhere)")
    print()
    if extraction.focus is not None:
        print(f"focus: {extraction.judged} lines or sentences judged one by one, {extraction.second_looks} of them looked at "
              f"twice ({extraction.judge_failed} questions failed, their lines kept), threshold "
              f"{extraction.focus.threshold}")
    print(f"model items {extraction.model_items}, quarantined by the grounding rules {extraction.quarantined}; "
          f"{time.monotonic() - started:.0f} s in all")
    print(f"due dates: the model gave {extraction.dues_given} of its items one; {extraction.dues_said} accepted "
          "items keep one, said in the source (a due the source does not say is dropped)")
    print(f"per-item file ({written} rows): {out}")
    if result.stopped:
        print(f"\nSTOPPED EARLY: {result.stopped}. The table covers the {len(result.outcomes)} documents "
              f"before it; {len(result.not_evaluated)} were not evaluated "
              f"({', '.join(doc for _, doc in result.not_evaluated[:5])}"
              f"{', …' if len(result.not_evaluated) > 5 else ''}). Answers so far are cached: a run with a "
              "larger ASSISTANT_LLM_BUDGET_* goes on from here.")
    return 0
