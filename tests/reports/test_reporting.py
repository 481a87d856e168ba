"""The weekly report's data ("as of the end of the week", from items and their events) and the
Markdown, HTML and digest templates it is rendered with. Runs on DuckDB and Postgres."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant_pipelines.reporting import STALLED_AFTER_DAYS, WeekReport, build_week_report, render
from assistant_pipelines.tracking import EVENT_COLUMNS, ITEM_COLUMNS, track
from assistant_pipelines.warehouse import open_warehouse

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = date(2026, 10, 5)  # Monday
WEEK_END = datetime(2026, 10, 12, tzinfo=BERLIN)  # the next Monday, 00:00 local
NEXT_WEEK = date(2026, 10, 12)
NEXT_WEEK_END = datetime(2026, 10, 19, tzinfo=BERLIN)
LATER = datetime(2026, 11, 2, 8, tzinfo=BERLIN)  # when an old week is re-run

DOCUMENT_COLUMNS = ["document_id", "kind", "source_file", "title", "occurred_at", "week_start", "author_person_id",
                    "author", "participants", "thread_id", "url", "text", "content_hash"]
PERSON_COLUMNS = ["person_id", "display_name", "emails", "aliases", "github_login", "jira_name", "origin"]


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def doc(document_id: str, kind: str, title: str, when: datetime, source_file: str, url: str | None = None) -> dict:
    monday = when.date() - timedelta(days=when.weekday())
    return {"document_id": document_id, "kind": kind, "source_file": source_file, "title": title,
            "occurred_at": when, "week_start": monday, "author_person_id": None, "author": None,
            "participants": "[]", "thread_id": None, "url": url, "text": "…", "content_hash": "x"}


def cand(cid: str, task: str, owner: str | None, when: datetime, document_id: str, *, status: str = "open",
         due: date | None = None, origin: str = "llm", item_index: int = 0) -> dict:
    return {"candidate_id": cid, "document_id": document_id,
            "week_start": when.date() - timedelta(days=when.weekday()), "origin": origin, "chunk_index": 0,
            "item_index": item_index, "task": task, "owner_text": owner.title() if owner else None,
            "owner_person_id": owner, "due_date": due, "status": status, "priority": "normal", "confidence": 0.9,
            "evidence_text": f"said in {document_id}", "occurred_at": when, "model": "m", "prompt_version": "p",
            "input_hash": "h", "quarantine_reason": None}


TICKET_URL = "https://github.com/acme/web/issues/42"
DOCUMENTS = [
    doc("meeting:m0", "meeting", "Kick-off", at(date(2026, 9, 14)), "transcripts/2026-09-14 kick-off.vtt"),
    doc("meeting:m1", "meeting", "Launch sync", at(date(2026, 10, 6)), "transcripts/2026-10-06 launch sync.vtt"),
    doc("email:e1", "email", "Invoice | ACME", at(date(2026, 9, 28)), "mail/team.mbox"),
    doc("ticket:github:acme/web#42", "ticket", "acme/web#42: Pricing page", at(date(2026, 10, 7)),
        "tickets/issues.json", url=TICKET_URL),
    doc("ticket:github:acme/web#7", "ticket", "acme/web#7: bad link", at(date(2026, 10, 7)),
        "tickets/issues.json", url="javascript:alert(1)"),
]
CANDIDATES = [
    # Opened this week, due Friday, closed by its ticket next week.
    cand("a1", "Fix the pricing page", "marcus", at(date(2026, 10, 6)), "meeting:m1", due=date(2026, 10, 9)),
    cand("a2", "Fix the pricing page", "marcus", at(date(2026, 10, 7)), "ticket:github:acme/web#42", origin="ticket"),
    cand("a3", "Fix the pricing page", "marcus", at(date(2026, 10, 14)), "ticket:github:acme/web#42",
         origin="ticket", status="closed"),
    # Open since mid-September: stalled.
    cand("b1", "Book the offsite venue", "priya", at(date(2026, 9, 14)), "meeting:m0"),
    # Done in an earlier week: not news.
    cand("c1", "Send the invoice to ACME", "zoe", at(date(2026, 9, 28)), "email:e1"),
    cand("c2", "Send the invoice to ACME", "zoe", at(date(2026, 9, 30)), "email:e1", status="done"),
    # Unassigned, opened and done this week.
    cand("d1", "Write the release notes", None, at(date(2026, 10, 6), 11), "meeting:m1", item_index=1),
    cand("d2", "Write the release notes", None, at(date(2026, 10, 9)), "meeting:m1", status="done"),
    # Seen only after this week.
    cand("e1", "Renew the domain", "zoe", at(date(2026, 10, 13)), "meeting:m1"),
    # Due moved later in the next week: this week's report shows the due as it was then.
    cand("f1", "Draft the launch post", "priya", at(date(2026, 10, 6), 12), "meeting:m1",
         due=date(2026, 10, 20), item_index=2),
    cand("f2", "Draft the launch post", "priya", at(date(2026, 10, 14)), "meeting:m1", due=date(2026, 10, 13)),
    # Markup in a task must be escaped in HTML; a pipe must not break a Markdown table or list.
    cand("g1", "Check <script>alert('x')</script> | escape", "marcus", at(date(2026, 10, 7), 9),
         "ticket:github:acme/web#7", item_index=3),
]
PEOPLE = [
    {"person_id": "marcus", "display_name": "Marcus Feld", "emails": json.dumps(["marcus@example.com"]),
     "aliases": "[]", "github_login": None, "jira_name": None, "origin": "directory"},
    {"person_id": "priya", "display_name": "Priya Nair", "emails": json.dumps(["priya@example.com"]),
     "aliases": "[]", "github_login": None, "jira_name": None, "origin": "directory"},
    {"person_id": "zoe", "display_name": "Zoë Lindqvist", "emails": "[]", "aliases": "[]", "github_login": None,
     "jira_name": None, "origin": "directory"},
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def load(url: str, candidates: list[dict] = CANDIDATES, *, tamper=None) -> None:
    items, events = track(candidates)
    if tamper:
        tamper(items, events)
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        wh.insert_rows("documents", DOCUMENT_COLUMNS, DOCUMENTS)
        wh.insert_rows("people", PERSON_COLUMNS, PEOPLE)
        wh.insert_rows("action_items", ITEM_COLUMNS, items)
        wh.insert_rows("action_item_events", EVENT_COLUMNS, events)


def report(url: str, home: Path, monday: date = WEEK, week_end: datetime = WEEK_END,
           now: datetime = LATER) -> WeekReport:
    with open_warehouse(url) as wh:
        return build_week_report(wh, monday, week_end, inbox=home / "inbox", reports_dir=home / "reports", now=now)


def items_of(r: WeekReport) -> dict[str, tuple[str, object]]:
    found = {}
    for section in r.owners:
        for kind in ("open", "done"):
            for item in getattr(section, kind):
                found[item.task] = (section.owner, item)
    return found


def test_the_report_says_what_was_true_at_the_end_of_the_week(warehouse_url: str, home: Path) -> None:
    load(warehouse_url)
    r = report(warehouse_url, home)
    assert (r.week_start, r.week_end, r.generated_at) == (WEEK, date(2026, 10, 11), LATER)
    assert r.title == "Weekly status, week of 05 Oct 2026"
    found = items_of(r)
    assert set(found) == {"Fix the pricing page", "Book the offsite venue", "Write the release notes",
                          "Draft the launch post", "Check <script>alert('x')</script> | escape"}
    owner, pricing = found["Fix the pricing page"]
    # Closed next week, so open (and overdue: due Friday) in this week's report.
    assert (owner, pricing.status, pricing.overdue, pricing.new_this_week, pricing.stalled) == (
        "Marcus Feld", "open", True, True, False)
    assert pricing.due_date == date(2026, 10, 9)
    assert pricing.ticket_key == "acme/web#42" and pricing.mentions == 3
    _, venue = found["Book the offsite venue"]
    assert (venue.stalled, venue.new_this_week, venue.overdue) == (True, False, False)
    assert venue.age_days >= STALLED_AFTER_DAYS
    owner, notes = found["Write the release notes"]
    assert (owner, notes.status, notes.done_this_week) == ("Unassigned", "done", True)
    _, post = found["Draft the launch post"]
    assert (post.due_date, post.overdue) == (date(2026, 10, 20), False)  # the due as it was then
    assert [s.owner for s in r.owners] == ["Marcus Feld", "Priya Nair", "Unassigned"]
    assert r.count("new") == 4 and r.count("done") == 1 and r.count("open") == 4 and r.count("overdue") == 1
    assert r.document_counts == {"meeting": 1, "ticket": 2}  # documents of this week only
    marcus = r.owners[0]
    assert marcus.emails == ["marcus@example.com"] and marcus.person_id == "marcus"


def test_the_next_week_shows_the_close_and_the_new_due(warehouse_url: str, home: Path) -> None:
    load(warehouse_url)
    r = report(warehouse_url, home, NEXT_WEEK, NEXT_WEEK_END)
    found = items_of(r)
    _, pricing = found["Fix the pricing page"]
    assert (pricing.status, pricing.done_this_week, pricing.new_this_week) == ("closed", True, False)
    _, post = found["Draft the launch post"]
    assert (post.due_date, post.overdue) == (date(2026, 10, 13), True)
    assert "Write the release notes" not in found  # done the week before
    assert found["Renew the domain"][1].new_this_week


def test_the_week_in_progress_is_judged_as_of_now(warehouse_url: str, home: Path) -> None:
    load(warehouse_url)
    tuesday = datetime(2026, 10, 13, 9, tzinfo=BERLIN)
    r = report(warehouse_url, home, NEXT_WEEK, NEXT_WEEK_END, now=tuesday)
    _, post = items_of(r)["Draft the launch post"]
    assert post.due_date == date(2026, 10, 13)
    assert not post.overdue  # due today: not overdue yet
    assert post.age_days == 6  # counted to now, not to the week's end
    _, venue = items_of(r)["Book the offsite venue"]
    assert venue.age_days == 28 and venue.stalled


def test_created_and_finished_at_one_moment_is_finished(warehouse_url: str, home: Path) -> None:
    """Events sharing a timestamp are replayed 'created' first, whatever their ids sort as."""
    when = at(date(2026, 10, 8))
    candidates = [cand("r1", "Plan the roadmap", "priya", when, "meeting:m1", item_index=5),
                  cand("r2", "Plan the roadmap", "priya", when, "meeting:m1", item_index=6, status="done")]

    def adversarial_ids(items: list[dict], events: list[dict]) -> None:
        for event in events:
            event["event_id"] = ("zz-" if event["event"] == "created" else "aa-") + event["event_id"]

    load(warehouse_url, candidates, tamper=adversarial_ids)
    (section,) = report(warehouse_url, home).owners
    assert [i.task for i in section.done] == ["Plan the roadmap"] and section.open == []


def test_links_are_relative_to_the_reports_folder_or_the_ticket_url(warehouse_url: str, home: Path) -> None:
    load(warehouse_url)
    found = items_of(report(warehouse_url, home))
    assert found["Fix the pricing page"][1].source_link == "../inbox/transcripts/2026-10-06%20launch%20sync.vtt"
    assert found["Book the offsite venue"][1].source_title == "Kick-off"
    assert found["Book the offsite venue"][1].source_date == "Mon 14 Sep"
    # A ticket's own page where it has one; never a javascript: URL.
    assert found["Check <script>alert('x')</script> | escape"][1].source_link == "../inbox/tickets/issues.json"
    target = (home / "reports" / found["Fix the pricing page"][1].source_link.replace("%20", " ")).resolve()
    assert target == (home / "inbox" / "transcripts" / "2026-10-06 launch sync.vtt").resolve()


def test_a_ticket_url_is_the_link(warehouse_url: str, home: Path) -> None:
    candidates = [cand("t1", "Fix the pricing page", "marcus", at(date(2026, 10, 7)), "ticket:github:acme/web#42",
                       origin="ticket")]
    load(warehouse_url, candidates)
    (section,) = report(warehouse_url, home).owners
    assert section.open[0].source_link == TICKET_URL


def test_an_empty_week(warehouse_url: str, home: Path) -> None:
    load(warehouse_url, [])
    r = report(warehouse_url, home)
    assert r.owners == [] and r.count("open") == 0
    assert "No action items were open or finished this week." in render("weekly_status_report.md.j2", report=r)
    assert "No action items were open or finished this week." in render("weekly_status_report.html.j2", report=r)


# -- templates ----------------------------------------------------------------------------
@pytest.fixture
def week_report(tmp_path: Path) -> WeekReport:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    load(url)
    return report(url, tmp_path / "home")


def test_markdown_report(week_report: WeekReport) -> None:
    md = render("weekly_status_report.md.j2", report=week_report)
    assert md.startswith("# Weekly status, week of 05 Oct 2026\n")
    assert "| 4 | 1 | 4 | 1 |" in md  # new, done, open, overdue
    assert md.index("## Marcus Feld") < md.index("## Priya Nair") < md.index("## Unassigned")
    assert ("- ⚠ Fix the pricing page — due 2026-10-09 · "
            "[Launch sync](../inbox/transcripts/2026-10-06%20launch%20sync.vtt)") in md
    assert "Book the offsite venue — stalled, open 3 weeks" in md  # 27 days
    assert "- ✔ Write the release notes" in md
    assert "🆕 Draft the launch post — due 2026-10-20" in md
    # source text is data: the pipe escaped for Markdown tables, no raw HTML passed through
    assert "Check &lt;script&gt;alert('x')&lt;/script&gt; \\| escape" in md
    assert "<script>" not in md


def test_html_report_escapes_markup(week_report: WeekReport) -> None:
    html = render("weekly_status_report.html.j2", report=week_report)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert '<a href="../inbox/transcripts/2026-10-06%20launch%20sync.vtt">Launch sync</a>' in html
    assert "javascript:" not in html
    assert '<li class="overdue">⚠ <strong>Fix the pricing page</strong> — overdue since 2026-10-09' in html
    assert html.count("<h2>") == 3


def test_person_digest(week_report: WeekReport) -> None:
    marcus = week_report.owners[0]
    text = render("person_digest.txt.j2", report=week_report, section=marcus)
    assert text.startswith("Hello Marcus Feld,")
    assert "OVERDUE\n  * Fix the pricing page (due 2026-10-09) — from Launch sync" in text
    assert "<script>" in text  # plain text: nothing to escape

