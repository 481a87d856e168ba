"""Ingest assets: inbox files → raw tables, ``ingest_errors`` and the ``people`` directory.

One asset per source. Each walks its inbox folder, skips files whose content hash is already
ingested, and replaces the rows of changed files in one transaction, streaming records in
batches so a 100k-message mbox never sits in memory. Bad files and records land in
``ingest_errors`` with file, position and reason; the rest of the batch goes on.
"""


import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetExecutionContext

from assistant_pipelines.ingest import rows as R
from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.mail import iter_mail, list_mail_sources
from assistant_pipelines.ingest.tickets import iter_tickets, list_ticket_files
from assistant_pipelines.ingest.transcripts import list_transcript_files, parse_transcript
from assistant_pipelines.people import PersonDirectory, load_directory
from assistant_pipelines.resources import TeamResource, WarehouseResource
from assistant_pipelines.warehouse import Warehouse

BATCH_ROWS = 2000
Rows = Iterator[tuple[str, dict[str, Any]] | IngestError]  # (table, row) or a bad record


@dataclass(frozen=True)
class SourceKind:
    """How one kind of inbox file is found, parsed and stored."""

    kind: str  # transcript | mail | ticket
    folder: str  # below the inbox
    list_sources: Callable[[Path], list[Path]]
    read: Callable[[Path, str, str, ZoneInfo], Rows]
    tables: dict[str, list[str]]  # table → columns, in delete order
    key: str = "document_id"
    # Whether another source may hold the same record (one e-mail in two mailboxes, one ticket
    # in two exports): then rows replace by key; otherwise the source's own rows, deleted
    # first, are all there is and a plain append is enough (and far cheaper).
    shared_keys: bool = True


def _read_transcript(path: Path, display: str, sha: str, tz: ZoneInfo) -> Rows:
    transcript = parse_transcript(path, display_path=display)
    row, utterances = R.transcript_rows(transcript, sha, tz, R.mtime_utc(path))
    yield "raw_transcripts", row
    for utterance in utterances:
        yield "raw_utterances", utterance


def _record_reader(parse: Callable[..., Any], table: str, to_row: Callable[..., dict[str, Any]]) -> Callable[..., Rows]:
    """A reader for sources with many records per file (mail, tickets): each parsed record
    becomes a row of ``table``; bad records pass through as the errors they are."""

    def read(path: Path, display: str, sha: str, tz: ZoneInfo) -> Rows:
        fallback = R.mtime_utc(path)
        for item in parse(path, display_path=display):
            yield item if isinstance(item, IngestError) else (table, to_row(item, sha, tz, fallback))

    return read


_read_mail = _record_reader(iter_mail, "raw_emails", R.email_row)
_read_tickets = _record_reader(iter_tickets, "raw_tickets", R.ticket_row)


TRANSCRIPTS = SourceKind("transcript", "transcripts", list_transcript_files, _read_transcript,
                         {"raw_utterances": R.UTTERANCE_COLUMNS, "raw_transcripts": R.TRANSCRIPT_COLUMNS},
                         shared_keys=False)  # a meeting's id is its file's path
MAIL = SourceKind("mail", "mail", list_mail_sources, _read_mail, {"raw_emails": R.EMAIL_COLUMNS})
TICKETS = SourceKind("ticket", "tickets", list_ticket_files, _read_tickets, {"raw_tickets": R.TICKET_COLUMNS})


@dataclass
class IngestSummary:
    sources_seen: int = 0
    sources_ingested: int = 0
    sources_unchanged: int = 0
    records: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "sources_seen": self.sources_seen,
            "sources_ingested": self.sources_ingested,
            "sources_unchanged": self.sources_unchanged,
            **{f"rows_{table}": n for table, n in sorted(self.records.items())},
            "ingest_errors": self.errors,
            "error_samples": dg.MetadataValue.md(
                "\n".join(f"- {e}" for e in self.error_samples) or "none"
            ),
        }


