"""Candidates → tracked action items with a status history.

The same work is mentioned many times: promised in a meeting, chased by e-mail, filed as a
ticket, reported done. Accepted candidates are folded in time order into items: a candidate
joins an item when the owner agrees and the task says the same thing, else it starts a new
one. The fold is a pure function of all candidates, so recomputing it after any week is
re-run gives the same items, ids and events whatever order weeks were run in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz

from assistant_pipelines.ingest.rows import short_hash

ITEM_COLUMNS = [
    "action_item_id", "task", "owner_person_id", "owner_name", "due_date", "status", "priority",
    "confidence", "source_document_id", "last_document_id", "ticket_key", "evidence", "mentions",
    "first_seen_at", "last_seen_at", "first_seen_week", "model", "prompt_version", "input_hash",
]
EVENT_COLUMNS = ["event_id", "action_item_id", "occurred_at", "event", "status", "due_date",
                 "document_id", "candidate_id"]
SAME_TASK = 80  # token-set similarity (0-100) of normalised tasks for the same owner
SAME_TASK_ONE_OWNER_MISSING = 90
_STOP = {"the", "a", "an", "to", "for", "of", "on", "and", "with", "by", "in", "our", "new", "up"}


def task_key(task: str) -> str:
    words = re.findall(r"[a-z0-9]+", task.lower())
    return " ".join(w for w in words if w not in _STOP)


@dataclass
class TrackedItem:
    action_item_id: str
    task: str
    keys: list[str]
    owner_person_id: str | None
    owner_name: str | None
    due_date: date | None
    status: str
    priority: str | None
    confidence: float | None
    source_document_id: str
    last_document_id: str
    ticket_key: str | None
    evidence: str | None
    mentions: int
    first_seen_at: datetime
    last_seen_at: datetime
    first_seen_week: date
    model: str
    prompt_version: str
    input_hash: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ITEM_COLUMNS}


def _ticket_key(candidate: dict[str, Any]) -> str | None:
    if candidate["origin"] != "ticket":
        return None
    return candidate["document_id"].split(":", 2)[-1]


def _similar(item: TrackedItem, candidate: dict[str, Any], key: str) -> bool:
    same_owner = item.owner_person_id == candidate["owner_person_id"]
    one_missing = (item.owner_person_id is None) != (candidate["owner_person_id"] is None)
    if not (same_owner or one_missing):
        return False
    threshold = SAME_TASK if same_owner else SAME_TASK_ONE_OWNER_MISSING
    return any(fuzz.token_set_ratio(key, known) >= threshold for known in item.keys)


def _find(items: list[TrackedItem], candidate: dict[str, Any], key: str) -> TrackedItem | None:
    ticket = _ticket_key(candidate)
    if ticket:
        for item in items:
            if item.ticket_key == ticket:
                return item
    best: TrackedItem | None = None
    for item in items:
        if ticket and item.ticket_key is not None:
            continue  # two tickets are two items, however alike their titles
        if item.status != "open" and candidate["status"] == "open":
            continue  # finished work is not reopened by a new mention of the same words
        if _similar(item, candidate, key) and (best is None or item.first_seen_at > best.first_seen_at):
            best = item  # the most recent matching item: older ones may be finished work
    return best


def _event(item: TrackedItem, candidate: dict[str, Any], event: str) -> None:
    item.events.append({
        "event_id": short_hash(item.action_item_id, candidate["candidate_id"], event, length=32),
        "action_item_id": item.action_item_id,
        "occurred_at": candidate["occurred_at"],
        "event": event,
        "status": item.status,
        "due_date": item.due_date,
        "document_id": candidate["document_id"],
        "candidate_id": candidate["candidate_id"],
    })


def track(candidates: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(action item rows, event rows) from accepted candidates."""
    ordered = sorted(
        (c for c in candidates if c["quarantine_reason"] is None),
        key=lambda c: (c["occurred_at"], c["document_id"], c["chunk_index"], c["item_index"], c["candidate_id"]),
    )
    items: list[TrackedItem] = []
    for candidate in ordered:
        key = task_key(candidate["task"])
        item = _find(items, candidate, key)
        if item is None:
            item = TrackedItem(
                action_item_id="ai_" + short_hash(candidate["candidate_id"], length=16),
                task=candidate["task"], keys=[key], owner_person_id=candidate["owner_person_id"],
                owner_name=candidate["owner_text"], due_date=candidate["due_date"],
                status="open" if candidate["status"] == "open" else candidate["status"],
                priority=candidate["priority"], confidence=candidate["confidence"],
                source_document_id=candidate["document_id"], last_document_id=candidate["document_id"],
                ticket_key=_ticket_key(candidate), evidence=candidate["evidence_text"], mentions=1,
                first_seen_at=candidate["occurred_at"], last_seen_at=candidate["occurred_at"],
                first_seen_week=candidate["week_start"], model=candidate["model"],
                prompt_version=candidate["prompt_version"], input_hash=candidate["input_hash"],
            )
            items.append(item)
            _event(item, candidate, "created")
            continue
        item.mentions += 1
        item.last_seen_at = max(item.last_seen_at, candidate["occurred_at"])
        item.last_document_id = candidate["document_id"]
        if key not in item.keys:
            item.keys.append(key)
        if item.owner_person_id is None and candidate["owner_person_id"]:
            item.owner_person_id, item.owner_name = candidate["owner_person_id"], candidate["owner_text"]
        if item.ticket_key is None and _ticket_key(candidate):
            item.ticket_key = _ticket_key(candidate)
        if candidate["confidence"] is not None:
            item.confidence = max(item.confidence or 0.0, candidate["confidence"])
        changed = False
        if candidate["due_date"] and candidate["due_date"] != item.due_date:
            item.due_date = candidate["due_date"]
            _event(item, candidate, "due_changed")
            changed = True
        finished = candidate["status"] in {"done", "closed"}
        reopened = candidate["origin"] == "ticket" and candidate["status"] == "open" and item.status != "open"
        if (finished and item.status == "open") or reopened:
            item.status = candidate["status"]
            _event(item, candidate, "status_changed")
            changed = True
        if not changed:
            _event(item, candidate, "mentioned")
    rows = [item.row() for item in items]
    events = [event for item in items for event in item.events]
    return rows, events
