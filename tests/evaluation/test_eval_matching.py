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


def test_lines_apart() -> None:
    assert matching.lines_apart([5, 9], [12, 40]) == 3
    assert matching.lines_apart([7], [7]) == 0
    assert matching.lines_apart([], [3]) is None and matching.lines_apart([3], []) is None
    apart = matching.apart_matrix([[1], [], [50, 60]], [[3], [58]])
    assert apart.tolist() == [[2, 57], [-1, -1], [47, 2]]


def test_a_pair_alike_in_meaning_but_far_apart_does_not_match() -> None:
    # The same words said twice in a meeting: the prediction from line 300 is not the gold
    # item whose evidence is line 12, however alike the two read.
    matcher = Matcher(embedder=BagOfWordsEmbedder(), threshold=0.5, max_lines_apart=10)
    result = matcher.match(["send the budget report"], ["send budget report"], [[300]], [[12]])
    assert result.pairs == []
    assert result.too_far(0, 0)
    assert result.alike_but_apart == [0]
    # Within the window it matches, and so it does by meaning alone.
    near = matcher.match(["send the budget report"], ["send budget report"], [[20]], [[12]])
    assert [(p.prediction, p.gold) for p in near.pairs] == [(0, 0)]
    assert near.alike_but_apart == [] and not near.too_far(0, 0)
    anywhere = Matcher(embedder=BagOfWordsEmbedder(), threshold=0.5, max_lines_apart=None)
    assert len(anywhere.match(["send the budget report"], ["send budget report"], [[300]], [[12]]).pairs) == 1


def test_a_far_pair_does_not_take_a_near_ones_place() -> None:
    # Prediction 0 reads most like gold 0, but lies far from it; by meaning alone it takes
    # gold 0 and pushes prediction 1 onto gold 1. With places, 0 stays unmatched and 1 takes
    # its own gold 0, as the all-40 AMI run re-paired IS1000a (docs/quality.md, row 35).
    matcher = Matcher(embedder=BagOfWordsEmbedder(), threshold=0.3, max_lines_apart=10)
    predictions = ["work on a general design", "work on a design keep it general"]
    gold = ["work on a general design", "work on the technical design"]
    prediction_lines, gold_lines = [[104], [598]], [[598], [603]]
    anywhere = Matcher(embedder=BagOfWordsEmbedder(), threshold=0.3, max_lines_apart=None)
    by_meaning = anywhere.match(predictions, gold, prediction_lines, gold_lines)
    assert {(p.prediction, p.gold) for p in by_meaning.pairs} == {(0, 0), (1, 1)}
    assert by_meaning.apart is None and by_meaning.alike_but_apart == []
    located = matcher.match(predictions, gold, prediction_lines, gold_lines)
    assert {(p.prediction, p.gold) for p in located.pairs} == {(1, 0)}
    assert located.alike_but_apart == [0]


def test_a_side_without_lines_is_matched_by_meaning() -> None:
    matcher = Matcher(embedder=BagOfWordsEmbedder(), threshold=0.5, max_lines_apart=10)
    result = matcher.match(["send the budget report", "send the budget report"], ["send budget report"],
                           [[], [400]], [[12]])
    assert [(p.prediction, p.gold) for p in result.pairs] == [(0, 0)]
    assert result.apart is not None and result.apart[0, 0] == -1 and not result.too_far(0, 0)
    assert result.alike_but_apart == [1]
    no_gold_lines = matcher.match(["send the budget report"], ["send budget report"], [[400]], [[]])
    assert len(no_gold_lines.pairs) == 1


def test_calibration_counts_the_wrong_pairs_the_place_rule_still_allows(tmp_path) -> None:
    """The calibration's within-window row: every content utterance 4-10 lines from the item's
    own evidence (nearer ones may state the task; farther ones the place rule never pairs)."""
    import json

    from assistant_pipelines.evaluation.calibration import ami_pair_sets
    from assistant_pipelines.evaluation.datasets import load_ami

    transcript = [{"speaker": "PM (A)", "speaker_letter": "A", "role": "PM", "start": float(i), "end": i + 0.5,
                   "text": f"this is content utterance number {i} of the meeting", "da_type": "Inform"}
                  for i in range(40)]
    meeting = {"source_id": "AMI:QZ9001a", "meeting_id": "QZ9001a", "series": "QZ9001", "meeting_in_series": "a",
               "meta": {"type": "scenario", "date": "07-03-05", "speakers": {"A": {"role": "PM", "participant": "X"}}},
               "transcript": transcript, "gold_actions": ["The project manager will write the minutes."],
               "gold_actions_detail": [{"id": "g0", "text": "The project manager will write the minutes.",
                                        "evidence_utterance_idx": [19]}],
               "gold_decisions": [], "gold_problems": [], "gold_abstract": [], "has_summlinks": True}
    path = tmp_path / "ami.jsonl"
    path.write_text(json.dumps(meeting) + "\n")
    sets = {ps.name.strip(): ps for ps in ami_pair_sets(load_ami(path))}
    within = sets[f"of them within {matching.DEFAULT_MAX_LINES_APART} lines of its evidence (all)"]
    numbers = sorted(int(text.split("number ")[1].split()[0]) for _, text in within.pairs)
    # evidence is line 20 (utterance 19): lines 10-16 and 24-30, i.e. utterances 9-15 and 23-29
    assert numbers == [*range(9, 16), *range(23, 30)]
