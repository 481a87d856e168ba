"""What the parsers produce: plain dataclasses, one per kind of source record.

Times are timezone-aware ``datetime`` objects where the source says the zone (or says UTC), and
naive where it does not; the ingest assets localise naive times to ``ASSISTANT_TIMEZONE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Utterance:
    """One line of a transcript. ``line_no`` counts utterances from 1 in file order; it is the
    number the extraction prompt shows and the model cites as evidence."""

    line_no: int
    speaker: str | None
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class Transcript:
    """A meeting: its utterances plus what the file, its name or a sidecar says about it."""

    source_file: str
    format: str  # "vtt" | "srt" | "txt" | "json"
    title: str
    occurred_at: datetime | None  # from sidecar, else YYYY-MM-DD file-name prefix; None → mtime
    attendees: list[str]
    utterances: list[Utterance]
    date_source: str = "sidecar"  # "sidecar" | "filename" | "content" | "mtime"


@dataclass(frozen=True)
class Address:
    name: str | None
    email: str  # lower-cased


@dataclass
class MailMessage:
    """One e-mail. ``new_text`` is what the author wrote in this message: quoted replies,
    forwarded history and the signature are split off into their own fields."""

    source_file: str
    position: str  # e.g. "message 12 (byte 48211)" in an mbox, "file" for .eml / Maildir
    message_id: str  # without angle brackets; synthesised from a content hash when missing
    in_reply_to: str | None
    references: list[str]
    thread_id: str  # root of the thread: first References id, else In-Reply-To, else own id
    subject: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    sent_at: datetime | None
    body_text: str  # the whole text body (HTML converted to text)
    new_text: str
    quoted_text: str
    signature: str
    attachments: list[str] = field(default_factory=list)  # file names only
    charset_note: str | None = None  # set when the declared charset was wrong or missing


@dataclass(frozen=True)
class TicketComment:
    author: str | None
    created_at: datetime | None
    body: str


@dataclass
class Ticket:
    """One issue from a tracker export, normalised across GitHub and Jira."""

    source_file: str
    position: str  # "record 4" (JSON) or "row 9" (CSV)
    tracker: str  # "github" | "jira"
    key: str  # "owner/repo#123" or "PROJ-42"
    title: str
    body: str
    state: str  # normalised: "open" | "in_progress" | "done" | "closed"; raw kept below
    raw_state: str
    assignee: str | None  # login or account display name as the tracker shows it
    assignee_email: str | None
    reporter: str | None
    reporter_email: str | None
    labels: list[str]
    due_date: date | None
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None
    url: str | None
    comments: list[TicketComment] = field(default_factory=list)
