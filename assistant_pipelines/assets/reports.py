"""Report assets: the weekly status report and the per-person digests.

The report is rendered from the tables (jinja2 → Markdown and HTML), stored in ``reports`` and
written under ``$ASSISTANT_HOME/reports/``. Digests go through the ``mailer``; each has an
idempotency key in ``outbound_messages`` so re-running a week never sends a digest twice.
"""


from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext

from assistant_pipelines.partitions import week_window
from assistant_pipelines.people import reply_address
from assistant_pipelines.reporting import WeekReport, build_week_report, render
from assistant_pipelines.resources import MailerResource, TeamResource, WarehouseResource
from assistant_pipelines.resources.mailer import MailerError

REPORT_COLUMNS = ["report_id", "kind", "week_start", "title", "markdown", "html", "markdown_path", "html_path",
                  "new_items", "open_items", "overdue_items", "done_items", "generated_at"]
OUTBOUND_COLUMNS = ["idempotency_key", "kind", "week_start", "recipient_person_id", "recipient_email", "subject",
                    "body_text", "body_html", "status", "transport", "attempts", "last_error", "created_at",
                    "sent_at"]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _report_for_week(context: AssetExecutionContext, warehouse: WarehouseResource,
                     team: TeamResource) -> WeekReport:
    monday, _, end = week_window(context)
    with warehouse.open() as wh:
        return build_week_report(wh, monday, end, inbox=team.inbox_path, reports_dir=team.reports_dir,
                                 now=datetime.now(team.tz))


def build_report_assets(weeks: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name="weekly_status_report",
        group_name="reports",
        partitions_def=weeks,
        deps=["action_items"],
        kinds={"jinja", "markdown", "html"},
    )
    def weekly_status_report(context: AssetExecutionContext, warehouse: WarehouseResource,
                             team: TeamResource) -> dg.MaterializeResult:
        """The week's status report by owner: new, open, overdue, stalled and finished action
        items, each linked to the meeting, e-mail or ticket it came from. Markdown and HTML,
        in ``reports`` and ``$ASSISTANT_HOME/reports/weekly-status-<week>.{md,html}``."""
        report = _report_for_week(context, warehouse, team)
        markdown = render("weekly_status_report.md.j2", report=report)
        html = render("weekly_status_report.html.j2", report=report)
        stem = team.reports_dir / f"weekly-status-{report.week_start.isoformat()}"
        md_path, html_path = stem.with_suffix(".md"), stem.with_suffix(".html")
        _write_atomically(md_path, markdown)
        _write_atomically(html_path, html)
        row = {
            "report_id": f"weekly_status:{report.week_start.isoformat()}", "kind": "weekly_status",
            "week_start": report.week_start, "title": report.title, "markdown": markdown, "html": html,
            "markdown_path": str(md_path), "html_path": str(html_path), "new_items": report.count("new"),
            "open_items": report.count("open"), "overdue_items": report.count("overdue"),
            "done_items": report.count("done"), "generated_at": datetime.now(UTC),
        }
        with warehouse.open() as wh:
            wh.replace_rows("reports", ["report_id"], REPORT_COLUMNS, [row])
        return dg.MaterializeResult(metadata={
            "week": report.week_start.isoformat(),
            "markdown_path": dg.MetadataValue.path(str(md_path)),
            "html_path": dg.MetadataValue.path(str(html_path)),
            "new": row["new_items"], "open": row["open_items"], "overdue": row["overdue_items"],
            "done": row["done_items"], "owners": len(report.owners),
            "report": dg.MetadataValue.md(markdown[:20000]),
        })

    @dg.asset(
        name="person_digests",
        group_name="reports",
        partitions_def=weeks,
        deps=["action_items"],
        kinds={"email"},
    )
    def person_digests(context: AssetExecutionContext, warehouse: WarehouseResource,
                       team: TeamResource, mailer: MailerResource) -> dg.MaterializeResult:
        """One e-mail per person with open, overdue or finished items that week, sent over SMTP
        or written to the outbox. ``outbound_messages`` holds one row per (week, person): a
        digest already sent or written is never sent again; a failed one is retried."""
        report = _report_for_week(context, warehouse, team)
        week = report.week_start.isoformat()
        counts = {"sent": 0, "written": 0, "already_sent": 0, "skipped": 0, "failed": 0}
        failures: list[str] = []
        with warehouse.open() as wh:
            for section in report.owners:
                if section.person_id is None or not (section.open or section.done):
                    continue
                key = f"digest:{week}:{section.person_id}"
                previous = wh.run_file("outbound_get", {"key": key})
                if previous and previous[0]["status"] in {"sent", "written"}:
                    counts["already_sent"] += 1
                    continue
                attempts = (previous[0]["attempts"] if previous else 0) + 1
                subject = f"Your action items, week of {report.week_start:%d %b %Y}"
                body = render("person_digest.txt.j2", report=report, section=section)
                address = reply_address(section.emails)
                row = {"idempotency_key": key, "kind": "digest", "week_start": report.week_start,
                       "recipient_person_id": section.person_id,
                       "recipient_email": address or (section.emails[0] if section.emails else None),
                       "subject": subject, "body_text": body, "body_html": None, "attempts": attempts,
                       "created_at": datetime.now(UTC), "sent_at": None, "last_error": None,
                       "transport": mailer.transport}
                if not section.emails:
                    row.update(status="skipped", last_error="no e-mail address known for this person")
                    counts["skipped"] += 1
                elif address is None:
                    row.update(status="skipped", last_error="only a no-reply address is known for this person")
                    counts["skipped"] += 1
                else:
                    message = EmailMessage()
                    message["To"] = address
                    message["Subject"] = subject
                    message.set_content(body)
                    # Record the attempt before sending: a crash between send and commit leaves a
                    # 'pending' row, retried with the same Message-ID so mail clients drop the copy.
                    wh.replace_rows("outbound_messages", ["idempotency_key"], OUTBOUND_COLUMNS,
                                    [{**row, "status": "pending"}])
                    try:
                        transport = mailer.send(message, key)
                        row.update(status="sent" if transport == "smtp" else "written",
                                   sent_at=datetime.now(UTC))
                        counts["sent" if transport == "smtp" else "written"] += 1
                    except MailerError as exc:
                        row.update(status="failed", last_error=str(exc))
                        counts["failed"] += 1
                        failures.append(f"{section.owner}: {exc}")
                wh.replace_rows("outbound_messages", ["idempotency_key"], OUTBOUND_COLUMNS, [row])
        if failures:
            context.log.warning("digests not delivered (retried next run): " + "; ".join(failures))
        return dg.MaterializeResult(metadata={
            "week": week, "transport": mailer.transport, **counts,
            "failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures) or "none"),
        })

    return [weekly_status_report, person_digests]
