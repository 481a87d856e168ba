"""Owner judgements, grounding and the arithmetic of the quality table."""

from __future__ import annotations

import numpy as np
import pytest

from assistant_pipelines.evaluation.datasets import GoldItem
from assistant_pipelines.evaluation.matching import MatchResult, Pair
from assistant_pipelines.evaluation.metrics import (
    is_grounded,
    owner_matches,
    resolve_owner,
    summarise,
)
from assistant_pipelines.evaluation.report import format_table
from assistant_pipelines.evaluation.runner import DocumentOutcome, Prediction

AMI_ROLES = {
    "PM (B)": "PM",
    "Project Manager": "PM",
    "Industrial Designer": "ID",
    "User Interface Designer": "UI",
    "Marketing Expert": "ME",
    "MEE006": "ID",
}
MAIL_ROLES = {"Libby Miller": "Libby Miller", "libby.miller@example.org": "Libby Miller"}


@pytest.mark.parametrize(
    ("predicted", "gold", "roles", "right"),
    [
        ("Industrial Designer", "ID", AMI_ROLES, True),
        ("the industrial designer", "ID", AMI_ROLES, True),
        ("industrial designer (A)", "ID", AMI_ROLES, True),
        ("ID", "ID", AMI_ROLES, True),
        ("PM (B)", "PM", AMI_ROLES, True),
        ("MEE006", "ID", AMI_ROLES, True),  # a participant id
        ("marketing", "ME", AMI_ROLES, True),
        ("Project Manager", "ID", AMI_ROLES, False),
        ("Marketing Manager", "PM", AMI_ROLES, False),  # marketing, not the project manager
        (None, "ID", AMI_ROLES, False),
        ("", "ID", AMI_ROLES, False),
        ("the team", "ID", AMI_ROLES, False),
        ("Industrial Designer", "ID and UI", AMI_ROLES, True),  # one owner of a shared task
        ("Industrial Designer and UI designer", "ID and UI", AMI_ROLES, True),
        ("Industrial Designer and Marketing Expert", "ID and UI", AMI_ROLES, False),
        ("Industrial Designer, User Interface Designer", "ID", AMI_ROLES, False),
        ("everyone", None, AMI_ROLES, True),  # group action, no owner predicted
        (None, None, AMI_ROLES, True),
        ("Marketing Expert", None, AMI_ROLES, False),
        ("Libby Miller", "Libby Miller", MAIL_ROLES, True),
        ("libby", "Libby Miller", MAIL_ROLES, True),
        ("Libby.Miller@example.org", "Libby Miller", MAIL_ROLES, True),
        ("Keith Instone", "Libby Miller", MAIL_ROLES, False),
        ("Miller, Libby", "Libby Miller", MAIL_ROLES, True),
    ],
)
def test_owner_matches(predicted: str | None, gold: str | None, roles: dict, right: bool) -> None:
    assert owner_matches(predicted, gold, roles) is right


def test_resolve_owner_keeps_unknown_names() -> None:
    assert resolve_owner("Priya Raman", {}) == frozenset({"priya raman"})
    assert resolve_owner("unassigned", AMI_ROLES) == frozenset()
    assert resolve_owner("Libby", {"Libby Miller": "LM", "Libby Stone": "LS"}) == frozenset(
        {"libby"}
    )


LINES = [
    "Project Manager: So for next time you'll sketch three casing options.",
    "Industrial Designer: Yep.",
    "Marketing Expert: I'll ask ten students about button layouts.",
]
SPEAKERS = ["Project Manager", "Industrial Designer", "Marketing Expert"]


@pytest.mark.parametrize(
    ("task", "evidence", "grounded"),
    [
        ("Sketch three casing options", [1], True),
        ("Sketching casing options", [1, 2], True),  # stems meet
        ("Survey students on buttons", [3], True),
        ("Survey students on buttons", [1], False),  # cites the wrong line
        ("Sketch three casing options", [], False),  # cites nothing
        ("Sketch three casing options", [1, 9], False),  # a line that does not exist
        ("Sketch three casing options", [0], False),
        ("Design the industrial look", [2], False),  # only the speaker label says "design"
        ("Sketch three casing options", ["1"], False),  # not a line number
        ("Sketch three casing options", [True], False),
    ],
)
def test_grounding(task: str, evidence: list[int], grounded: bool) -> None:
    assert is_grounded(task, evidence, LINES, SPEAKERS) is grounded


