"""The ``documents`` asset: one row per meeting, e-mail and ticket of a week, people resolved.

This is the table extraction reads and reports link back to. A week is rebuilt whole
(delete-window-then-insert), so re-running a week, or running weeks in any order, gives the
same rows.
"""


import hashlib
import json
from datetime import date
from itertools import groupby
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assistant_pipelines.partitions import week_window
from assistant_pipelines.people import PersonDirectory, directory_from_rows
from assistant_pipelines.resources import WarehouseResource
from assistant_pipelines.warehouse import Warehouse

DOCUMENT_COLUMNS = ["document_id", "kind", "source_file", "title", "occurred_at", "week_start",
                    "author_person_id", "author", "participants", "thread_id", "url", "text", "content_hash"]


def _content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _ids(directory: PersonDirectory, names: list[str | None]) -> list[str]:
    seen: list[str] = []
    for name in names:
        person_id = directory.resolve(name)
        if person_id and person_id not in seen:
            seen.append(person_id)
    return seen


def meeting_documents(rows: list[dict[str, Any]], directory: PersonDirectory, monday: date) -> list[dict[str, Any]]:
    documents = []
    for _, group in groupby(rows, key=lambda r: r["document_id"]):
        lines = list(group)
        first = lines[0]
        text = "\n".join(f"{r['speaker'] or 'Unknown'}: {r['text']}" for r in lines)
        attendees = json.loads(first["attendees"] or "[]")
        speakers = list(dict.fromkeys(r["speaker"] for r in lines if r["speaker"]))
        documents.append({
            "document_id": first["document_id"], "kind": "meeting", "source_file": first["source_file"],
            "title": first["title"], "occurred_at": first["occurred_at"], "week_start": monday,
            "author_person_id": None, "author": None,
            "participants": json.dumps(_ids(directory, attendees + speakers)),
            "thread_id": None, "url": None, "text": text, "content_hash": _content_hash(text),
        })
    return documents


def email_documents(rows: list[dict[str, Any]], directory: PersonDirectory, monday: date) -> list[dict[str, Any]]:
    documents = []
    for row in rows:
        recipients = json.loads(row["to_addresses"] or "[]") + json.loads(row["cc_addresses"] or "[]")
        author_id = directory.resolve(row["sender_email"]) or directory.resolve(row["sender_name"])
        participants = [author_id] if author_id else []
        for address in recipients:
            person_id = directory.resolve(address.get("email")) or directory.resolve(address.get("name"))
            if person_id and person_id not in participants:
                participants.append(person_id)
        text = row["new_text"] or ""
        documents.append({
            "document_id": row["document_id"], "kind": "email", "source_file": row["source_file"],
            "title": row["subject"] or "(no subject)", "occurred_at": row["occurred_at"], "week_start": monday,
            "author_person_id": author_id, "author": row["sender_name"] or row["sender_email"],
            "participants": json.dumps(participants), "thread_id": row["thread_id"], "url": None,
            "text": text, "content_hash": _content_hash(text),
        })
    return documents


def ticket_documents(rows: list[dict[str, Any]], directory: PersonDirectory, monday: date) -> list[dict[str, Any]]:
    documents = []
    for row in rows:
        comments = json.loads(row["comments"] or "[]")
        parts = [row["title"], row["body"] or ""]
        parts += [f"Comment by {c.get('author') or 'someone'}: {c.get('body') or ''}" for c in comments]
        text = "\n".join(p for p in parts if p)
        author_id = directory.resolve(row["reporter_email"]) or directory.resolve(row["reporter"])
        assignee_id = directory.resolve(row["assignee_email"]) or directory.resolve(row["assignee"])
        documents.append({
            "document_id": row["document_id"], "kind": "ticket", "source_file": row["source_file"],
            "title": f"{row['ticket_key']}: {row['title']}", "occurred_at": row["occurred_at"],
            "week_start": monday, "author_person_id": author_id, "author": row["reporter"],
            "participants": json.dumps([p for p in dict.fromkeys([author_id, assignee_id]) if p]),
            "thread_id": None, "url": row["url"], "text": text, "content_hash": _content_hash(text),
        })
    return documents


def load_directory_from_warehouse(wh: Warehouse) -> PersonDirectory:
    return directory_from_rows(wh.run_file("people_all"))


def build_week_documents(wh: Warehouse, monday: date, start: Any, end: Any) -> list[dict[str, Any]]:
    """All documents of one week window, in a stable order."""
    directory = load_directory_from_warehouse(wh)
    window = {"window_start": start, "window_end": end}
    return (
        meeting_documents(wh.run_file("window_meetings", window), directory, monday)
        + email_documents(wh.run_file("window_emails", window), directory, monday)
        + ticket_documents(wh.run_file("window_tickets", window), directory, monday)
    )


def build_documents_asset(weeks: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="documents",
        group_name="ingest",
        partitions_def=weeks,
        deps=["raw_transcripts", "raw_emails", "raw_tickets", "people"],
        kinds={"python", "duckdb"},
    )
    def documents(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        """One row per meeting, e-mail and ticket that happened in the week: the text extraction
        reads (speaker-labelled lines for meetings, the new text of e-mails), the people
        involved as person ids, and a content hash."""
        monday, start, end = week_window(context)
        with warehouse.open() as wh:
            rows = build_week_documents(wh, monday, start, end)
            wh.replace_where("documents", "week_start = :week", {"week": monday}, DOCUMENT_COLUMNS, rows)
        kinds = {kind: sum(1 for r in rows if r["kind"] == kind) for kind in ("meeting", "email", "ticket")}
        return dg.MaterializeResult(metadata={
            "week": monday.isoformat(),
            "documents": len(rows),
            **{f"{kind}s": n for kind, n in kinds.items()},
            "preview": dg.MetadataValue.md(
                "\n".join(f"- {r['kind']}: {r['title']} ({r['occurred_at']:%a %H:%M})" for r in rows[:20]) or "none"
            ),
        })

    return documents
