"""The ``action_item_candidates`` asset: what the model (and the trackers) say needs doing.

For one week: every meeting and e-mail goes through the extraction engine (cached, ledgered,
retried, within the run's budget; or, in Batch API mode, submitted as a batch whose answers
``llm_batch_sensor`` collects), each answer is grounded in its source lines or quarantined with
a reason, and every ticket created or closed that week becomes a candidate of its own. What
became of each chunk (its summary, decisions and open questions too) goes to
``document_extractions``. Checks on the same step report chunks without an answer, how much of
the model's output was grounded, and whether the budget stopped the run.
"""


import json
import time
from datetime import date
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assistant_pipelines.assets.documents import load_directory_from_warehouse
from assistant_pipelines.candidates import (
    CANDIDATE_COLUMNS,
    DocumentContext,
    build_candidates,
    drop_chunk_duplicates,
    due_counts,
    ticket_candidates,
)
from assistant_pipelines.llm.batch import submit_batch
from assistant_pipelines.llm.budget import BudgetError
from assistant_pipelines.llm.extract import (
    CallRecord,
    ChunkOutcome,
    SourceDocument,
    plan_work,
    run_budget,
    run_extraction,
)
from assistant_pipelines.llm.focus import focus_documents
from assistant_pipelines.llm.ledger import WarehouseCallStore, summarize_calls
from assistant_pipelines.partitions import week_window
from assistant_pipelines.resources import LLMResource, TeamResource, WarehouseResource
from assistant_pipelines.selection import lines_for_model

# Runs the batch sensor requests carry this tag (its value: the batch id).
BATCH_RUN_TAG = "assistant/llm_batch"


def _source_document(row: dict[str, Any], tz: Any, directory: Any) -> tuple[SourceDocument, DocumentContext]:
    local = row["occurred_at"].astimezone(tz)
    lines = row["text"].split("\n")
    participant_ids = json.loads(row["participants"] or "[]")
    names = [directory.people[p].display_name for p in participant_ids if p in directory.people]
    if row["kind"] == "meeting":  # the labels the model sees in the lines, so owners match them
        names = list(dict.fromkeys([*(line.split(":", 1)[0] for line in lines if ":" in line), *names]))
    source = SourceDocument(row["document_id"], row["kind"], row["title"], local, names[:20],
                            lines_for_model(row["kind"], lines))
    context = DocumentContext(row["document_id"], row["kind"], lines, row["occurred_at"], local.date(),
                              row["week_start"], row["author"], row["title"])
    return source, context


class _Progress:
    """Logs failures as they happen and progress at most every ``every_s`` seconds (each log
    line is an event in the Dagster instance): a slow local model shows a line per chunk or
    so, a fast endpoint one line per few hundred chunks."""

    def __init__(self, context: AssetExecutionContext, total_chunks: int, every_s: float = 10.0) -> None:
        self.context = context
        self.total_chunks = total_chunks
        self.every_s = every_s
        self.done = 0
        self.failures = 0
        self.started = self.last = time.monotonic()

    def __call__(self, outcome: ChunkOutcome) -> None:  # called under the runner's lock
        self.done += 1
        if outcome.status == "failed" and self.failures < 50:
            self.failures += 1
            self.context.log.warning(f"{outcome.document_id} chunk {outcome.chunk.index + 1}/"
                                     f"{outcome.chunk_count} FAILED: {outcome.error}")
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done == self.total_chunks:
            self.last = now
            self.context.log.info(f"extracted {self.done}/{self.total_chunks} chunks "
                                  f"({now - self.started:.0f} s)")


def _status_counts(outcomes: list[ChunkOutcome]) -> dict[str, int]:
    counts = {"ok": 0, "failed": 0, "skipped_budget": 0, "pending_batch": 0}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


