"""Running an extraction over labelled documents and judging every item it returns.

This module owns the loop of an evaluation: call ``extract`` on each document, time it,
survive its failures (a document whose extraction raises scores zero predictions and is listed
with its reason), match predictions to gold one to one, and record for each pair whether the
owner is right and for each prediction whether its evidence is grounded. The extraction itself
is passed in, so the same loop scores the real model path, a baseline or a fake.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant_pipelines.evaluation.datasets import GoldItem, task_text
from assistant_pipelines.evaluation.matching import MatchResult, Pair
from assistant_pipelines.evaluation.metrics import (
    SourceMetrics,
    is_grounded,
    owner_matches,
    summarise,
)


@dataclass
class Prediction:
    """One action item an extraction returned for a document.

    ``evidence_lines`` are 1-based numbers of the document's rendered lines (``doc.lines()``).
    """

    task: str
    owner: str | None = None
    due: str | None = None
    evidence_lines: list[int] = field(default_factory=list)
    confidence: float | None = None  # as stored in action_item_candidates.confidence


class EvalDocument(Protocol):
    """What the runner needs of a labelled document (``LabelledMeeting``, ``LabelledEmail``)."""

    source: str
    id: str
    gold: list[GoldItem]

    def lines(self) -> list[str]: ...

    def speaker_roles(self) -> dict[str, str]: ...


class MatcherLike(Protocol):
    def match(self, predictions: Sequence[str], gold: Sequence[str],
              prediction_lines: Sequence[Sequence[int]] | None = None,
              gold_lines: Sequence[Sequence[int]] | None = None) -> MatchResult: ...


@dataclass
class DocumentOutcome:
    """Everything judged about one document; ``owner_right`` follows ``pairs`` (None where the
    gold names no owner) and ``grounded`` follows ``predictions``."""

    source: str
    document_id: str
    predictions: list[Prediction]
    gold: list[GoldItem]
    match: MatchResult | None
    owner_right: list[bool | None]
    grounded: list[bool]
    seconds: float
    error: str | None = None

    @property
    def pairs(self) -> list[Pair]:
        return self.match.pairs if self.match else []


class StopEvaluation(Exception):
    """Raised by ``extract`` to end the evaluation early (its spending limit is reached): the
    document it was raised for and those after it are not evaluated, and not counted as
    failures either, since nothing went wrong with them."""


@dataclass
class EvalResult:
    outcomes: list[DocumentOutcome]
    threshold: float | None = None
    max_lines_apart: int | None = None  # the matcher's place rule; None: meaning alone (or unknown)
    stopped: str | None = None  # why the evaluation ended early, if it did
    not_evaluated: list[tuple[str, str]] = field(default_factory=list)  # (source, document id)

    @property
    def metrics(self) -> list[SourceMetrics]:
        return summarise(self.outcomes)

    @property
    def failed(self) -> list[tuple[str, str]]:
        return [(o.document_id, o.error) for o in self.outcomes if o.error is not None]


def _gold_owner(item: GoldItem) -> str | None:
    # A shared item ("ID and UI") is passed as one string: naming either owner is right.
    return " and ".join(item.owners) if item.owners else None


def judge_document(
    doc: EvalDocument,
    predictions: list[Prediction],
    matcher: MatcherLike,
    seconds: float,
    error: str | None = None,
) -> DocumentOutcome:
    """Match ``predictions`` to ``doc.gold`` (by meaning and by where their evidence lies) and
    judge owners and grounding."""
    roles: Mapping[str, str] = doc.speaker_roles()
    names = list(roles)
    lines = doc.lines()

    def places(numbers: Sequence[int]) -> list[int]:  # a line the document lacks is no place in it
        return [n for n in numbers if 1 <= n <= len(lines)]

    match = matcher.match(
        [task_text(p.task, names) for p in predictions],
        [task_text(g.text, names) for g in doc.gold],
        [places(p.evidence_lines) for p in predictions],
        [places(g.evidence_lines) for g in doc.gold],
    )
    owner_right: list[bool | None] = []
    for pair in match.pairs:
        gold_owner = _gold_owner(doc.gold[pair.gold])
        owner_right.append(
            None
            if gold_owner is None
            else owner_matches(predictions[pair.prediction].owner, gold_owner, roles)
        )
    grounded = [is_grounded(p.task, p.evidence_lines, lines, names) for p in predictions]
    return DocumentOutcome(
        source=doc.source,
        document_id=doc.id,
        predictions=predictions,
        gold=list(doc.gold),
        match=match,
        owner_right=owner_right,
        grounded=grounded,
        seconds=seconds,
        error=error,
    )


def _checked(result: object) -> list[Prediction]:
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        raise TypeError(f"extract returned {type(result).__name__}, not a list of Prediction")
    items = list(result)
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Prediction):
            raise TypeError(f"extract returned a {type(item).__name__} item, not a Prediction")
        if not isinstance(item.task, str) or not item.task.strip():
            raise TypeError(f"prediction {number} has no task text")
        if item.owner is not None and not isinstance(item.owner, str):
            raise TypeError(f"prediction {number} has an owner of type {type(item.owner).__name__}")
    return items


def evaluate(
    documents: Iterable[EvalDocument],
    extract: Callable[[EvalDocument], Iterable[Prediction]],
    matcher: MatcherLike | None = None,
    *,
    on_document: Callable[[DocumentOutcome], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> EvalResult:
    """Run ``extract`` on every document and judge what it returns against the gold.

    An ``extract`` that raises (any ``Exception``) or returns something other than a list of
    :class:`Prediction` fails that document only: it counts as zero predictions (its gold
    still counts as missed) and appears in the result's ``failed`` list with the reason.
    ``matcher`` defaults to :class:`~assistant_pipelines.evaluation.matching.Matcher` with the
    calibrated threshold; ``on_document`` is called after each document (progress output).
    An ``extract`` that raises :class:`StopEvaluation` ends the run: the metrics cover the
    documents before it, and the result names the rest in ``not_evaluated``.
    """
    if matcher is None:
        from assistant_pipelines.evaluation.matching import Matcher

        matcher = Matcher()
    threshold = getattr(matcher, "threshold", None)
    max_lines_apart = getattr(matcher, "max_lines_apart", None)
    outcomes: list[DocumentOutcome] = []
    remaining = iter(documents)
    for doc in remaining:
        started = clock()
        error: str | None = None
        try:
            predictions = _checked(extract(doc))
        except StopEvaluation as stop:
            not_evaluated = [(d.source, d.id) for d in (doc, *remaining)]
            return EvalResult(outcomes, threshold=threshold, max_lines_apart=max_lines_apart, stopped=str(stop),
                              not_evaluated=not_evaluated)
        except Exception as exc:  # noqa: BLE001 - the document fails, the evaluation goes on
            predictions = []
            error = f"{type(exc).__name__}: {exc}".strip()
        outcome = judge_document(doc, predictions, matcher, clock() - started, error)
        outcomes.append(outcome)
        if on_document is not None:
            on_document(outcome)
    return EvalResult(outcomes, threshold=threshold, max_lines_apart=max_lines_apart)
