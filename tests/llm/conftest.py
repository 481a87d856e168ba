"""Fixtures for the extraction engine's tests: fictional documents, a warehouse-backed store,
a backend pointed at the loopback server, and a "model" that understands packed requests.

Every test here goes through the real ``openai`` client and the loopback server, and through
the real warehouse store (a DuckDB file; Postgres too where a test takes ``warehouse_url``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant_pipelines.llm.backends import OpenAIBackend
from assistant_pipelines.llm.extract import ExtractionSettings, SourceDocument
from assistant_pipelines.llm.ledger import WarehouseCallStore
from assistant_pipelines.llm.limiter import RetryPolicy
from assistant_pipelines.warehouse import Warehouse, open_warehouse
from tests.fakes.openai_server import ChatReply, FakeOpenAIServer, json_reply

BERLIN = ZoneInfo("Europe/Berlin")
_SOURCE = re.compile(r'<source(?: id="(D\d+)")?>\n(.*?)\n</source>', re.DOTALL)
_LINE = re.compile(r"^\[(\d+)\] (?:([^:\n]{1,60}): )?(.*)$", re.MULTILINE)
_WILL = re.compile(r"\b(?:I'll|I will)\s+(.+?)[.!]?$", re.IGNORECASE)


def meeting(number: int, *, lines: int = 3) -> SourceDocument:
    """A short fictional meeting whose every line holds a commitment naming the meeting."""
    speakers = ["Mira", "Tomas", "Ines"]
    text = [f"{speakers[i % 3]}: I'll prepare item {i + 1} of the kestrel plan {number}." for i in range(lines)]
    return SourceDocument(f"meeting-{number}", "meeting", f"Kestrel sync {number}",
                          datetime(2026, 10, 6, 10, 0, tzinfo=BERLIN), speakers, text)


def email(number: int) -> SourceDocument:
    """A short fictional e-mail with one commitment that names it."""
    text = ["Hi all,", f"I'll send the harbor budget draft {number} by Friday.", "Thanks, Ola"]
    return SourceDocument(f"email-{number}", "email", f"Harbor budget {number}",
                          datetime(2026, 10, 7, 9, 30, tzinfo=BERLIN), ["Ola", "Team"], text)


def items_for(source: str, speaker_default: str = "") -> list[dict]:
    """One action item per "I'll …" line of a fenced source, citing that line."""
    items = []
    for match in _LINE.finditer(source):
        found = _WILL.search(match[3])
        if found:
            items.append({"task": found[1][:200], "owner": match[2] or speaker_default or "Ola", "due": "",
                          "status": "open", "priority": "normal", "confidence": 0.9,
                          "evidence_lines": [int(match[1])]})
    return items[:5]


def last_user(request: dict) -> str:
    return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")


def first_user(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def is_packed(request: dict) -> bool:
    return '<source id="D' in first_user(request)


def extraction_model(request: dict) -> ChatReply:
    """A deterministic "model" for both request shapes: single chunks and packed e-mails."""
    user = first_user(request)
    if is_packed(request):
        documents = [{"document": doc_id, "action_items": items_for(body), "decisions": [],
                      "open_questions": [], "summary": f"{doc_id} summary"}
                     for doc_id, body in _SOURCE.findall(user)]
        return json_reply({"documents": documents})
    body = _SOURCE.search(user)
    return json_reply({"action_items": items_for(body[2] if body else ""), "decisions": ["keep the plan"],
                       "open_questions": [], "summary": "One commitment per line."})


def requested_titles(server: FakeOpenAIServer) -> list[str]:
    """The document titles each chat request was about (several for a packed one), in order."""
    titles = []
    for request in server.chat_requests():
        titles.append(sorted(re.findall(r'(?:Meeting transcript|E-mail):? "([^"]+)"', first_user(request))))
    return [", ".join(t) for t in titles]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(extraction_model) as srv:
        yield srv


@pytest.fixture
def wh(tmp_path) -> Iterator[Warehouse]:
    with open_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}") as warehouse:
        warehouse.ensure_schema()
        yield warehouse


def make_store(warehouse: Warehouse, run_id: str = "test-run") -> WarehouseCallStore:
    return WarehouseCallStore(warehouse, run_id, flush_interval_s=0.05)


@pytest.fixture
def store(wh: Warehouse) -> Iterator[WarehouseCallStore]:
    with make_store(wh) as call_store:
        yield call_store


def make_backend(srv: FakeOpenAIServer, *, concurrency: int = 4, timeout_s: float = 5.0) -> OpenAIBackend:
    return OpenAIBackend(model="fake-model", base_url=srv.base_url, api_key=srv.api_key,
                         max_concurrency=concurrency, timeout_s=timeout_s)


def fast_settings(**kw) -> ExtractionSettings:
    """Settings with back-off in milliseconds, so retry tests stay fast."""
    kw.setdefault("retry", RetryPolicy(max_attempts=4, base_s=0.01, max_s=0.05))
    kw.setdefault("concurrency", 4)
    return ExtractionSettings(**kw)


def ledger(warehouse: Warehouse) -> list[dict]:
    return warehouse.query("SELECT * FROM llm_calls ORDER BY started_at, attempt")


def answer_json(items: list[dict] | None = None) -> str:
    return json.dumps({"action_items": items or [], "decisions": [], "open_questions": [], "summary": "ok"})
