"""What the model must return, as pydantic models with every string and list bounded.

Unbounded fields make small models loop until ``max_tokens`` (DESIGN.md §5), so each limit
here is part of the contract. The JSON schema sent to the endpoint is derived from these
models (:func:`response_json_schema`) and the answer is validated against them again on our
side, because a grammar a backend cannot compile is silently dropped.

Two answer shapes: :class:`ExtractionResult` for one chunk of one document, and
:class:`PackedExtractionResult` for a request that packs several short e-mails, where every
entry names the document it is about (``document``: the id shown in the request) so the answer
can be mapped back and checked (:mod:`assistant_pipelines.llm.packing`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ITEMS_PER_CHUNK = 8
MAX_EVIDENCE_LINES = 3
MAX_ITEMS_PER_PACKED_DOCUMENT = 5
MAX_PACKED_DOCUMENTS = 8

SchemaName = Literal["single", "packed"]


def _clean_entries(values: list[str], limit: int = 200) -> list[str]:
    return [v.strip()[:limit] for v in values if isinstance(v, str) and v.strip()]


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
    """Everything extracted from one chunk of one document (also what a packed answer becomes
    for each of its documents once mapped back)."""

    model_config = ConfigDict(extra="forbid")

    action_items: list[ExtractedActionItem] = Field(max_length=MAX_ITEMS_PER_CHUNK)
    decisions: list[str] = Field(max_length=4)
    open_questions: list[str] = Field(max_length=4)
    summary: str = Field(max_length=300)

    @field_validator("decisions", "open_questions")
    @classmethod
    def _bound_entries(cls, values: list[str]) -> list[str]:
        return _clean_entries(values)


class PackedDocumentResult(BaseModel):
    """The answer for one document of a packed request."""

    model_config = ConfigDict(extra="forbid")

    document: str = Field(min_length=1, max_length=12, description="The id of the document this entry is about, as given in its <source id=...> tag.")
    action_items: list[ExtractedActionItem] = Field(max_length=MAX_ITEMS_PER_PACKED_DOCUMENT)
    decisions: list[str] = Field(max_length=2)
    open_questions: list[str] = Field(max_length=2)
    summary: str = Field(max_length=200)

    @field_validator("document", mode="before")
    @classmethod
    def _strip_id(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("decisions", "open_questions")
    @classmethod
    def _bound_entries(cls, values: list[str]) -> list[str]:
        return _clean_entries(values)

    def as_result(self) -> ExtractionResult:
        return ExtractionResult(action_items=self.action_items, decisions=self.decisions,
                                open_questions=self.open_questions, summary=self.summary)


class PackedExtractionResult(BaseModel):
    """Everything extracted from a packed request: one entry per document, in the order given."""

    model_config = ConfigDict(extra="forbid")

    documents: list[PackedDocumentResult] = Field(max_length=MAX_PACKED_DOCUMENTS)


_MODELS: dict[str, type[BaseModel]] = {"single": ExtractionResult, "packed": PackedExtractionResult}


def answer_model(name: SchemaName) -> type[BaseModel]:
    return _MODELS[name]


@cache
def _schema(name: str) -> str:
    return json.dumps(_strictify(_MODELS[name].model_json_schema()), sort_keys=True, separators=(",", ":"))


def response_json_schema(name: SchemaName = "single") -> dict[str, Any]:
    """The strict JSON schema for an answer shape: every property required, no extras, every
    string and list bounded (the form OpenAI's ``strict`` mode and llama.cpp accept). A fresh
    copy each call, so a caller may not change the shared one."""
    return json.loads(_schema(name))


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


def schema_fingerprint(name: SchemaName = "single") -> str:
    """The canonical JSON text of a schema: part of the prompt version and the cache key."""
    return _schema(name)