def _delete_source(wh: Warehouse, kind: SourceKind, display: str) -> None:
    """Remove what an earlier version of this source put in the warehouse."""
    like = display.rstrip("/") + "/%"
    if "raw_utterances" in kind.tables:
        wh.execute(
            "DELETE FROM raw_utterances WHERE document_id IN (SELECT document_id FROM raw_transcripts "
            "WHERE source_file = :source OR source_file LIKE :like)",
            {"source": display, "like": like},
        )
    for table in kind.tables:
        if table != "raw_utterances":
            wh.execute(f"DELETE FROM {table} WHERE source_file = :source OR source_file LIKE :like",
                       {"source": display, "like": like})
    wh.execute("DELETE FROM ingest_errors WHERE source_file = :source OR source_file LIKE :like",
               {"source": display, "like": like})


def ingest_source(
    wh: Warehouse, kind: SourceKind, path: Path, display: str, tz: ZoneInfo, summary: IngestSummary,
    *, force: bool = False,
) -> bool:
    """Ingest one file (or Maildir) if its content changed. Returns whether it was ingested."""
    try:
        sha, size = R.fingerprint(path)
    except OSError as exc:  # unreadable (permissions, vanished mid-scan): say so, go on
        error = IngestError(display, "file", f"cannot read the file: {exc.strerror or exc}")
        wh.replace_rows("ingest_errors", ["error_id"], R.ERROR_COLUMNS,
                        [R.error_row(error, kind.kind, None, datetime.now(UTC))])
        summary.errors += 1
        summary.error_samples.append(str(error))
        return False
    known = wh.query("SELECT file_sha256 FROM ingested_files WHERE source_file = :source", {"source": display})
    if known and known[0]["file_sha256"] == sha and not force:
        summary.sources_unchanged += 1
        return False
    now = datetime.now(UTC)
    batches: dict[str, list[dict[str, Any]]] = {table: [] for table in kind.tables}
    errors: list[dict[str, Any]] = []
    counts = {table: 0 for table in kind.tables}

    def flush(table: str) -> None:
        if batches[table]:
            if kind.shared_keys:
                wh.replace_rows(table, [kind.key], kind.tables[table], batches[table])
            else:
                wh.insert_rows(table, kind.tables[table], batches[table])
            counts[table] += len(batches[table])
            batches[table] = []

    def record_error(error: IngestError) -> None:
        errors.append(R.error_row(error, kind.kind, sha, now))
        if len(summary.error_samples) < 20:
            summary.error_samples.append(str(error))

    # Not one transaction per file: DuckDB holds every uncommitted row in memory, so a 100k
    # message mbox would cost ~500 MB (benchmarks/README.md). Each batch commits on its own;
    # the file counts as ingested only when its ingested_files row is written, last. A run that
    # dies half-way leaves no such row, so the next run deletes the partial rows and starts the
    # file over: idempotent, with memory flat in the size of the file.
    with wh.transaction():
        _delete_source(wh, kind, display)
        wh.execute("DELETE FROM ingested_files WHERE source_file = :source", {"source": display})
    try:
        for item in kind.read(path, display, sha, tz):
            if isinstance(item, IngestError):
                record_error(item)
                continue
            table, row = item
            batches[table].append(row)
            if len(batches[table]) >= BATCH_ROWS:
                with wh.transaction():  # parents first: utterances belong to their transcript
                    for name in reversed(list(kind.tables)):
                        flush(name)
    except IngestError as exc:
        record_error(exc)
    with wh.transaction():
        for name in reversed(list(kind.tables)):
            flush(name)
        wh.replace_rows("ingest_errors", ["error_id"], R.ERROR_COLUMNS, errors)
        wh.replace_rows(
            "ingested_files", ["source_file"],
            ["source_file", "kind", "file_sha256", "size_bytes", "records", "errors", "ingested_at"],
            [{"source_file": display, "kind": kind.kind, "file_sha256": sha, "size_bytes": size,
              "records": sum(counts.values()), "errors": len(errors), "ingested_at": now}],
        )
    for table, n in counts.items():
        summary.records[table] = summary.records.get(table, 0) + n
    summary.errors += len(errors)
    summary.sources_ingested += 1
    return True


def ingest_kind(wh: Warehouse, kind: SourceKind, inbox: Path, tz: ZoneInfo,
                log: Callable[[str], None] = lambda _: None) -> IngestSummary:
    """Every source of one kind below ``inbox/<kind.folder>``; paths are stored relative to the
    inbox so the warehouse stays valid when the inbox moves."""
    summary = IngestSummary()
    folder = inbox / kind.folder
    if not folder.is_dir():
        log(f"no {folder} folder: nothing to ingest for {kind.kind}")
        return summary
    for path in kind.list_sources(folder):
        summary.sources_seen += 1
        display = path.relative_to(inbox).as_posix()
        if ingest_source(wh, kind, path, display, tz, summary):
            log(f"ingested {display}")
    return summary


