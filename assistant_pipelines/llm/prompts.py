"""Extraction prompts: jinja2 files in ``prompts/``, rendered by small pure functions.

The prompt version is a hash of the template files and the response schema, so any change to
either is a new version: cached answers are keyed by it and items carry it as provenance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import jinja2

from assistant_pipelines.llm.schema import schema_fingerprint

PROMPT_NAME = "extract_action_items"
_KIND_LABELS = {"meeting": "Meeting transcript", "email": "E-mail", "ticket": "Ticket"}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("assistant_pipelines", "prompts"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # plain text prompts, never HTML
    )


def _template_source(name: str) -> str:
    return (resources.files("assistant_pipelines") / "prompts" / name).read_text(encoding="utf-8")


@cache
def prompt_version() -> str:
    """``extract_action_items@<12 hex>``: changes whenever a template or the schema changes."""
    digest = hashlib.sha256()
    for name in (f"{PROMPT_NAME}.system.j2", f"{PROMPT_NAME}.user.j2"):
        digest.update(_template_source(name).encode())
    digest.update(schema_fingerprint().encode())
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


def render_messages(prompt: PromptInput) -> list[dict[str, str]]:
    """The chat messages for one chunk: the fixed system prompt and the fenced source."""
    env = _environment()
    system = env.get_template(f"{PROMPT_NAME}.system.j2").render()
    user = env.get_template(f"{PROMPT_NAME}.user.j2").render(
        kind_label=_KIND_LABELS.get(prompt.kind, prompt.kind.title()),
        title=_defuse(prompt.title),
        occurred_at=prompt.occurred_at.strftime("%Y-%m-%d %H:%M"),
        weekday=prompt.occurred_at.strftime("%A"),
        participants=[_defuse(p) for p in prompt.participants],
        numbered_lines=_defuse(prompt.numbered_lines),
        first_line=prompt.first_line,
        last_line=prompt.last_line,
        part_number=prompt.part_number,
        part_count=prompt.part_count,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _defuse(text: str) -> str:
    # Source text must not be able to close the fence and speak as us.
    return text.replace("</source>", "</ source>").replace("<source>", "< source>")
