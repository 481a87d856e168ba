"""What a week looked like: the data behind the weekly status report and the digests.

Everything is computed "as of the end of the week" from the items and their event history,
so the report for an old week, re-run today, says what was true then: an item done in a later
week still shows as open in the earlier report.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2

from assistant_pipelines.warehouse import Warehouse

STALLED_AFTER_DAYS = 14


@dataclass
class ReportItem:
    action_item_id: str
    task: str
    owner: str | None
    owner_person_id: str | None
    status: str  # as of the week's end
    due_date: date | None
    overdue: bool
    stalled: bool
    new_this_week: bool
    done_this_week: bool
    age_days: int
    mentions: int
    ticket_key: str | None
    evidence: str | None
    source_title: str | None
    source_kind: str | None
    source_link: str | None
    source_date: str | None


@dataclass
class OwnerSection:
    owner: str
    person_id: str | None
    emails: list[str]
    new: list[ReportItem] = field(default_factory=list)
    done: list[ReportItem] = field(default_factory=list)
    open: list[ReportItem] = field(default_factory=list)

    @property
    def overdue(self) -> list[ReportItem]:
        return [i for i in self.open if i.overdue]


@dataclass
class WeekReport:
    week_start: date
    week_end: date  # the Sunday
    generated_at: datetime
    document_counts: dict[str, int]
    owners: list[OwnerSection]

    def count(self, attr: str) -> int:
        return sum(len(getattr(o, attr)) for o in self.owners)

    @property
    def title(self) -> str:
        return f"Weekly status, week of {self.week_start:%d %b %Y}"


def _link(row: dict[str, Any], inbox: Path, reports_dir: Path) -> str | None:
    """The ticket's web page, else the source file relative to the reports folder (so the
    link works wherever the home folder is copied), percent-encoded for Markdown and HTML."""
    url = row.get("source_url")
    if url and urlsplit(url).scheme in {"http", "https"}:  # never a javascript: link
        return url
    if not row.get("source_file"):
        return None
    relative = os.path.relpath(inbox / row["source_file"], reports_dir).replace(os.sep, "/")
    return quote(relative, safe="/")


def _status_at_end(events: list[dict[str, Any]]) -> tuple[str, date | None, datetime | None]:
    """(status, due date, when the status last changed) after the given events.

    Events of one candidate, or of one document, share a timestamp; the fold wrote them
    'created' first, so that order is restored (the table's own order is by event id)."""
    status, due, changed_at = "open", None, None
    for event in sorted(events, key=lambda e: (e["occurred_at"], e["event"] != "created")):
        if event["event"] in {"created", "status_changed"}:
            if event["status"] != status or event["event"] == "created":
                changed_at = event["occurred_at"]
            status = event["status"]
        if event["due_date"] is not None:
            due = event["due_date"]
    return status, due, changed_at


def build_week_report(wh: Warehouse, monday: date, week_end: datetime, *, inbox: Path,
                      reports_dir: Path, now: datetime) -> WeekReport:
    """The week starting ``monday`` as it stood at ``week_end`` (the next Monday 00:00, aware,
    in the team's zone), or at ``now`` for the week in progress: each item's status and due
    date replayed from its events up to then; items finished in an earlier week left out;
    overdue (open, due before that day), stalled (open :data:`STALLED_AFTER_DAYS` days or
    more), new (first seen this week), done this week. Sections by owner, unassigned last."""
    events_by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in wh.run_file("report_events", {"week_end": week_end}):
        events_by_item[event["action_item_id"]].append(event)
    sections: dict[str, OwnerSection] = {}
    week_start_dt = week_end - timedelta(days=7)
    last_day = monday + timedelta(days=6)
    as_of = min(week_end, now)  # the week in progress is judged as of now
    for row in wh.run_file("report_items", {"week_end": week_end}):
        status, due, changed_at = _status_at_end(events_by_item[row["action_item_id"]])
        done_this_week = status != "open" and changed_at is not None and changed_at >= week_start_dt
        if status != "open" and not done_this_week:
            continue  # finished before this week: not news any more
        age = (as_of - row["first_seen_at"]).days
        item = ReportItem(
            action_item_id=row["action_item_id"], task=row["task"], owner=row["owner"],
            owner_person_id=row["owner_person_id"], status=status, due_date=due,
            overdue=status == "open" and due is not None and due < as_of.astimezone(week_end.tzinfo).date(),
            stalled=status == "open" and age >= STALLED_AFTER_DAYS,
            new_this_week=row["first_seen_week"] == monday, done_this_week=done_this_week,
            age_days=age, mentions=row["mentions"], ticket_key=row["ticket_key"], evidence=row["evidence"],
            source_title=row["source_title"], source_kind=row["source_kind"],
            source_link=_link(row, inbox, reports_dir),
            source_date=(row["source_occurred_at"].astimezone(week_end.tzinfo).strftime("%a %d %b")
                         if row["source_occurred_at"] else None),
        )
        key = row["owner_person_id"] or (row["owner"] or "").lower() or "~unassigned"
        if key not in sections:
            emails = json.loads(row["owner_emails"]) if row["owner_emails"] else []
            sections[key] = OwnerSection(owner=row["owner"] or "Unassigned", person_id=row["owner_person_id"],
                                         emails=emails)
        section = sections[key]
        if item.done_this_week:
            section.done.append(item)
        else:
            section.open.append(item)
        if item.new_this_week:
            section.new.append(item)
    owners = sorted(sections.values(), key=lambda s: (s.owner == "Unassigned", s.owner.lower()))
    counts = {r["kind"]: r["n"] for r in wh.run_file("week_document_counts", {"week": monday})}
    return WeekReport(monday, last_day, now, counts, owners)


@cache
def _templates(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("assistant_pipelines", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Source text is data: no table breaks, no line breaks, no raw HTML in the Markdown.
    env.filters["md"] = lambda text: (str(text).replace("|", "\\|").replace("\n", " ")
                                      .replace("<", "&lt;").replace(">", "&gt;"))
    return env


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>``; HTML templates are auto-escaped, text ones are not."""
    return _templates(template.endswith(".html.j2")).get_template(template).render(**context)
