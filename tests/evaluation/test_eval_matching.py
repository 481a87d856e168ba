"""One-to-one matching by meaning, with a threshold."""

from __future__ import annotations

import numpy as np
import pytest

from assistant_pipelines.evaluation import matching
from assistant_pipelines.evaluation.matching import DEFAULT_THRESHOLD, Matcher, assign
from tests.evaluation.support import BagOfWordsEmbedder


def test_assignment_is_one_to_one_and_optimal() -> None:
    # Greedy would take (0, 0) = 0.9 and leave prediction 1 with nothing above threshold;
    # the optimal assignment pairs 0→1 and 1→0 for a larger total.
    scores = np.array([[0.9, 0.85], [0.8, 0.1]])
    pairs = assign(scores, threshold=0.5, method="hungarian")
    assert [(p.prediction, p.gold) for p in pairs] == [(0, 1), (1, 0)]
    assert len({p.gold for p in pairs}) == len(pairs)
    greedy = assign(scores, threshold=0.5, method="greedy")
    assert [(p.prediction, p.gold) for p in greedy] == [(0, 0)]


@pytest.mark.parametrize("method", ["hungarian", "greedy"])
def test_threshold_is_respected(method: str) -> None:
    scores = np.array([[0.54, 0.2], [0.3, 0.55], [0.9, 0.1]])
    pairs = assign(scores, threshold=0.55, method=method)
    assert {(p.prediction, p.gold) for p in pairs} == {(1, 1), (2, 0)}
    assert all(p.score >= 0.55 for p in pairs)
    assert assign(np.zeros((0, 3)), 0.5, method) == []
    assert assign(np.full((2, 2), 0.2), 0.5, method) == []


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="hungarian"):
        assign(np.ones((1, 1)), 0.5, method="random")


def test_scipy_is_used_here() -> None:
    # scipy comes with the locked stack; if it ever disappears the greedy stand-in is used.
    assert matching.ASSIGNMENT_METHOD == "hungarian"


def test_matcher_with_a_stand_in_embedder() -> None:
    embedder = BagOfWordsEmbedder()
    matcher = Matcher(embedder=embedder, threshold=0.5)
    predictions = ["send the budget report", "book a room", "send the budget report again"]
    gold = ["send budget report", "order new laptops"]
    result = matcher.match(predictions, gold)
    assert result.scores.shape == (3, 2)
    assert [(p.prediction, p.gold) for p in result.pairs] == [(0, 0)]
    assert result.unmatched_predictions == [1, 2]  # a duplicate cannot take the same gold twice
    assert result.unmatched_gold == [1]
    assert result.gold_for(0) is not None and result.gold_for(1) is None
    assert result.prediction_for(0) is not None and result.prediction_for(1) is None
    # Each distinct text is embedded once across calls.
    matcher.match(predictions, gold)
    assert sum(len(call) for call in embedder.calls) == 5


def test_empty_sides() -> None:
    matcher = Matcher(embedder=BagOfWordsEmbedder())
    empty = matcher.match([], ["a task"])
    assert empty.pairs == [] and empty.unmatched_gold == [0] and empty.scores.shape == (0, 1)
    none = matcher.match(["a task"], [])
    assert none.pairs == [] and none.unmatched_predictions == [0]


def test_lexical_blend_changes_scores_within_bounds() -> None:
    embedder = BagOfWordsEmbedder()
    plain = Matcher(embedder=embedder).similarity(["fix the login bug"], ["the login bug fix"])
    blended = Matcher(embedder=embedder, lexical_weight=0.5).similarity(
        ["fix the login bug"], ["the login bug fix"]
    )
    assert blended[0, 0] == pytest.approx(0.5 * plain[0, 0] + 0.5 * 1.0, abs=1e-5)
    with pytest.raises(ValueError):
        Matcher(lexical_weight=1.5)


def test_real_model_matches_paraphrases_and_not_unrelated_tasks() -> None:
    matcher = Matcher()  # the local all-MiniLM-L6-v2
    gold = [
        "order the new casing samples.",
        "prepare the budget summary for the client.",
        "write up the notes of today's workshop.",
    ]
    predictions = [
        "Write the workshop notes",
        "Order samples of the new casing",
        "Book a table for the team lunch",
    ]
    result = matcher.match(predictions, gold)
    assert {(p.prediction, p.gold) for p in result.pairs} == {(0, 2), (1, 0)}
    assert result.unmatched_predictions == [2]
    assert result.unmatched_gold == [1]
    assert result.threshold == DEFAULT_THRESHOLD
