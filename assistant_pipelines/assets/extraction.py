"""The ``action_item_candidates`` asset: what the model (and the trackers) say needs doing.

For one week: every meeting and e-mail goes through the extraction loop (cached, ledgered,
retried), each answer is grounded in its source lines or quarantined with a reason, and every
ticket created or closed that week becomes a candidate of its own. Checks on the same step
report chunks the model failed on and how much of its output was grounded.
"""


import json
import statistics
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
    ticket_candidates,
)
from assistant_pipelines.llm.extract import ChunkOutcome, SourceDocument, extract_documents
from assistant_pipelines.llm.ledger import WarehouseCallStore
from assistant_pipelines.partitions import week_window
from assistant_pipelines.resources import LLMResource, TeamResource, WarehouseResource


def _source_document(row: dict[str, Any], tz: Any, directory: Any) -> tuple[SourceDocument, DocumentContext]:
    local = row["occurred_at"].astimezone(tz)
    lines = row["text"].split("\n")
    participant_ids = json.loads(row["participants"] or "[]")
    names = [directory.people[p].display_name for p in participant_ids if p in directory.people]
    if row["kind"] == "meeting":  # the labels the model sees in the lines, so owners match them
        names = list(dict.fromkeys([*(line.split(":", 1)[0] for line in lines if ":" in line), *names]))
    source = SourceDocument(row["document_id"], row["kind"], row["title"], local, names[:20], lines)
    context = DocumentContext(row["document_id"], row["kind"], lines, row["occurred_at"], local.date(),
                              row["week_start"], row["author"])
    return source, context


def _latency_metadata(outcomes: list[ChunkOutcome]) -> dict[str, Any]:
    latencies = sorted(c.latency_ms for o in outcomes for c in o.calls if c.latency_ms and c.outcome != "cache_hit")
    if not latencies:
        return {}
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"latency_p50_ms": round(q[49], 1), "latency_p95_ms": round(q[94], 1), "latency_p99_ms": round(q[98], 1)}


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
        with warehouse.open() as wh:
            directory = load_directory_from_warehouse(wh)
            docs = [_source_document(r, team.tz, directory)
                    for r in wh.run_file("week_extractable_documents", {"week": week})]
            contexts = {source.document_id: ctx for source, ctx in docs}
            rows: list[dict[str, Any]] = []
            outcomes: list[ChunkOutcome] = []
            if docs:
                backend = llm.get_backend()
                store = WarehouseCallStore(wh, context.run.run_id)
                total = sum(1 for _ in docs)
                for outcome in extract_documents(
                    [source for source, _ in docs], backend, store, concurrency=llm.concurrency,
                    budget_tokens=llm.chunk_tokens, overlap_lines=llm.overlap_lines, max_tokens=llm.max_tokens,
                ):
                    outcomes.append(outcome)
                    done_docs = len({o.document_id for o in outcomes})
                    context.log.info(
                        f"[{done_docs}/{total}] {outcome.document_id} chunk {outcome.chunk.index + 1}/"
                        f"{outcome.chunk_count}: " + (f"FAILED: {outcome.error}" if outcome.result is None else
                        f"{len(outcome.result.action_items)} items{' (cached)' if outcome.from_cache else ''}")
                    )
                    if outcome.result is None:
                        continue
                    rows += build_candidates(
                        outcome.result.action_items, contexts[outcome.document_id],
                        chunk_index=outcome.chunk.index, first_line=outcome.chunk.first_line,
                        last_line=outcome.chunk.last_line, directory=directory, model=outcome.model,
                        prompt_version=outcome.prompt_version, input_hash=outcome.chunk.input_hash,
                    )
                rows = drop_chunk_duplicates(rows)
            for ticket in wh.run_file("window_ticket_events", {"window_start": start, "window_end": end}):
                rows += ticket_candidates(ticket, directory, week, start, end)
            wh.replace_where("action_item_candidates", "week_start = :week", {"week": week},
                             CANDIDATE_COLUMNS, rows)

        failed = [o for o in outcomes if o.result is None]
        model_rows = [r for r in rows if r["origin"] == "llm"]
        grounded = sum(1 for r in model_rows if r["quarantine_reason"] is None)
        calls = [c for o in outcomes for c in o.calls]
        tokens_in = sum(c.tokens_in or 0 for c in calls)
        tokens_out = sum(c.tokens_out or 0 for c in calls)
        cost = sum(c.cost_usd or 0.0 for c in calls)
        grounded_share = grounded / len(model_rows) if model_rows else 1.0
        return dg.MaterializeResult(
            metadata={
                "week": week.isoformat(),
                "documents": len(docs),
                "chunks": len(outcomes),
                "model_calls": sum(1 for c in calls if c.outcome != "cache_hit"),
                "cache_hits": sum(1 for c in calls if c.outcome == "cache_hit"),
                "failed_chunks": len(failed),
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": round(cost, 6),
                "candidates": len(rows),
                "from_model": len(model_rows),
                "from_tickets": len(rows) - len(model_rows),
                "quarantined": sum(1 for r in rows if r["quarantine_reason"]),
                **_latency_metadata(outcomes),
                "preview": dg.MetadataValue.md("\n".join(
                    f"- {'~~' if r['quarantine_reason'] else ''}{r['task']}{'~~' if r['quarantine_reason'] else ''}"
                    f" — {r['owner_text'] or 'unassigned'}{', due ' + str(r['due_date']) if r['due_date'] else ''}"
                    for r in rows[:25]) or "none"),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="every_chunk_extracted",
                    passed=not failed,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"failed_chunks": len(failed), "failures": dg.MetadataValue.md(
                        "\n".join(f"- {o.document_id} chunk {o.chunk.index}: {o.error}" for o in failed[:20]) or "none")},
                    description="Failed chunks are re-tried by the next run (nothing is cached for them).",
                ),
                dg.AssetCheckResult(
                    check_name="evidence_grounded",
                    passed=grounded_share >= 0.6,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"grounded_share": round(grounded_share, 3), "model_items": len(model_rows)},
                ),
            ],
        )

    return action_item_candidates
