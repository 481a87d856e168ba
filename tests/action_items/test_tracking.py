"""The fold from candidates to tracked action items and their status history."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from assistant_pipelines.tracking import EVENT_COLUMNS, ITEM_COLUMNS, task_key, track

MONDAY = datetime(2026, 10, 5, 9, tzinfo=UTC)


def candidate(cid: str, task: str, owner: str | None, *, day: float = 0, doc: str | None = None,
              origin: str = "llm", status: str = "open", due: date | None = None, item_index: int = 0,
              quarantine: str | None = None, confidence: float = 0.8) -> dict:
    occurred = MONDAY + timedelta(days=day)
    return {
        "candidate_id": cid, "document_id": doc or f"meeting:{cid}", "week_start": (occurred - timedelta(days=occurred.weekday())).date(),
        "origin": origin, "chunk_index": 0, "item_index": item_index, "task": task,
        "owner_text": owner.split(".")[0].title() if owner else None, "owner_person_id": owner,
        "due_text": due.isoformat() if due else None, "due_date": due, "status": status, "priority": "normal",
        "confidence": confidence, "evidence_lines": "[1]", "evidence_text": f"evidence of {cid}",
        "occurred_at": occurred, "model": "m", "prompt_version": "p", "input_hash": "h",
        "quarantine_reason": quarantine,
    }


def by_task(rows: list[dict]) -> dict[str, dict]:
    return {r["task"]: r for r in rows}


def events_of(events: list[dict], item_id: str) -> list[tuple[str, str]]:
    return [(e["event"], e["status"]) for e in events if e["action_item_id"] == item_id]


def test_task_key_drops_case_punctuation_and_filler_words() -> None:
    assert task_key("Fix the pricing page!") == task_key("fix pricing-page") == "fix pricing page"


def test_the_same_task_by_the_same_owner_across_sources_is_one_item() -> None:
    rows, events = track([
        candidate("c1", "Fix the pricing page", "marcus", day=0, doc="meeting:m1", due=date(2026, 10, 9)),
        candidate("c2", "fix pricing page", "marcus", day=1, doc="email:e1"),
        candidate("c3", "Fix the pricing page on the website", "marcus", day=2,
                  doc="ticket:github:acme/web#42", origin="ticket", confidence=1.0),
    ])
    (item,) = rows
    assert list(item) == ITEM_COLUMNS
    assert item["mentions"] == 3
    assert (item["source_document_id"], item["last_document_id"]) == ("meeting:m1", "ticket:github:acme/web#42")
    assert item["ticket_key"] == "acme/web#42"
    assert item["task"] == "Fix the pricing page"  # as first said
    assert item["due_date"] == date(2026, 10, 9)  # a mention without a date keeps it
    assert item["confidence"] == 1.0
    assert (item["first_seen_at"], item["last_seen_at"]) == (MONDAY, MONDAY + timedelta(days=2))
    assert item["first_seen_week"] == date(2026, 10, 5)
    assert events_of(events, item["action_item_id"]) == [("created", "open"), ("mentioned", "open"),
                                                         ("mentioned", "open")]
    assert all(list(e) == EVENT_COLUMNS for e in events)


def test_different_owners_are_different_items() -> None:
    rows, _ = track([candidate("c1", "Fix the pricing page", "marcus"),
                     candidate("c2", "Fix the pricing page", "priya", day=1)])
    assert sorted(r["owner_person_id"] for r in rows) == ["marcus", "priya"]


def test_different_tasks_of_one_owner_are_different_items() -> None:
    rows, _ = track([candidate("c1", "Fix the pricing page", "marcus"),
                     candidate("c2", "Book the offsite venue", "marcus", day=1)])
    assert len(rows) == 2


def test_an_unassigned_mention_joins_only_a_near_identical_task_and_fills_the_owner() -> None:
    rows, _ = track([candidate("c1", "Fix the pricing page", None),
                     candidate("c2", "Fix the pricing page", "marcus", day=1),
                     candidate("c3", "Fix the prices page", None, day=2)])
    owned = [r for r in rows if r["owner_person_id"] == "marcus"]
    assert len(owned) == 1 and owned[0]["mentions"] == 2  # the owner was filled in
    # Close (84/100) but not near-identical: without an owner to confirm it, a new item.
    assert len(rows) == 2


def test_done_by_mention_changes_the_status_once() -> None:
    rows, events = track([
        candidate("c1", "Send the invoice to ACME", "zoe"),
        candidate("c2", "Send the invoice to ACME", "zoe", day=2, status="done"),
        candidate("c3", "Sent the invoice to ACME", "zoe", day=3, status="done"),
    ])
    (item,) = rows
    assert item["status"] == "done"
    assert events_of(events, item["action_item_id"]) == [("created", "open"), ("status_changed", "done"),
                                                         ("mentioned", "done")]


def test_a_closed_ticket_closes_its_item_and_reopening_it_reopens_the_item() -> None:
    ticket = "ticket:github:acme/web#42"
    rows, events = track([
        candidate("t0", "Fix the pricing page", "marcus", doc=ticket, origin="ticket"),
        candidate("t1", "Fix the pricing page", "marcus", day=3, doc=ticket, origin="ticket", status="closed"),
        candidate("t2", "Fix the pricing page", "marcus", day=5, doc=ticket, origin="ticket", status="open"),
    ])
    (item,) = rows
    assert item["status"] == "open"
    assert events_of(events, item["action_item_id"]) == [("created", "open"), ("status_changed", "closed"),
                                                         ("status_changed", "open")]


def test_work_reported_done_in_a_meeting_is_not_reopened_by_a_new_mention() -> None:
    rows, _ = track([
        candidate("c1", "Fix the pricing page", "marcus"),
        candidate("c2", "Fix the pricing page", "marcus", day=1, status="done"),
        candidate("c3", "Fix the pricing page", "marcus", day=20),  # the same words, weeks later: new work
    ])
    assert sorted(r["status"] for r in rows) == ["done", "open"]


def test_two_tickets_with_similar_titles_stay_two_items() -> None:
    rows, _ = track([
        candidate("t1", "Fix login bug", "marcus", doc="ticket:github:acme/web#1", origin="ticket"),
        candidate("t2", "Fix login bug", "marcus", day=1, doc="ticket:github:acme/web#2", origin="ticket"),
    ])
    assert sorted(r["ticket_key"] for r in rows) == ["acme/web#1", "acme/web#2"]


def test_due_date_changes_are_events() -> None:
    rows, events = track([
        candidate("c1", "Draft the launch post", "priya", due=date(2026, 10, 9)),
        candidate("c2", "Draft the launch post", "priya", day=1, due=date(2026, 10, 9)),
        candidate("c3", "Draft the launch post", "priya", day=2, due=date(2026, 10, 16)),
        candidate("c4", "Draft the launch post", "priya", day=3, due=date(2026, 10, 16), status="done"),
    ])
    (item,) = rows
    assert item["due_date"] == date(2026, 10, 16)
    history = [(e["event"], e["status"], e["due_date"]) for e in events]
    assert history == [("created", "open", date(2026, 10, 9)), ("mentioned", "open", date(2026, 10, 9)),
                       ("due_changed", "open", date(2026, 10, 16)), ("status_changed", "done", date(2026, 10, 16))]


def test_quarantined_candidates_are_left_out() -> None:
    rows, events = track([candidate("c1", "Fix the pricing page", "marcus", quarantine="not grounded")])
    assert (rows, events) == ([], [])


CANDIDATES = [
    candidate("a1", "Fix the pricing page", "marcus", day=0, doc="meeting:m1"),
    candidate("a2", "Book the offsite venue", "priya", day=0, doc="meeting:m1", item_index=1),
    candidate("a3", "fix pricing page", "marcus", day=1, doc="email:e1", due=date(2026, 10, 9)),
    candidate("a4", "Send the invoice to ACME", "zoe", day=1, doc="email:e2"),
    candidate("a5", "Book the offsite venue", "priya", day=2, doc="meeting:m2", status="done"),
    candidate("a6", "Fix the pricing page", "marcus", day=3, doc="ticket:github:acme/web#42", origin="ticket"),
    candidate("a7", "Fix the pricing page", "marcus", day=4, doc="ticket:github:acme/web#42", origin="ticket",
              status="closed"),
    candidate("a8", "Send the invoice to ACME", None, day=4, doc="meeting:m3"),
    candidate("a9", "Write the release notes", None, day=4, doc="meeting:m3", item_index=1),
    candidate("a10", "Book the offsite venue", "priya", day=9, doc="meeting:m4"),
    # Two candidates of one document at one moment: their order in the document decides.
    candidate("b1", "Plan the Q3 roadmap", "priya", day=10, doc="meeting:m5", item_index=0),
    candidate("b2", "Plan the Q3 roadmap", "priya", day=10, doc="meeting:m5", item_index=1, status="done"),
]


def test_results_do_not_depend_on_input_order() -> None:
    expected = track(list(CANDIDATES))
    for seed in range(20):
        shuffled = list(CANDIDATES)
        random.Random(seed).shuffle(shuffled)
        assert track(shuffled) == expected


def test_ids_are_stable_and_do_not_move_when_later_work_arrives() -> None:
    rows, events = track(list(CANDIDATES))
    assert len({r["action_item_id"] for r in rows}) == len(rows)
    assert len({e["event_id"] for e in events}) == len(events)
    assert all(r["action_item_id"].startswith("ai_") for r in rows)
    later = candidate("z1", "Renew the domain", "zoe", day=30, doc="meeting:m9")
    more_rows, more_events = track([*CANDIDATES, later])
    assert {r["action_item_id"] for r in rows} < {r["action_item_id"] for r in more_rows}
    assert {e["event_id"] for e in events} < {e["event_id"] for e in more_events}
    # The roadmap item was created and finished in one meeting, in that order.
    roadmap = by_task(rows)["Plan the Q3 roadmap"]
    assert roadmap["status"] == "done"
    assert events_of(events, roadmap["action_item_id"]) == [("created", "open"), ("status_changed", "done")]
