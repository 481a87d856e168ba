"""What the model must return, as pydantic models with every string and list bounded.

Unbounded fields make small models loop until ``max_tokens`` (DESIGN.md §5), so each limit
here is part of the contract. The JSON schema sent to the endpoint is derived from these
models (:func:`response_json_schema`) and the answer is validated against them again on our
side, because a grammar a backend cannot compile is silently dropped.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ITEMS_PER_CHUNK = 8
MAX_EVIDENCE_LINES = 3


class ExtractedActionItem(BaseModel):
    """One commitment or assignment: someone is to do something."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=3, max_length=200, description="What is to be done, imperative, one sentence.")
    owner: str = Field(max_length=80, description="Who committed or was asked, exactly as the source names them; empty if nobody.")
    due: str = Field(max_length=60, description="The deadline exactly as said ('Friday', 'by the 14th'); empty if none.")
    status: Literal["open", "done"] = Field(description="'done' only when the source says it is finished.")
    priority: Literal["low", "normal", "high"]
    confidence: float = Field(ge=0.0, le=1.0)
    evidence_lines: list[int] = Field(
        min_length=1,
        max_length=MAX_EVIDENCE_LINES,
        description="Numbers of the source lines that state this item.",
    )

    @field_validator("task", "owner", "due", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class ExtractionResult(BaseModel):
    """Everything extracted from one chunk of one document (or one packed group of e-mails)."""

    model_config = ConfigDict(extra="forbid")

    action_items: list[ExtractedActionItem] = Field(max_length=MAX_ITEMS_PER_CHUNK)
    decisions: list[str] = Field(max_length=4)
    open_questions: list[str] = Field(max_length=4)
    summary: str = Field(max_length=300)

    @field_validator("decisions", "open_questions")
    @classmethod
    def _bound_entries(cls, values: list[str]) -> list[str]:
        return [v.strip()[:200] for v in values if isinstance(v, str) and v.strip()]


def response_json_schema() -> dict[str, Any]:
    """The strict JSON schema for :class:`ExtractionResult`: every property required, no extras,
    every string and list bounded (the form OpenAI's ``strict`` mode and llama.cpp accept)."""
    schema = ExtractionResult.model_json_schema()
    return _strictify(schema)


def _strictify(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _strictify(v) for k, v in node.items() if k not in {"title", "default"}}
        if node.get("type") == "object" and "properties" in node:
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
        if node.get("type") == "array" and "items" in node and isinstance(node["items"], dict):
            items = node["items"]
            if items.get("type") == "string":
                items.setdefault("maxLength", 200)
        return node
    if isinstance(node, list):
        return [_strictify(v) for v in node]
    return node


def schema_fingerprint() -> str:
    return json.dumps(response_json_schema(), sort_keys=True, separators=(",", ":"))
