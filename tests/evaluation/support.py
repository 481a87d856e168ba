"""Shared helpers of the evaluation tests (imported as ``tests.evaluation.support``)."""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evaluation"
AMI_SMALL = FIXTURES / "ami_small.jsonl"
BC3_SMALL = FIXTURES / "bc3_small.jsonl"
# Same convention as tests/conftest.py: shared/ sits beside the repository (CI) or at $ASSISTANT_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("ASSISTANT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


class BagOfWordsEmbedder:
    """A deterministic stand-in for the model: hashed word counts, L2-normalised. Texts that
    share words score high, texts that share none score 0; no paraphrase knowledge at all."""

    dimensions = 256

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, zlib.crc32(word.encode()) % self.dimensions] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)