def _outcome(
    source: str,
    doc: str,
    predicted: int,
    gold: int,
    pairs: list[tuple[int, int]],
    owners: list[bool | None],
    grounded: int,
    seconds: float,
    error: str | None = None,
) -> DocumentOutcome:
    predictions = [Prediction(task=f"task {i}") for i in range(predicted)]
    items = [GoldItem(text=f"gold {j}", owner=None, evidence_lines=()) for j in range(gold)]
    match = MatchResult(
        pairs=[Pair(p, g, 0.9) for p, g in pairs],
        unmatched_predictions=[i for i in range(predicted) if i not in {p for p, _ in pairs}],
        unmatched_gold=[j for j in range(gold) if j not in {g for _, g in pairs}],
        scores=np.zeros((predicted, gold)),
        threshold=0.55,
    )
    return DocumentOutcome(
        source=source,
        document_id=doc,
        predictions=predictions,
        gold=items,
        match=match,
        owner_right=owners,
        grounded=[True] * grounded + [False] * (predicted - grounded),
        seconds=seconds,
        error=error,
    )


def test_metrics_arithmetic_on_a_hand_made_example() -> None:
    outcomes = [
        # meeting 1: 4 predicted, 3 gold, 2 matched (owners: right, wrong), 3 grounded, 10 s
        _outcome("ami", "m1", 4, 3, [(0, 0), (2, 1)], [True, False], 3, 10.0),
        # meeting 2: 1 predicted, 1 gold, 1 matched (group item: owner not checked), 2 s
        _outcome("ami", "m2", 1, 1, [(0, 0)], [None], 1, 2.0),
        # meeting 3: extraction failed; its 2 gold items count as missed
        _outcome("ami", "m3", 0, 2, [], [], 0, 0.5, error="RuntimeError: boom"),
        # one e-mail: 2 predicted, 0 gold
        _outcome("bc3", "e1", 2, 0, [], [], 0, 1.0),
    ]
    ami, bc3, total = summarise(outcomes)
    assert (ami.documents, ami.gold, ami.predicted, ami.matched) == (3, 6, 5, 3)
    assert ami.precision == pytest.approx(3 / 5)
    assert ami.recall == pytest.approx(3 / 6)
    assert ami.f1 == pytest.approx(2 * 0.6 * 0.5 / 1.1)
    assert (ami.owner_checked, ami.owner_right, ami.owner_accuracy) == (2, 1, 0.5)
    assert ami.grounding_rate == pytest.approx(4 / 5)
    assert ami.seconds_per_document == pytest.approx(12.5 / 3)
    assert ami.failed == [("m3", "RuntimeError: boom")]
    assert bc3.precision == 0.0 and bc3.recall is None and bc3.f1 is None
    assert bc3.owner_accuracy is None
    assert (total.source, total.documents, total.gold, total.predicted, total.matched) == (
        "all",
        4,
        6,
        7,
        3,
    )
    assert summarise(outcomes[:2])[-1].source == "ami"  # no "all" row for a single source
    assert summarise([]) == []


def test_table_is_aligned_and_lists_failures() -> None:
    outcomes = [
        _outcome("ami", "m1", 4, 3, [(0, 0), (2, 1)], [True, False], 3, 10.0),
        _outcome("ami", "m3", 0, 2, [], [], 0, 0.5, error="RuntimeError: boom"),
        _outcome("bc3", "e1", 2, 0, [], [], 0, 1.0),
    ]
    table = format_table(summarise(outcomes), threshold=0.55)
    lines = table.splitlines()
    assert lines[0].split() == [
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
    ]
    header_end = len(lines[0])
    assert all(len(line) == header_end for line in lines[2:5])  # right-aligned to one width
    ami = lines[2].split()
    assert ami[:8] == ["ami", "2", "5", "4", "2", "0.500", "0.400", "0.444"]
    assert "0.50 (1/2)" in lines[2]
    assert lines[3].split()[5:8] == ["0.000", "-", "-"]
    assert "≥ 0.55" in table
    assert "ami m3: RuntimeError: boom" in table
