"""The one error type every parser raises or yields for bad input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IngestError(Exception):
    """A file, or one record inside it, that could not be ingested.

    ``position`` says where, in words a person can follow: ``"line 14"``, ``"message 3
    (byte 10422)"``, ``"record 7"``, ``"row 12"`` or ``"file"`` for the whole file.
    ``reason`` is one sentence: what is wrong and, where it helps, what was expected.
    """

    source_file: str
    position: str
    reason: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.source_file} ({self.position}): {self.reason}")

    def __str__(self) -> str:
        return f"{self.source_file} ({self.position}): {self.reason}"