def _ingest_asset(kind: SourceKind, context: AssetExecutionContext, warehouse: WarehouseResource,
                  team: TeamResource) -> dg.MaterializeResult:
    with warehouse.open() as wh:
        summary = ingest_kind(wh, kind, team.inbox_path, team.tz, context.log.info)
    return dg.MaterializeResult(metadata=summary.metadata())


@dg.asset(group_name="ingest", kinds={"python", "duckdb"}, compute_kind=None)
def raw_transcripts(context: AssetExecutionContext, warehouse: WarehouseResource,
                    team: TeamResource) -> dg.MaterializeResult:
    """Meeting transcripts (WebVTT, SRT, text, JSON) from ``inbox/transcripts/``: one row per
    meeting in ``raw_transcripts`` and one per utterance, with its line number, in
    ``raw_utterances``. Unchanged files are skipped; bad files go to ``ingest_errors``."""
    return _ingest_asset(TRANSCRIPTS, context, warehouse, team)


@dg.asset(group_name="ingest", kinds={"python", "duckdb"})
def raw_emails(context: AssetExecutionContext, warehouse: WarehouseResource,
               team: TeamResource) -> dg.MaterializeResult:
    """E-mails from ``inbox/mail/`` (mbox, Maildir, .eml), one row per message, with the new
    text separated from quotes and signatures and the thread it belongs to."""
    return _ingest_asset(MAIL, context, warehouse, team)


@dg.asset(group_name="ingest", kinds={"python", "duckdb"})
def raw_tickets(context: AssetExecutionContext, warehouse: WarehouseResource,
                team: TeamResource) -> dg.MaterializeResult:
    """Tickets from ``inbox/tickets/`` (GitHub issues JSON, Jira JSON or CSV), normalised:
    state, assignee, reporter, labels, due date, timestamps and comments."""
    return _ingest_asset(TICKETS, context, warehouse, team)


PERSON_COLUMNS = ["person_id", "display_name", "emails", "aliases", "github_login", "jira_name", "origin"]


def build_directory(wh: Warehouse, people_file: Path | None) -> PersonDirectory:
    """The directory from ``people.yaml`` plus everyone the raw tables mention, in a fixed
    order so the same inputs always give the same person ids."""
    directory = load_directory(people_file)
    for row in wh.run_file("people_sightings"):
        directory.observe(row["name"], row["email"], kind=row["kind"])
    return directory


@dg.asset(group_name="ingest", deps=[raw_transcripts, raw_emails, raw_tickets], kinds={"python", "duckdb"})
def people(context: AssetExecutionContext, warehouse: WarehouseResource,
           team: TeamResource) -> dg.MaterializeResult:
    """One row per human across sources: seeded from ``people.yaml`` (if present), joined by
    e-mail address, name, GitHub login and Jira name, with every spelling in ``person_aliases``.
    Names that match no one are kept as people of their own (origin ``observed``)."""
    with warehouse.open() as wh:
        directory = build_directory(wh, team.people_file)
        rows = [
            {"person_id": p.person_id, "display_name": p.display_name,
             "emails": json.dumps(sorted(set(p.emails))), "aliases": json.dumps(p.aliases, ensure_ascii=False),
             "github_login": p.github_login, "jira_name": p.jira_name, "origin": p.origin}
            for p in directory.people.values()
        ]
        with wh.transaction():
            wh.execute("DELETE FROM people")
            wh.insert_rows("people", PERSON_COLUMNS, rows)
            wh.execute("DELETE FROM person_aliases")
            wh.insert_rows("person_aliases", ["alias_key", "alias", "person_id", "alias_kind"],
                           directory.alias_rows())
    observed = sum(1 for r in rows if r["origin"] == "observed")
    return dg.MaterializeResult(metadata={
        "people": len(rows),
        "from_directory": len(rows) - observed,
        "observed_only": observed,
        "people_file": str(team.people_file) if team.people_file.is_file() else "none",
        "preview": dg.MetadataValue.md(
            "\n".join(f"- {r['display_name']} (`{r['person_id']}`, {r['origin']})" for r in rows[:25])
        ),
    })
