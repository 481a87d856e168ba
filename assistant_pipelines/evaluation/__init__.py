"""Measuring extraction quality against labelled public data (docs/quality.md).

- :mod:`.datasets` reads the AMI meetings and BC3 e-mails with their gold action items;
- :mod:`.matching` pairs predictions with gold by meaning (embeddings, one to one, threshold)
  and by place (evidence lines near the gold's);
- :mod:`.calibration` reproduces the numbers behind the threshold;
- :mod:`.metrics` judges owners and grounding and sums precision/recall/F1 per source;
- :mod:`.runner` runs an extraction over documents and survives its failures;
- :mod:`.report` prints the table and writes the per-item JSONL.

Nothing here imports Dagster. Typical use::

    meetings = load_ami("/work/shared/data/ami_meetings.jsonl")
    result = evaluate(meetings, extract=my_extract)       # my_extract(doc) -> list[Prediction]
    print(format_table(result.metrics, result.threshold, result.max_lines_apart))
    write_items_jsonl(result, "var/eval/items.jsonl")
"""

from assistant_pipelines.evaluation.datasets import (
    AmiUtterance,
    DatasetError,
    GoldItem,
    LabelledEmail,
    LabelledMeeting,
    ami_transcript_lines,
    email_lines,
    load_ami,
    load_bc3,
    task_text,
)
from assistant_pipelines.evaluation.matching import DEFAULT_THRESHOLD, Matcher, MatchResult, Pair
from assistant_pipelines.evaluation.metrics import (
    SourceMetrics,
    is_grounded,
    owner_matches,
    resolve_owner,
    summarise,
)
from assistant_pipelines.evaluation.report import format_table, item_records, write_items_jsonl
from assistant_pipelines.evaluation.runner import (
    DocumentOutcome,
    EvalDocument,
    EvalResult,
    Prediction,
    StopEvaluation,
    evaluate,
    judge_document,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "AmiUtterance",
    "DatasetError",
    "DocumentOutcome",
    "EvalDocument",
    "EvalResult",
    "GoldItem",
    "LabelledEmail",
    "LabelledMeeting",
    "MatchResult",
    "Matcher",
    "Pair",
    "Prediction",
    "SourceMetrics",
    "StopEvaluation",
    "ami_transcript_lines",
    "email_lines",
    "evaluate",
    "format_table",
    "is_grounded",
    "item_records",
    "judge_document",
    "load_ami",
    "load_bc3",
    "owner_matches",
    "resolve_owner",
    "summarise",
    "task_text",
    "write_items_jsonl",
]
