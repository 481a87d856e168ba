"""Split a document's numbered lines into chunks that fit a token budget.

Line numbers are the document's own (1-based, counting every line of its text), so evidence a
model cites in any chunk points at the same line of the stored document. Blank lines are not
shown to the model but keep their numbers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

DEFAULT_CHUNK_TOKENS = 1200
DEFAULT_OVERLAP_LINES = 2
MAX_LINE_CHARS = 1200


def estimate_tokens(text: str) -> int:
    """A conservative token estimate (~3.6 characters a token for English prose)."""
    return max(1, (len(text) * 10) // 36)


@dataclass(frozen=True)
class Chunk:
    index: int  # 0-based position in the document
    first_line: int
    last_line: int
    numbered_lines: str  # "[n] text" lines, blank lines left out
    input_hash: str  # sha256 of exactly what the model sees of the source

    def shown_lines(self) -> frozenset[int]:
        """The numbers of the lines the model is shown (not blanked by the selection)."""
        return frozenset(int(n) for n in re.findall(r"^\[(\d+)\] ", self.numbered_lines, flags=re.MULTILINE))


def number_lines(lines: list[str], first: int = 1) -> list[tuple[int, str]]:
    """``(line number, text)`` for the non-blank lines, long lines shortened."""
    numbered = []
    for offset, line in enumerate(lines):
        text = " ".join(line.split())
        if text:
            if len(text) > MAX_LINE_CHARS:
                text = text[: MAX_LINE_CHARS - 1] + "…"
            numbered.append((first + offset, text))
    return numbered


FOCUS_MARK = ">>> "  # how a focused view (llm/focus.py) marks the lines its judge kept
FOCUS_WINDOW = 2  # lines of context each side of a marked line


def chunk_marked(lines: list[str], *, window: int = FOCUS_WINDOW, budget_tokens: int = DEFAULT_CHUNK_TOKENS) -> list[Chunk]:
    """One chunk per marked line of a focused view: the line, still marked, with ``window``
    lines each side (other marks removed), so the model answers about one place at a time
    and three assignments in a row are three questions, not one it may lump or skip."""
    marked = [i for i, line in enumerate(lines) if line.startswith(FOCUS_MARK)]
    chunks: list[Chunk] = []
    for i in marked:
        view = ["" if abs(j - i) > window else (line if j == i else line.removeprefix(FOCUS_MARK))
                for j, line in enumerate(lines)]
        for chunk in chunk_lines(view, budget_tokens=budget_tokens, overlap_lines=0):
            chunks.append(Chunk(len(chunks), chunk.first_line, chunk.last_line, chunk.numbered_lines,
                                chunk.input_hash))
    return chunks


def chunk_lines(
    lines: list[str],
    *,
    budget_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_lines: int = DEFAULT_OVERLAP_LINES,
) -> list[Chunk]:
    """Greedy chunks of whole lines under ``budget_tokens``, each chunk repeating the last
    ``overlap_lines`` lines of the previous one so an item split across the border is seen
    whole at least once (the merge removes the duplicate)."""
    numbered = number_lines(lines)
    if not numbered:
        return []
    rendered = [f"[{n}] {text}" for n, text in numbered]
    costs = [estimate_tokens(r) + 1 for r in rendered]
    chunks: list[Chunk] = []
    start = 0
    while start < len(rendered):
        end, used = start, 0
        while end < len(rendered) and (end == start or used + costs[end] <= budget_tokens):
            used += costs[end]
            end += 1
        body = "\n".join(rendered[start:end])
        chunks.append(
            Chunk(
                index=len(chunks),
                first_line=numbered[start][0],
                last_line=numbered[end - 1][0],
                numbered_lines=body,
                input_hash=hashlib.sha256(body.encode()).hexdigest(),
            )
        )
        if end >= len(rendered):
            break
        start = max(end - overlap_lines, start + 1)
    return chunks