def build_extraction_asset(weeks: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="action_item_candidates",
        group_name="extraction",
        partitions_def=weeks,
        deps=["documents"],
        kinds={"python", "openai"},
        check_specs=[
            dg.AssetCheckSpec("every_chunk_extracted", asset="action_item_candidates",
                              description="Every chunk of every meeting and e-mail got a valid answer."),
            dg.AssetCheckSpec("evidence_grounded", asset="action_item_candidates",
                              description="At least 60% of model items are grounded in their cited lines."),
            dg.AssetCheckSpec("within_budget", asset="action_item_candidates",
                              description="The run's token and dollar budget was not reached."),
        ],
    )
    def action_item_candidates(context: AssetExecutionContext, warehouse: WarehouseResource,
                               llm: LLMResource, team: TeamResource) -> dg.MaterializeResult:
        """Action item candidates of the week, one row per item the model reported in a chunk or
        per ticket opened or closed, with the owner resolved to a person, the due date resolved
        against the document's date, the evidence text copied from the cited source lines, and
        provenance (model, prompt version, input hash). Rows failing a rule keep a
        ``quarantine_reason`` and stay out of ``action_items``."""
        monday, start, end = week_window(context)
        week: date = monday
        try:
            settings = llm.extraction_settings()
            focus_settings = llm.focus_settings()
            batch_backend = llm.get_batch_backend() if llm.mode == "batch" else None
        except ValueError as exc:
            raise dg.Failure(description=str(exc)) from None
        run_id = context.run.run_id
        outcomes: list[ChunkOutcome] = []
        calls: list[CallRecord] = []
        judge_calls: list[CallRecord] = []
        extra: dict[str, Any] = {}
        extra_focus: dict[str, Any] = {}
        focus_scores: dict[str, dict[int, float | None]] = {}  # per focused document: kept line → P(yes)
        budget_note = "no budget set"
        budget_reached = False
        with warehouse.open() as wh:
            directory = load_directory_from_warehouse(wh)
            docs = [_source_document(r, team.tz, directory)
                    for r in wh.run_file("week_extractable_documents", {"week": week})]
            contexts = {source.document_id: ctx for source, ctx in docs}
            sources = [source for source, _ in docs]
            rows: list[dict[str, Any]] = []
            with WarehouseCallStore(wh, run_id) as store:
                try:  # one budget for the whole run: the judge's questions spend from it too
                    budget = run_budget(settings, llm.get_backend())
                except BudgetError as exc:
                    raise dg.Failure(description=str(exc)) from None
                if sources and focus_settings is not None:
                    focus = focus_documents(sources, {d: c.lines for d, c in contexts.items()}, llm.get_backend(),
                                            store, focus_settings, settings.retry, budget=budget,
                                            concurrency=settings.concurrency)
                    sources = focus.documents
                    focus_scores = {d: focus.kept_scores(d) for d in focus.verdicts}
                    judge_calls = focus.calls
                    budget_reached = focus.skipped_budget > 0
                    extra_focus = {"focus_questions": focus.questions,
                                   "focus_second_looks": focus.second_look_count,
                                   "focus_failed": len(focus.failed),
                                   "focus_skipped_budget": focus.skipped_budget,
                                   "focus_lines_kept": sum(len(kept) for kept in focus_scores.values())}
                    context.log.info(f"focus: {focus.questions} questions ({extra_focus['focus_second_looks']} second "
                                     f"looks), {extra_focus['focus_lines_kept']} lines kept "
                                     f"for extraction, {len(focus.failed)} questions failed and "
                                     f"{focus.skipped_budget} not asked for budget (their lines kept)")
                if sources:
                    try:
                        if batch_backend is not None:
                            submission = submit_batch(
                                sources, batch_backend, store, settings, week=week, run_id=run_id,
                                automatic=BATCH_RUN_TAG in context.run.tags, max_batch_attempts=llm.max_batch_attempts,
                                budget=budget)
                            outcomes, calls = submission.outcomes, submission.calls
                            extra = {"batch_id": submission.batch_id or "none",
                                     "batch_requests": submission.submitted_requests,
                                     "batch_chunks": submission.submitted_chunks}
                            if submission.error:
                                context.log.error(f"submitting the batch failed: {submission.error}")
                            elif submission.batch_id:
                                context.log.info(f"submitted {submission.submitted_chunks} chunks in "
                                                 f"{submission.submitted_requests} requests as batch "
                                                 f"{submission.batch_id}; llm_batch_sensor collects the answers")
                        else:
                            progress = _Progress(context, len(plan_work(sources, settings)))
                            run = run_extraction(sources, llm.get_backend(), store, settings, on_outcome=progress,
                                                 budget=budget)
                            outcomes, calls = run.outcomes, run.calls
                            extra = {"requests": run.requests, "packed_requests": run.packed_requests}
                            if run.limiter is not None:
                                extra.update({"concurrency_limit_lowest": run.limiter.lowest_limit,
                                              "concurrency_cuts_on_429": run.limiter.cuts,
                                              "peak_in_flight": run.limiter.peak_in_flight})
                            if budget is not None:  # the judge's questions and the extraction's requests
                                budget_note = budget.describe()
                                budget_reached = budget_reached or run.budget_reached
                    except BudgetError as exc:
                        raise dg.Failure(description=str(exc)) from None
                    version = outcomes[0].prompt_version if outcomes else ""
                    for outcome in outcomes:
                        if outcome.result is None:
                            continue
                        rows += build_candidates(
                            outcome.result.action_items, contexts[outcome.document_id],
                            chunk_index=outcome.chunk.index, first_line=outcome.chunk.first_line,
                            last_line=outcome.chunk.last_line, directory=directory, model=outcome.model,
                            prompt_version=outcome.prompt_version, input_hash=outcome.input_hash,
                            shown_lines=outcome.chunk.shown_lines(),
                            focus_scores=focus_scores.get(outcome.document_id),
                        )
                    rows = drop_chunk_duplicates(rows)
                    if outcomes:
                        store.write_extractions(week, version, outcomes[0].model, outcomes)
            for ticket in wh.run_file("window_ticket_events", {"window_start": start, "window_end": end}):
                rows += ticket_candidates(ticket, directory, week, start, end)
            wh.replace_where("action_item_candidates", "week_start = :week", {"week": week},
                             CANDIDATE_COLUMNS, rows)

        counts = _status_counts(outcomes)
        skipped = [o for o in outcomes if o.status == "skipped_budget"]
        budget_reached = budget_reached or bool(skipped)
        not_extracted = [o for o in outcomes if o.status != "ok"]
        model_rows = [r for r in rows if r["origin"] == "llm"]
        grounded = sum(1 for r in model_rows if r["quarantine_reason"] is None)
        grounded_share = grounded / len(model_rows) if model_rows else 1.0
        dues_given, dues_said = due_counts(outcomes, model_rows)
        if budget_reached:
            context.log.warning(f"the run's budget was reached ({budget_note}): {len(skipped)} chunks skipped; "
                                "the next run picks them up")
        return dg.MaterializeResult(
            metadata={
                "week": week.isoformat(),
                "mode": llm.mode,
                "documents": len(docs),
                "chunks": len(outcomes),
                "chunks_ok": counts["ok"],
                "failed_chunks": counts["failed"],
                "skipped_for_budget": counts["skipped_budget"],
                "pending_in_batch": counts["pending_batch"],
                **summarize_calls([*judge_calls, *calls]),
                "budget": budget_note,
                "budget_reached": budget_reached,
                **extra,
                **extra_focus,
                "candidates": len(rows),
                "from_model": len(model_rows),
                "from_tickets": len(rows) - len(model_rows),
                "quarantined": sum(1 for r in rows if r["quarantine_reason"]),
                # the small model invents dues; only those the source says are kept (docs/extraction.md)
                "dues_from_model": dues_given,
                "dues_said": dues_said,
                "preview": dg.MetadataValue.md("\n".join(
                    f"- {'~~' if r['quarantine_reason'] else ''}{r['task']}{'~~' if r['quarantine_reason'] else ''}"
                    f" — {r['owner_text'] or 'unassigned'}{', due ' + str(r['due_date']) if r['due_date'] else ''}"
                    for r in rows[:25]) or "none"),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="every_chunk_extracted",
                    passed=not not_extracted,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={**{k: v for k, v in counts.items()}, "not_extracted": dg.MetadataValue.md(
                        "\n".join(f"- {o.document_id} chunk {o.chunk.index}: {o.status}: {o.error}"
                                  for o in not_extracted[:20]) or "none")},
                    description="Chunks without an answer are tried again by the next run (nothing is "
                                "cached for them); chunks in a batch arrive through llm_batch_sensor.",
                ),
                dg.AssetCheckResult(
                    check_name="evidence_grounded",
                    passed=grounded_share >= 0.6,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"grounded_share": round(grounded_share, 3), "model_items": len(model_rows)},
                ),
                dg.AssetCheckResult(
                    check_name="within_budget",
                    passed=not budget_reached,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"budget": budget_note, "skipped_for_budget": len(skipped),
                              "focus_questions_skipped_for_budget": extra_focus.get("focus_skipped_budget", 0)},
                    description=(f"The budget stopped the run: {len(skipped)} chunks (and "
                                 f"{extra_focus.get('focus_skipped_budget', 0)} focus questions) were skipped and "
                                 "are picked up by the next run." if budget_reached
                                 else "The run stayed within its budget."),
                ),
            ],
        )

    return action_item_candidates
