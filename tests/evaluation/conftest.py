"""Fixtures for the evaluation tests: the shared real data and a cheap stand-in embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evaluation.support import SHARED_DATA, BagOfWordsEmbedder


@pytest.fixture
def bow_embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "ami_meetings.jsonl").exists():
        pytest.skip(f"shared evaluation data not present at {SHARED_DATA}")
    return SHARED_DATA
