"""Extraction prompts: jinja2 files in ``prompts/``, rendered by small pure functions.

The prompt version is a hash of every template file of the prompt set and of both response
schemas, so any change to either is a new version: cached answers are keyed by it and items
carry it as provenance. Source text is fenced (``<source>`` … ``</source>``) and declared
untrusted data by the system prompt; :func:`defuse` keeps it from closing the fence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import jinja2

from assistant_pipelines.llm.schema import schema_fingerprint

PROMPT_NAME = "extract_action_items"
TEMPLATE_FILES = (
    f"{PROMPT_NAME}.system.j2",
    f"{PROMPT_NAME}.user.j2",
    f"{PROMPT_NAME}.packed.system.j2",
    f"{PROMPT_NAME}.packed.user.j2",
)
_KIND_LABELS = {"meeting": "Meeting transcript", "email": "E-mail", "ticket": "Ticket"}
_FENCE = re.compile(r"<(\s*/?\s*)(source|excerpt)", re.IGNORECASE)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("assistant_pipelines", "prompts"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # plain text prompts, never HTML
    )


def template_source(name: str) -> str:
    """The text of a prompt template file (what prompt versions hash)."""
    return (resources.files("assistant_pipelines") / "prompts" / name).read_text(encoding="utf-8")


def render_template(name: str, **variables: object) -> str:
    return _environment().get_template(name).render(**variables)


@cache
def prompt_examples() -> tuple[str, ...]:
    """The quoted examples in the extraction's system prompt ("I'll send the test results by
    Thursday", …). A small model sometimes returns one of them as a task;
    ``candidates.copied_example`` catches that."""
    return tuple(dict.fromkeys(re.findall(r'"([^"\n]{3,})"', template_source(TEMPLATE_FILES[0]))))


def kind_label(kind: str) -> str:
    """How a document kind is named to the model ("Meeting transcript", "E-mail", "Ticket")."""
    return _KIND_LABELS.get(kind, kind.title())


@cache
def prompt_version() -> str:
    """``extract_action_items@<12 hex>``: changes whenever a template or a schema changes."""
    digest = hashlib.sha256()
    for name in TEMPLATE_FILES:
        digest.update(name.encode() + b"\x00" + template_source(name).encode() + b"\x00")
    digest.update(schema_fingerprint("single").encode())
    digest.update(schema_fingerprint("packed").encode())
    return f"{PROMPT_NAME}@{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class PromptInput:
    kind: str  # meeting | email | ticket
    title: str
    occurred_at: datetime  # local time of the document
    participants: list[str]
    numbered_lines: str  # "[12] Speaker: text" lines of this chunk
    first_line: int
    last_line: int
    part_number: int = 1
    part_count: int = 1
    focused: bool = False  # only the passages the focus pass kept are shown; ">>>" marks its lines


def source_header(prompt: PromptInput) -> str:
    """Everything the model is told about a chunk besides its lines: part of its input hash,
    so a changed title, date or participant list is a new question."""
    return "\x1f".join([
        prompt.kind, prompt.title, prompt.occurred_at.strftime("%Y-%m-%d %H:%M"),
        "\x1e".join(prompt.participants), f"{prompt.part_number}/{prompt.part_count}",
        f"{prompt.first_line}-{prompt.last_line}", *(["focused"] if prompt.focused else []),
    ])


def _document_vars(prompt: PromptInput) -> dict[str, object]:
    return {
        "kind_label": _KIND_LABELS.get(prompt.kind, prompt.kind.title()),
        "title": defuse(prompt.title),
        "occurred_at": prompt.occurred_at.strftime("%Y-%m-%d %H:%M"),
        "weekday": prompt.occurred_at.strftime("%A"),
        "participants": [defuse(p) for p in prompt.participants],
        "numbered_lines": defuse(prompt.numbered_lines),
    }


def render_messages(prompt: PromptInput) -> list[dict[str, str]]:
    """The chat messages for one chunk: the fixed system prompt and the fenced source."""
    env = _environment()
    system = env.get_template(f"{PROMPT_NAME}.system.j2").render()
    user = env.get_template(f"{PROMPT_NAME}.user.j2").render(
        **_document_vars(prompt),
        first_line=prompt.first_line,
        last_line=prompt.last_line,
        part_number=prompt.part_number,
        part_count=prompt.part_count,
        focused=prompt.focused,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def render_packed_messages(documents: list[tuple[str, PromptInput]]) -> list[dict[str, str]]:
    """The chat messages for several short documents in one request: each fenced with its
    id (``label``) and its own line numbers."""
    env = _environment()
    system = env.get_template(f"{PROMPT_NAME}.packed.system.j2").render()
    user = env.get_template(f"{PROMPT_NAME}.packed.user.j2").render(
        documents=[{"label": label, **_document_vars(prompt)} for label, prompt in documents],
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def instruction_text(packed: bool = False) -> str:
    """The fixed part of a request (the system prompt) — for measuring prompt overhead."""
    name = f"{PROMPT_NAME}.packed.system.j2" if packed else f"{PROMPT_NAME}.system.j2"
    return _environment().get_template(name).render()


def defuse(text: str) -> str:
    """Source text must not be able to open or close a fence and speak as us: ``<source``,
    ``</source``, ``<excerpt`` and ``</excerpt`` (any case, any spacing) lose their ``<``."""
    return _FENCE.sub(lambda m: "‹" + m.group(1) + m.group(2), text)
