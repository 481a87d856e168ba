"""Parsed records → warehouse rows, and the fingerprints that make re-ingesting a no-op.

Pure functions: the ingest assets call these and write what they return. Naive times from
sources that did not say their zone are read in the team's time zone, then stored as UTC.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.records import MailMessage, Ticket, Transcript

TRANSCRIPT_COLUMNS = ["document_id", "source_file", "file_sha256", "format", "title", "occurred_at",
                      "date_source", "attendees", "utterance_count"]
UTTERANCE_COLUMNS = ["document_id", "line_no", "speaker", "text", "start_s", "end_s"]
EMAIL_COLUMNS = ["document_id", "source_file", "position", "file_sha256", "message_id", "in_reply_to",
                 "references_ids", "thread_id", "subject", "sender_name", "sender_email", "to_addresses",
                 "cc_addresses", "sent_at", "occurred_at", "body_text", "new_text", "quoted_text",
                 "signature", "attachments", "charset_note"]
TICKET_COLUMNS = ["document_id", "source_file", "position", "file_sha256", "tracker", "ticket_key", "title",
                  "body", "state", "raw_state", "assignee", "assignee_email", "reporter", "reporter_email",
                  "labels", "due_date", "created_at", "updated_at", "closed_at", "occurred_at", "url",
                  "comments"]
ERROR_COLUMNS = ["error_id", "source_file", "kind", "position", "reason", "file_sha256", "recorded_at"]


def short_hash(*parts: str, length: int = 20) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def fingerprint(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file, streamed; for a Maildir folder, of its message files' names,
    sizes and contents, so any change to any message changes it."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and "tmp" not in p.relative_to(path).parts[:1]
    )
    size = 0
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                size += len(block)
    return digest.hexdigest(), size


def mtime_utc(path: Path) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)


def to_utc(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def week_start(moment: datetime, tz: ZoneInfo) -> date:
    """The Monday of ``moment``'s week in the team's time zone."""
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def error_row(error: IngestError, kind: str, file_sha256: str | None, now: datetime) -> dict[str, Any]:
    return {
        "error_id": short_hash(error.source_file, file_sha256 or "", error.position, error.reason, length=32),
        "source_file": error.source_file,
        "kind": kind,
        "position": error.position,
        "reason": error.reason,
        "file_sha256": file_sha256,
        "recorded_at": now,
    }


def transcript_document_id(source_file: str) -> str:
    return "meeting:" + short_hash(source_file)


def transcript_rows(t: Transcript, sha: str, tz: ZoneInfo, fallback: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    doc_id = transcript_document_id(t.source_file)
    row = {
        "document_id": doc_id,
        "source_file": t.source_file,
        "file_sha256": sha,
        "format": t.format,
        "title": t.title,
        "occurred_at": to_utc(t.occurred_at, tz) or fallback,
        "date_source": t.date_source if t.occurred_at else "mtime",
        "attendees": json.dumps(t.attendees, ensure_ascii=False),
        "utterance_count": len(t.utterances),
    }
    utterances = [
        {"document_id": doc_id, "line_no": u.line_no, "speaker": u.speaker, "text": u.text,
         "start_s": u.start_s, "end_s": u.end_s}
        for u in t.utterances
    ]
    return row, utterances


def email_document_id(message_id: str) -> str:
    return "email:" + short_hash(message_id.strip().lower())


def email_row(m: MailMessage, sha: str, tz: ZoneInfo, fallback: datetime) -> dict[str, Any]:
    sent = to_utc(m.sent_at, tz)
    return {
        "document_id": email_document_id(m.message_id),
        "source_file": m.source_file,
        "position": m.position,
        "file_sha256": sha,
        "message_id": m.message_id,
        "in_reply_to": m.in_reply_to,
        "references_ids": json.dumps(m.references),
        "thread_id": m.thread_id,
        "subject": m.subject,
        "sender_name": m.sender.name if m.sender else None,
        "sender_email": m.sender.email if m.sender else None,
        "to_addresses": json.dumps([asdict(a) for a in m.to], ensure_ascii=False),
        "cc_addresses": json.dumps([asdict(a) for a in m.cc], ensure_ascii=False),
        "sent_at": sent,
        "occurred_at": sent or fallback,
        "body_text": m.body_text,
        "new_text": m.new_text,
        "quoted_text": m.quoted_text,
        "signature": m.signature,
        "attachments": json.dumps(m.attachments, ensure_ascii=False),
        "charset_note": m.charset_note,
    }


def ticket_document_id(tracker: str, key: str) -> str:
    return f"ticket:{tracker}:{key}"


def ticket_row(t: Ticket, sha: str, tz: ZoneInfo, fallback: datetime) -> dict[str, Any]:
    created = to_utc(t.created_at, tz)
    return {
        "document_id": ticket_document_id(t.tracker, t.key),
        "source_file": t.source_file,
        "position": t.position,
        "file_sha256": sha,
        "tracker": t.tracker,
        "ticket_key": t.key,
        "title": t.title,
        "body": t.body or "",
        "state": t.state,
        "raw_state": t.raw_state,
        "assignee": t.assignee,
        "assignee_email": t.assignee_email,
        "reporter": t.reporter,
        "reporter_email": t.reporter_email,
        "labels": json.dumps(t.labels, ensure_ascii=False),
        "due_date": t.due_date,
        "created_at": created,
        "updated_at": to_utc(t.updated_at, tz),
        "closed_at": to_utc(t.closed_at, tz),
        "occurred_at": created or fallback,
        "url": t.url,
        "comments": json.dumps(
            [{"author": c.author, "created_at": c.created_at.isoformat() if c.created_at else None,
              "body": c.body} for c in t.comments],
            ensure_ascii=False,
        ),
    }
