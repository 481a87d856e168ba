"""Matching predicted action items to gold items by meaning, one to one.

This module owns the similarity score between a predicted task and a gold item, the optimal
one-to-one assignment and the threshold below which a pair does not count. Gold is written
by people in their own words, so exact or fuzzy string matching would miss most right
answers; the score is the cosine similarity of all-MiniLM-L6-v2 sentence embeddings,
optionally blended with rapidfuzz's token-set overlap.

The threshold was calibrated on the real data (docs/quality.md, "The matcher check"):
:data:`DEFAULT_THRESHOLD` keeps pairings known to be wrong at a few percent. Reproduce with
``python -m assistant_pipelines.evaluation.calibration /work/shared/data``.

Meaning alone is not enough for a model's tasks: "make some more decisions on … how we want
this remote control to look and work" scores 0.71 against "… work together on making the
prototype of the remote control", said 800 lines later, and a meeting mentions its tasks
more than once. So where both sides name their lines, a pair also has to
point at the same part of the document: evidence at most :data:`DEFAULT_MAX_LINES_APART`
lines apart (docs/quality.md, row 35).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

#: Cosine similarity at or above which a prediction and a gold item are the same task.
DEFAULT_THRESHOLD = 0.55
#: Most lines between a prediction's evidence and a gold item's for the two to be the same item.
#: Read against their gold, the 4 matches of the all-40 AMI run that were other work lay 40–796
#: lines from the gold's evidence, the 23 others 0–3; a BC3 request cited from its e-mail's
#: opening lines sat 7 lines from the sentence that makes it.
DEFAULT_MAX_LINES_APART = 10
#: Weight of rapidfuzz token overlap in the blended score (0 = embeddings only).
DEFAULT_LEXICAL_WEIGHT = 0.0

try:  # scipy arrives with the locked stack (great-expectations needs it), but stay usable without.
    from scipy.optimize import linear_sum_assignment as _linear_sum_assignment
except ImportError:  # pragma: no cover - exercised only where scipy is absent
    _linear_sum_assignment = None

#: "hungarian" (optimal, scipy) or "greedy" (highest score first) — which one this process uses.
ASSIGNMENT_METHOD = "hungarian" if _linear_sum_assignment is not None else "greedy"


class Embedder(Protocol):
    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


@dataclass(frozen=True)
class Pair:
    prediction: int  # index into the predictions
    gold: int  # index into the gold items
    score: float


@dataclass
class MatchResult:
    """The matched pairs, what stayed unmatched, and every score for the per-item report."""

    pairs: list[Pair]
    unmatched_predictions: list[int]
    unmatched_gold: list[int]
    scores: np.ndarray  # shape (predictions, gold)
    threshold: float
    # (predictions, gold): fewest lines between the two's evidence, -1 where either names none;
    # None when the match was by meaning alone
    apart: np.ndarray | None = None
    max_lines_apart: int | None = None

    def too_far(self, prediction: int, gold: int) -> bool:
        """Whether the pair's evidence lies too far apart for the two to be the same item."""
        if self.apart is None or self.max_lines_apart is None:
            return False
        return bool(self.apart[prediction, gold] > self.max_lines_apart)

    @property
    def alike_but_apart(self) -> list[int]:
        """Unmatched predictions alike in meaning (≥ threshold) to a gold item whose evidence is
        too far from theirs: what matching by meaning alone would have counted besides."""
        if self.apart is None or self.max_lines_apart is None:
            return []
        far = (self.scores >= self.threshold) & (self.apart > self.max_lines_apart)
        return [i for i in self.unmatched_predictions if far[i].any()]

    def gold_for(self, prediction: int) -> Pair | None:
        return next((p for p in self.pairs if p.prediction == prediction), None)

    def prediction_for(self, gold: int) -> Pair | None:
        return next((p for p in self.pairs if p.gold == gold), None)


_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def lines_apart(first: Sequence[int], second: Sequence[int]) -> int | None:
    """Fewest lines between any line of ``first`` and any of ``second`` (0: they share one);
    None when either names no line."""
    if not first or not second:
        return None
    return min(abs(a - b) for a in first for b in second)


def apart_matrix(prediction_lines: Sequence[Sequence[int]], gold_lines: Sequence[Sequence[int]]) -> np.ndarray:
    """:func:`lines_apart` for every prediction × gold pair, -1 where either names no line."""
    apart = np.full((len(prediction_lines), len(gold_lines)), -1, dtype=np.int64)
    for i, lines in enumerate(prediction_lines):
        for j, evidence in enumerate(gold_lines):
            distance = lines_apart(lines, evidence)
            if distance is not None:
                apart[i, j] = distance
    return apart


