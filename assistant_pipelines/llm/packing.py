"""Packing several short documents into one request, and mapping the answer back.

Most e-mails are a few lines long, so the fixed part of a request (instructions and schema)
would cost more than the e-mail itself. A packed request shows several e-mails, each fenced
with a short id (``D1``, ``D2``, …) and its own line numbers; the answer
(:class:`~assistant_pipelines.llm.schema.PackedExtractionResult`) names the id of every entry.
:func:`unpack` maps the entries back to their documents and refuses an answer that names an
id it was not given, names one twice or leaves one out: such an answer goes through the repair
retry and, if still wrong, each document is asked on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from assistant_pipelines.llm.chunking import estimate_tokens
from assistant_pipelines.llm.schema import (
    MAX_PACKED_DOCUMENTS,
    ExtractionResult,
    PackedExtractionResult,
)

DEFAULT_PACK_TOKENS = 1500  # source tokens in one packed request
DEFAULT_PACK_MAX_DOCUMENT_TOKENS = 400  # longer documents are asked on their own
OUTPUT_TOKENS_PER_PACKED_DOCUMENT = 300

T = TypeVar("T")


class PackError(ValueError):
    """A packed answer that cannot be mapped back to its documents."""


def label(index: int) -> str:
    return f"D{index + 1}"


@dataclass(frozen=True)
class PackPlan:
    max_documents: int = 6
    max_source_tokens: int = DEFAULT_PACK_TOKENS
    max_document_tokens: int = DEFAULT_PACK_MAX_DOCUMENT_TOKENS

    def __post_init__(self) -> None:
        if not 2 <= self.max_documents <= MAX_PACKED_DOCUMENTS:
            raise ValueError(f"a pack holds 2 to {MAX_PACKED_DOCUMENTS} documents, not {self.max_documents}")

    def fits(self, source_text: str) -> bool:
        return estimate_tokens(source_text) <= self.max_document_tokens


def group(items: Sequence[T], sizes: Sequence[int], plan: PackPlan) -> list[list[T]]:
    """Greedy groups of consecutive items (``sizes`` are their source tokens) under the plan's
    limits, in the order given so that the same inputs always make the same packs."""
    groups: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item, size in zip(items, sizes, strict=True):
        if current and (len(current) >= plan.max_documents or used + size > plan.max_source_tokens):
            groups.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        groups.append(current)
    return groups


def packed_max_tokens(single_max_tokens: int, documents: int) -> int:
    """Output room for a packed answer: one document's worth plus a bounded share per extra."""
    return min(4096, single_max_tokens + OUTPUT_TOKENS_PER_PACKED_DOCUMENT * (documents - 1))


def unpack(answer: PackedExtractionResult, labels: Sequence[str]) -> dict[str, ExtractionResult]:
    """``{label: result}`` for every label, or :class:`PackError` saying what is wrong in
    words the repair prompt can show the model."""
    expected = list(labels)
    found: dict[str, ExtractionResult] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    wanted = {lab.upper(): lab for lab in expected}
    for entry in answer.documents:
        key = wanted.get(entry.document.upper())
        if key is None:
            unknown.append(entry.document)
        elif key in found:
            repeated.append(key)
        else:
            found[key] = entry.as_result()
    missing = [lab for lab in expected if lab not in found]
    problems = []
    if unknown:
        problems.append(f"it names document ids that were not given: {', '.join(unknown[:5])}")
    if repeated:
        problems.append(f"it has more than one entry for {', '.join(repeated)}")
    if missing:
        problems.append(f"it has no entry for {', '.join(missing)}")
    if problems:
        raise PackError("; ".join(problems) + f" (expected one entry each for {', '.join(expected)})")
    return found
