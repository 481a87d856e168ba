"""How an evaluation run is shown: a plain-text table for people, a JSONL file for digging.

This module owns the layout of the quality table (aligned columns, one row per source, the
failed documents listed under it) and of the per-item file: one JSON object per prediction
and per gold item, matched or not, with its score, the counterpart it was matched to (or,
when unmatched, the nearest one in meaning and its score) and how many lines apart the two's
evidence lies, so a reviewer can see why a number is what it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from assistant_pipelines.evaluation.metrics import SourceMetrics
from assistant_pipelines.evaluation.runner import DocumentOutcome, EvalResult

_COLUMNS = (
    "source",
    "docs",
    "gold",
    "pred",
    "matched",
    "precision",
    "recall",
    "F1",
    "owner",
    "grounded",
    "s/doc",
    "failed",
)


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _row(m: SourceMetrics) -> list[str]:
    owner = (
        "-"
        if m.owner_accuracy is None
        else f"{m.owner_accuracy:.2f} ({m.owner_right}/{m.owner_checked})"
    )
    grounded = "-" if m.grounding_rate is None else f"{m.grounding_rate:.2f}"
    seconds = "-" if m.seconds_per_document is None else f"{m.seconds_per_document:.1f}"
    return [
        m.source,
        str(m.documents),
        str(m.gold),
        str(m.predicted),
        str(m.matched),
        _fraction(m.precision),
        _fraction(m.recall),
        _fraction(m.f1),
        owner,
        grounded,
        seconds,
        str(len(m.failed)),
    ]


def format_table(metrics: Sequence[SourceMetrics], threshold: float | None = None,
                 max_lines_apart: int | None = None) -> str:
    """The metrics as an aligned plain-text table, what a match needed, how many predictions
    matched in meaning only far from the gold, then every failed document and why."""
    rows = [list(_COLUMNS)] + [_row(m) for m in metrics]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]

    def line(cells: list[str]) -> str:
        # Text left-aligned, numbers right-aligned, so digits line up by place.
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(rows[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows[1:]]
    notes = ["owner: right/checked over matched pairs whose gold names an owner"]
    if threshold is not None:
        notes.append(f"a match needs similarity ≥ {threshold:.2f}"
                     + (f" and evidence within {max_lines_apart} lines of the gold's" if max_lines_apart is not None
                        else ""))
    out += ["", "; ".join(notes)]
    apart = [(m.source, m.alike_but_apart) for m in metrics if m.source != "all" and m.alike_but_apart]
    if apart and max_lines_apart is not None:
        counts = ", ".join(f"{source} {n}" for source, n in apart)
        out.append(f"not matched for lying more than {max_lines_apart} lines from the gold item they resemble: "
                   f"{counts} prediction(s) (per-item file: lines_apart)")
    failures = [
        (m.source, doc, reason) for m in metrics if m.source != "all" for doc, reason in m.failed
    ]
    if failures:
        out += ["", f"failed documents ({len(failures)}):"]
        out += [f"  {source} {doc}: {reason}" for source, doc, reason in failures]
    return "\n".join(out)


def _nearest(
    outcome: DocumentOutcome, row: int | None = None, col: int | None = None
) -> tuple[int, float] | None:
    scores = outcome.match.scores if outcome.match is not None else None
    if scores is None or scores.size == 0:
        return None
    vector = scores[row, :] if row is not None else scores[:, col]
    best = int(vector.argmax())
    return best, float(vector[best])


def _apart(outcome: DocumentOutcome, prediction: int, gold: int) -> int | None:
    """Lines between the pair's evidence; None where either names none or the match was by
    meaning alone."""
    apart = outcome.match.apart if outcome.match is not None else None
    if apart is None or apart[prediction, gold] < 0:
        return None
    return int(apart[prediction, gold])


def item_records(result: EvalResult) -> Iterator[dict[str, Any]]:
    """One dict per prediction, per gold item and per failed document, in document order; then
    one per document an early stop left unread (``kind`` "not_evaluated")."""
    for outcome in result.outcomes:
        base = {"source": outcome.source, "document": outcome.document_id}
        if outcome.error is not None:
            yield {
                **base,
                "kind": "failure",
                "error": outcome.error,
                "seconds": round(outcome.seconds, 3),
            }
        by_prediction = {p.prediction: (k, p) for k, p in enumerate(outcome.pairs)}
        by_gold = {p.gold: (k, p) for k, p in enumerate(outcome.pairs)}
        for i, prediction in enumerate(outcome.predictions):
            record: dict[str, Any] = {
                **base,
                "kind": "prediction",
                "index": i,
                "task": prediction.task,
                "owner": prediction.owner,
                "due": prediction.due,
                "evidence_lines": list(prediction.evidence_lines),
                "confidence": prediction.confidence,
                "grounded": outcome.grounded[i] if i < len(outcome.grounded) else None,
            }
            if i in by_prediction:
                k, pair = by_prediction[i]
                gold = outcome.gold[pair.gold]
                record |= {
                    "matched": True,
                    "score": round(pair.score, 4),
                    "lines_apart": _apart(outcome, i, pair.gold),
                    "owner_right": outcome.owner_right[k],
                    "counterpart": {
                        "index": pair.gold,
                        "text": gold.text,
                        "owner": gold.owner,
                        "owners": list(gold.owners),
                    },
                }
            else:
                nearest = _nearest(outcome, row=i)
                record |= {
                    "matched": False,
                    "score": None if nearest is None else round(nearest[1], 4),
                    "owner_right": None,
                    "counterpart": None,
                    "nearest": None
                    if nearest is None
                    else {"index": nearest[0], "text": outcome.gold[nearest[0]].text,
                          "lines_apart": _apart(outcome, i, nearest[0])},
                }
            yield record
        for j, gold in enumerate(outcome.gold):
            record = {
                **base,
                "kind": "gold",
                "index": j,
                "text": gold.text,
                "owner": gold.owner,
                "owners": list(gold.owners),
                "gold_kind": gold.kind,
                "evidence_lines": list(gold.evidence_lines),
            }
            if j in by_gold:
                k, pair = by_gold[j]
                prediction = outcome.predictions[pair.prediction]
                record |= {
                    "matched": True,
                    "score": round(pair.score, 4),
                    "lines_apart": _apart(outcome, pair.prediction, j),
                    "owner_right": outcome.owner_right[k],
                    "counterpart": {
                        "index": pair.prediction,
                        "task": prediction.task,
                        "owner": prediction.owner,
                    },
                }
            else:
                nearest = _nearest(outcome, col=j)
                record |= {
                    "matched": False,
                    "score": None if nearest is None else round(nearest[1], 4),
                    "owner_right": None,
                    "counterpart": None,
                    "nearest": None
                    if nearest is None
                    else {"index": nearest[0], "task": outcome.predictions[nearest[0]].task,
                          "lines_apart": _apart(outcome, nearest[0], j)},
                }
            yield record
    for source, document in result.not_evaluated:
        yield {"source": source, "document": document, "kind": "not_evaluated", "reason": result.stopped}


def write_items_jsonl(result: EvalResult, destination: str | Path | IO[str]) -> int:
    """Write :func:`item_records` as JSON lines to a path or an open text file; returns the
    number of lines written."""
    count = 0
    if isinstance(destination, (str, Path)):
        path = Path(destination)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            return write_items_jsonl(result, handle)
    for record in item_records(result):
        destination.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count