@dataclass
class Matcher:
    """Scores prediction × gold pairs and assigns them one to one above ``threshold``; where
    both name their evidence lines, only pairs at most ``max_lines_apart`` lines apart.

    ``embedder`` is anything with ``embed(texts) -> unit vectors`` (by default the local
    all-MiniLM-L6-v2, loaded on first use). Embeddings are cached per text, so evaluating many
    documents embeds each distinct sentence once.
    """

    embedder: Embedder | None = None
    threshold: float = DEFAULT_THRESHOLD
    max_lines_apart: int | None = DEFAULT_MAX_LINES_APART  # None: meaning alone
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise ValueError(f"lexical_weight must be within 0..1, not {self.lexical_weight}")

    def _embedder(self) -> Embedder:
        if self.embedder is None:
            from assistant_pipelines.embeddings import get_embedder

            self.embedder = get_embedder()
        return self.embedder

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts`` (cached by normalised text)."""
        keys = [_normalise(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            for key, vector in zip(missing, self._embedder().embed(missing), strict=True):
                self._cache[key] = vector
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[k] for k in keys])

    def similarity(self, predictions: Sequence[str], gold: Sequence[str]) -> np.ndarray:
        """Score matrix of shape ``(len(predictions), len(gold))``, values in about -1..1."""
        if not predictions or not gold:
            return np.zeros((len(predictions), len(gold)), dtype=np.float32)
        scores = self.vectors(predictions) @ self.vectors(gold).T
        if self.lexical_weight:
            from rapidfuzz import fuzz, process, utils

            overlap = (
                process.cdist(
                    [_normalise(p) for p in predictions],
                    [_normalise(g) for g in gold],
                    scorer=fuzz.token_set_ratio,
                    processor=utils.default_process,
                    dtype=np.float32,
                )
                / 100.0
            )
            scores = (1 - self.lexical_weight) * scores + self.lexical_weight * overlap
        return scores.astype(np.float32)

    def match(self, predictions: Sequence[str], gold: Sequence[str],
              prediction_lines: Sequence[Sequence[int]] | None = None,
              gold_lines: Sequence[Sequence[int]] | None = None) -> MatchResult:
        """Pair predicted task texts with gold texts, each used at most once. With
        ``prediction_lines`` and ``gold_lines`` (the evidence lines of each, in the same order)
        a pair whose evidence lies more than ``max_lines_apart`` lines apart cannot match; a side
        that names no line is matched by meaning alone."""
        scores = self.similarity(predictions, gold)
        apart = None
        eligible = scores
        if self.max_lines_apart is not None and prediction_lines is not None and gold_lines is not None:
            apart = apart_matrix(prediction_lines, gold_lines)
            # zeroed before the assignment, so a far pair never takes a near one's place
            eligible = np.where(apart > self.max_lines_apart, 0.0, scores).astype(np.float32)
        pairs = assign(eligible, self.threshold)
        used_p = {p.prediction for p in pairs}
        used_g = {p.gold for p in pairs}
        return MatchResult(
            pairs=pairs,
            unmatched_predictions=[i for i in range(len(predictions)) if i not in used_p],
            unmatched_gold=[j for j in range(len(gold)) if j not in used_g],
            scores=scores,
            threshold=self.threshold,
            apart=apart,
            max_lines_apart=self.max_lines_apart if apart is not None else None,
        )


def assign(scores: np.ndarray, threshold: float, method: str = ASSIGNMENT_METHOD) -> list[Pair]:
    """One-to-one pairs with score ≥ ``threshold``, maximising the summed score.

    Pairs under the threshold are zeroed before assigning, so the assignment never trades a
    valid pair for an invalid one. Without scipy a greedy pass (best remaining pair first)
    stands in; it can differ from the optimum only when scores tie closely.
    """
    if scores.size == 0:
        return []
    eligible = np.where(scores >= threshold, scores, 0.0)
    if method not in {"hungarian", "greedy"}:
        raise ValueError(f"method must be 'hungarian' or 'greedy', not {method!r}")
    if method == "hungarian":
        if _linear_sum_assignment is None:
            raise RuntimeError("the 'hungarian' assignment needs scipy, which is not installed")
        rows, cols = _linear_sum_assignment(eligible, maximize=True)
        candidates = list(zip(rows.tolist(), cols.tolist(), strict=True))
    else:
        candidates = _greedy(eligible)
    pairs = [
        Pair(int(r), int(c), float(scores[r, c]))
        for r, c in candidates
        if scores[r, c] >= threshold
    ]
    return sorted(pairs, key=lambda p: p.prediction)


def _greedy(scores: np.ndarray) -> list[tuple[int, int]]:
    order = np.dstack(np.unravel_index(np.argsort(-scores, axis=None), scores.shape))[0]
    rows: set[int] = set()
    cols: set[int] = set()
    chosen: list[tuple[int, int]] = []
    for r, c in order.tolist():
        if r not in rows and c not in cols and scores[r, c] > 0:
            rows.add(r)
            cols.add(c)
            chosen.append((r, c))
    return chosen
