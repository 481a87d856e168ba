"""The evaluation loop over fixture documents with fake extractions, and its JSONL output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant_pipelines.evaluation import (
    Matcher,
    Prediction,
    StopEvaluation,
    evaluate,
    format_table,
    load_ami,
    load_bc3,
    write_items_jsonl,
)
from tests.evaluation.support import AMI_SMALL, BC3_SMALL, BagOfWordsEmbedder


def _extract(doc: object) -> list[Prediction]:
    doc_id = doc.id  # type: ignore[attr-defined]
    if doc_id == "XY1001b":
        raise RuntimeError("model server closed the connection")
    if doc_id == "XY1001c":
        return "not a list"  # type: ignore[return-value]
    if doc_id == "BC3:900-2:1":
        return [Prediction(task="  ")]
    if doc_id == "XY1001a":
        return [
            # right task, right owner, cites its line
            Prediction("Sketch three casing options", "Industrial Designer", None, [5]),
            # right task, wrong owner, cites a line that does not exist
            Prediction(
                "Ask ten students about button layouts", "Project Manager", "2005-03-14", [70]
            ),
            # shared task: one of its owners named
            Prediction("Build a clay mock-up", "User Interface Designer", None, [9]),
            # group task: no owner is right, and is not counted in owner accuracy
            Prediction("Read the brief before Monday", "everyone", "Monday", [10]),
            # not in the gold at all
            Prediction("Buy a new projector", "Project Manager", None, [1]),
        ]
    if doc_id == "BC3:900-1:1":
        return [Prediction("I will merge the comments into version 2", "Dana", None, [4])]
    return []


@pytest.fixture
def result():
    documents = [*load_ami(AMI_SMALL), *load_bc3(BC3_SMALL)]
    ticks = iter(range(100))
    seen: list[str] = []
    outcome = evaluate(
        documents,
        _extract,
        Matcher(embedder=BagOfWordsEmbedder(), threshold=0.5),
        on_document=lambda o: seen.append(o.document_id),
        clock=lambda: float(next(ticks)),  # each document "takes" one second
    )
    assert seen == [d.id for d in documents]
    return outcome


def test_failures_count_as_zero_predictions_and_are_listed(result) -> None:
    assert result.failed == [
        ("XY1001b", "RuntimeError: model server closed the connection"),
        ("XY1001c", "TypeError: extract returned str, not a list of Prediction"),
        ("BC3:900-2:1", "TypeError: prediction 1 has no task text"),
    ]
    failed_c = next(o for o in result.outcomes if o.document_id == "XY1001c")
    assert failed_c.predictions == [] and len(failed_c.gold) == 2  # its gold still counts


def test_metrics_of_the_run(result) -> None:
    ami, bc3, _ = result.metrics
    assert (ami.documents, ami.gold, ami.predicted, ami.matched) == (3, 7, 5, 4)
    assert (ami.owner_checked, ami.owner_right) == (3, 2)  # the group item is not checked
    assert ami.grounded == 3  # line 70 does not exist; "projector" is not on line 1
    assert ami.seconds_per_document == 1.0
    assert (bc3.documents, bc3.gold, bc3.predicted, bc3.matched) == (3, 3, 1, 1)
    assert (bc3.owner_checked, bc3.owner_right) == (1, 1)  # "Dana" → the sender
    table = format_table(result.metrics, result.threshold, result.max_lines_apart)
    assert "XY1001b: RuntimeError" in table and "≥ 0.50 and evidence within 10 lines" in table


def test_item_jsonl_holds_every_prediction_gold_item_and_failure(result, tmp_path: Path) -> None:
    buffer = io.StringIO()
    count = write_items_jsonl(result, buffer)
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert count == len(records)
    kinds = [r["kind"] for r in records]
    assert kinds.count("prediction") == 6
    assert kinds.count("gold") == 10
    assert kinds.count("failure") == 3
    first = records[0]
    assert first["document"] == "XY1001a" and first["matched"] is True
    assert first["counterpart"]["text"].startswith("The industrial designer will sketch")
    assert first["owner_right"] is True and first["grounded"] is True
    projector = next(r for r in records if r.get("task") == "Buy a new projector")
    assert projector["matched"] is False and projector["counterpart"] is None
    assert "nearest" in projector and projector["score"] is not None
    missed = [r for r in records if r["kind"] == "gold" and not r["matched"]]
    assert {r["document"] for r in missed} == {"XY1001a", "XY1001c", "BC3:900-1:1", "BC3:900-1:2"}
    path = tmp_path / "out" / "items.jsonl"
    assert write_items_jsonl(result, path) == count
    assert path.read_text() == buffer.getvalue()


def test_a_stop_ends_the_run_and_names_what_was_not_evaluated() -> None:
    """A spending limit reached on the second document: the first is scored, the second and
    third are neither scored nor counted as failures, and the item file names them."""
    documents = [*load_ami(AMI_SMALL)][:3]

    def stops_on_the_second(doc: object) -> list[Prediction]:
        if doc.id == documents[1].id:  # type: ignore[attr-defined]
            raise StopEvaluation("the budget ran out")
        return _extract(doc)

    result = evaluate(documents, stops_on_the_second, Matcher(embedder=BagOfWordsEmbedder(), threshold=0.5))
    assert [o.document_id for o in result.outcomes] == [documents[0].id]
    assert result.stopped == "the budget ran out" and result.failed == []
    assert result.not_evaluated == [("ami", d.id) for d in documents[1:]]
    (ami, *_) = result.metrics
    assert ami.documents == 1 and ami.gold == len(documents[0].gold)
    buffer = io.StringIO()
    write_items_jsonl(result, buffer)
    skipped = [json.loads(line) for line in buffer.getvalue().splitlines() if '"not_evaluated"' in line]
    assert [(r["document"], r["reason"]) for r in skipped] == [(d.id, "the budget ran out") for d in documents[1:]]
