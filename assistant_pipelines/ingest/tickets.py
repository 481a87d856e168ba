"""Ticket exports → :class:`~assistant_pipelines.ingest.records.Ticket`.

This module owns reading tracker exports from the inbox's ``tickets/`` folder:

- GitHub: the REST issues JSON (a list as ``GET /repos/{o}/{r}/issues`` returns it, one issue
  object, or the search API's ``{"total_count", "items": [...]}``), ``gh issue list --json``
  output (camelCase, upper-case states, ``author: {login}``), flattened exports where people are
  plain strings, and ``gh api --paginate`` output (several JSON arrays one after another).
- Jira: REST search JSON (``{"issues": [...]}``, v3's ``{"values": [...]}`` or one issue), with
  descriptions and comments either as text (v2) or Atlassian Document Format (v3).
- Jira CSV export, whose header repeats column names (``Labels``, ``Comment``).

``.csv`` files are Jira CSV; ``.json`` / ``.jsonl`` files are told apart record by record by
shape. A record that cannot be read is yielded as an :class:`IngestError` and the rest of the
file goes on; a file that cannot be read at all raises one. Nothing else escapes.

Timestamps with a zone (``Z``, ``+0000``) become UTC-aware datetimes; timestamps without one
stay naive (the ingest assets localise them). A date that cannot be parsed becomes ``None``: a
ticket is never dropped for its dates.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import charset_normalizer

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.records import Ticket, TicketComment

TICKET_SUFFIXES = frozenset({".json", ".jsonl", ".csv"})

# Project keys are letters, digits and underscores starting with a letter; Jira Cloud also lets
# admins use lower case, so match case-insensitively.
_JIRA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")

# Jira's statusCategory.key → our normalised state.
_JIRA_CATEGORY_STATE = {"new": "open", "indeterminate": "in_progress", "done": "done"}
# Names of Jira's status categories as the CSV export's "Status Category" column spells them.
_JIRA_CATEGORY_NAME_STATE = {
    "to do": "open",
    "in progress": "in_progress",
    "done": "done",
    **_JIRA_CATEGORY_STATE,
}

# Status names seen in Jira workflows (default and common custom ones), lower case.
_STATUS_NAME_STATE = {
    "to do": "open",
    "todo": "open",
    "open": "open",
    "new": "open",
    "backlog": "open",
    "selected for development": "open",
    "reopened": "open",
    "in progress": "in_progress",
    "in review": "in_progress",
    "in development": "in_progress",
    "code review": "in_progress",
    "review": "in_progress",
    "in qa": "in_progress",
    "in testing": "in_progress",
    "testing": "in_progress",
    "blocked": "in_progress",
    "done": "done",
    "resolved": "done",
    "closed": "done",
    "complete": "done",
    "completed": "done",
    "fixed": "done",
    "won't do": "closed",
    "won't fix": "closed",
    "wont do": "closed",
    "wont fix": "closed",
    "cancelled": "closed",
    "canceled": "closed",
    "rejected": "closed",
    "declined": "closed",
    "duplicate": "closed",
    "obsolete": "closed",
}

# Resolutions that mean "finished without doing it": a done-category ticket with one of these is
# "closed", like a GitHub issue closed as not planned.
_NOT_DONE_RESOLUTIONS = frozenset(
    {
        "won't do",
        "won't fix",
        "wont do",
        "wont fix",
        "duplicate",
        "cannot reproduce",
        "incomplete",
        "declined",
        "rejected",
        "cancelled",
        "canceled",
        "obsolete",
        "not a bug",
    }
)

# GitHub's state_reason (REST: lower case; gh CLI: upper case) for closed issues.
_GITHUB_CLOSED_REASON_STATE = {
    "completed": "done",
    "not_planned": "closed",
    "duplicate": "closed",
}

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?)?"
# 15/Jan/24 10:30 AM, 15-Jan-2024 10:30, 15 Jan 2024 (Jira's default and localised variants).
_DAY_MONTHNAME_YEAR = re.compile(
    r"^(\d{1,2})[/\- .]([A-Za-z]{3,9})\.?[/\- .](\d{4}|\d{2})" + _TIME + r"$"
)
# 2024-01-15 10:30, 2024/1/5 9:30 PM.
_YEAR_MONTH_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + r"$")
# 15/01/2024 10:30 (day first unless that is impossible), 01/15/24.
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})" + _TIME + r"$")

# A Jira description can be far longer than the csv module's default 128 KiB cell limit.
_CSV_FIELD_LIMIT = 64 * 1024 * 1024

# How deep an Atlassian Document Format tree is followed; real documents nest a few levels.
_ADF_MAX_DEPTH = 64


class _RecordError(Exception):
    """One record is unusable; turned into a yielded IngestError with the record's position."""


# --------------------------------------------------------------------------------------------
# Public API


def list_ticket_files(folder: Path) -> list[Path]:
    """Ticket exports (``.json``, ``.jsonl``, ``.csv``) anywhere below ``folder``, sorted.

    Hidden files and anything inside hidden folders are skipped (editors and sync tools keep
    their own files there). A folder that does not exist has no files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in TICKET_SUFFIXES and path.is_file():
            found.append(path)
    return sorted(found)


def iter_tickets(path: Path, *, display_path: str | None = None) -> Iterator[Ticket | IngestError]:
    """Read one ticket export: yield a Ticket per record, or an IngestError for a bad record.

    ``display_path`` is the name used in records and errors (e.g. the path relative to the
    inbox); it defaults to ``str(path)``. Raises IngestError when the file cannot be read at
    all: unreadable, empty, binary, not JSON, a JSON shape that holds no issues, or a CSV
    without the ``Summary`` and ``Issue key`` columns. This is a generator: the file is read,
    and a file-level error raised, on the first ``next()``.
    """
    path = Path(path)
    source = display_path if display_path is not None else str(path)
    text = _read_text(path, source)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _iter_jira_csv(text, source)
    elif suffix == ".jsonl":
        records = _iter_json_lines(text, source)
    else:
        records = _iter_json_document(text, source)
    yield from records


# --------------------------------------------------------------------------------------------
# Reading the file


def _read_text(path: Path, source: str) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16/32 with BOM, else detected."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(source, "file", f"cannot read the file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise IngestError(source, "file", "the file is empty: expected a ticket export")
    # UTF-16/32 text (Excel's "Unicode text") is full of NUL bytes but is not binary.
    for bom, encoding in (
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _without_bom(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise IngestError(
                    source, "file", f"the file starts with a {encoding} mark but is not {encoding}"
                ) from exc
    if b"\x00" in data:
        raise IngestError(
            source, "file", "this is a binary file (it contains NUL bytes), not a ticket export"
        )
    try:
        return _without_bom(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    return _without_bom(_decode_legacy(data, source))


def _decode_legacy(data: bytes, source: str) -> str:
    """Text in a legacy encoding, as charset_normalizer detects it.

    Exports are mostly ASCII with a few accented names, where detection is weak: French in
    cp1252 can score as well as Baltic cp1257 (ô → ō). Windows-1252, what Excel writes in
    Western Europe and the Americas, wins when it reads the text (almost) as cleanly as the best
    guess; a clearly better guess (Cyrillic, Greek, Polish, Turkish) still wins.
    """
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    if best is None:
        raise IngestError(
            source, "file", "the file is not text in UTF-8 or any encoding that could be detected"
        )
    for match in results:
        if (
            "cp1252" in match.could_be_from_charset
            and match.chaos <= best.chaos + 0.05
            and match.coherence >= best.coherence - 0.05
        ):
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                break  # bytes cp1252 leaves undefined (0x81, 0x8d, ...): trust the detector
    return str(best)


def _without_bom(text: str) -> str:
    return text.removeprefix("\ufeff")


# --------------------------------------------------------------------------------------------
# JSON and JSON lines


def _iter_json_document(text: str, source: str) -> Iterator[Ticket | IngestError]:
    values = _load_json_values(text, source)
    records: list[Any] = []
    for value in values:
        records.extend(_records_in(value, source))
    yield from _parse_records(enumerate(records, start=1), source)


def _load_json_values(text: str, source: str) -> list[Any]:
    """One JSON value, or several one after another (``gh api --paginate`` writes one array per
    page; some tools write JSON lines into a ``.json`` file)."""
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise _json_file_error(source, exc) from exc
    except (ValueError, RecursionError) as exc:
        raise IngestError(source, "file", f"cannot read the JSON: {exc}") from exc
    decoder = json.JSONDecoder()
    values = []
    position = 0
    end = len(text)
    while True:
        while position < end and text[position] in " \t\r\n":
            position += 1
        if position >= end:
            return values
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise _json_file_error(source, exc) from exc
        except (ValueError, RecursionError) as exc:
            raise IngestError(source, "file", f"cannot read the JSON: {exc}") from exc
        values.append(value)


def _json_file_error(source: str, exc: json.JSONDecodeError) -> IngestError:
    return IngestError(
        source,
        f"line {exc.lineno}, column {exc.colno}",
        f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
    )


def _records_in(value: Any, source: str) -> list[Any]:
    """The issue records a top-level JSON value holds, or a file-level IngestError."""
    if isinstance(value, list):
        # Pages collected into one list (``gh api --paginate --slurp``, a script that saved
        # each Jira search response): every element is a page, not an issue.
        if value and all(isinstance(page, list) or _is_page(page) for page in value):
            return [record for page in value for record in _records_in(page, source)]
        return value
    if not isinstance(value, dict):
        raise IngestError(
            source,
            "file",
            f"expected a list of issues or an object holding them, found {_json_type(value)}",
        )
    for wrapper in _PAGE_WRAPPERS:
        if wrapper in value:
            inner = value[wrapper]
            if isinstance(inner, list):
                return inner
            raise IngestError(
                source,
                "file",
                f'expected "{wrapper}" to be a list of issues, found {_json_type(inner)}',
            )
    if _tracker_of(value) is not None:
        return [value]
    # A saved API error instead of data is a common mistake; say so plainly.
    if isinstance(value.get("errorMessages"), list) or isinstance(value.get("errors"), dict):
        messages = [str(m) for m in value.get("errorMessages") or []]
        messages += [f"{k}: {v}" for k, v in (value.get("errors") or {}).items()]
        detail = "; ".join(messages) or "no message"
        raise IngestError(source, "file", f"this is a Jira error response, not issues: {detail}")
    if isinstance(value.get("message"), str) and "documentation_url" in value:
        raise IngestError(
            source, "file", f"this is a GitHub API error response, not issues: {value['message']}"
        )
    keys = ", ".join(sorted(str(k) for k in value)[:8]) or "none"
    raise IngestError(
        source,
        "file",
        'expected a list of issues, a Jira search result {"issues": [...]}, a GitHub search '
        'result {"items": [...]} or one issue object; found an object with keys: ' + keys,
    )


# Jira search (v2/v3 "issues"; the paged v3 shape "values"), GitHub search ("items").
_PAGE_WRAPPERS = ("issues", "values", "items")


def _is_page(value: Any) -> bool:
    return isinstance(value, dict) and any(
        isinstance(value.get(wrapper), list) for wrapper in _PAGE_WRAPPERS
    )


def _iter_json_lines(text: str, source: str) -> Iterator[Ticket | IngestError]:
    """One issue object per line; a record's number is its line number.

    A file that is one JSON value as a whole (a single line, or pretty-printed JSON saved as
    ``.jsonl``) is read like a ``.json`` file.
    """
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        pass  # the usual case: several values, one per line
    else:
        yield from _parse_records(enumerate(_records_in(whole, source), start=1), source)
        return
    numbered: list[tuple[int, Any]] = []
    # Split on "\n" only: str.splitlines() would also split inside JSON strings holding U+2028.
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            numbered.append((line_no, json.loads(line)))
        except json.JSONDecodeError as exc:
            numbered.append(
                (line_no, _RecordError(f"not valid JSON: {exc.msg} (column {exc.colno})"))
            )
        except (ValueError, RecursionError) as exc:
            numbered.append((line_no, _RecordError(f"cannot read the JSON: {exc}")))
    if not numbered:
        raise IngestError(source, "file", "the file has no JSON lines: expected one issue per line")
    if all(isinstance(value, _RecordError) for _, value in numbered):
        line_no, first = numbered[0]
        raise IngestError(
            source,
            f"line {line_no}",
            f"no line of this file is JSON (expected one issue object per line); "
            f"line {line_no}: {first}",
        )
    yield from _parse_records(numbered, source)


def _parse_records(
    numbered: Iterable[tuple[int, Any]], source: str
) -> Iterator[Ticket | IngestError]:
    for number, record in numbered:
        position = f"record {number}"
        item: Ticket | IngestError
        try:
            if isinstance(record, _RecordError):
                raise record
            item = _parse_record(record, source, position)
        except _RecordError as exc:
            item = IngestError(source, position, str(exc))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # Safety net: a shape nobody foresaw must cost one record, not the file.
            item = IngestError(
                source, position, f"unexpected {type(exc).__name__} reading this issue: {exc}"
            )
        yield item


def _parse_record(record: Any, source: str, position: str) -> Ticket:
    if not isinstance(record, dict):
        raise _RecordError(f"expected an issue object, found {_json_type(record)}")
    tracker = _tracker_of(record)
    if tracker == "jira":
        return _jira_ticket(record, source, position)
    if tracker == "github":
        return _github_ticket(record, source, position)
    raise _RecordError(
        'neither a GitHub issue ("number" and "title") nor a Jira issue ("key" like ABC-12 '
        'and "fields")'
    )


def _tracker_of(record: dict[str, Any]) -> str | None:
    if isinstance(record.get("fields"), dict):
        return "jira"
    if "number" in record and "title" in record:
        return "github"
    key = record.get("key")
    if isinstance(key, str) and _JIRA_KEY.match(key.strip()):
        return "jira"
    return None


# --------------------------------------------------------------------------------------------
# GitHub


def _github_ticket(issue: dict[str, Any], source: str, position: str) -> Ticket:
    number = _github_number(issue.get("number"))
    title = _text(issue.get("title"), "title").strip()
    if not title:
        raise _RecordError(f"issue #{number} has an empty title")
    repo = _github_repo(issue)
    state, raw_state = _github_state(issue)

    labels = _github_labels(issue.get("labels"))
    is_pull = issue.get("pull_request") is not None or issue.get("isPullRequest") is True
    html_url = _github_html_url(issue)
    if html_url and "/pull/" in html_url:
        is_pull = True
    if is_pull and "pull-request" not in labels:
        labels.append("pull-request")

    assignees = [login for login in map(_github_login, _as_list(issue.get("assignees"))) if login]
    assignee = assignees[0] if assignees else _github_login(issue.get("assignee"))
    author = issue.get("user") if issue.get("user") is not None else issue.get("author")

    milestone = issue.get("milestone")
    due = None
    if isinstance(milestone, dict):
        due = _parse_date(_first(milestone, "due_on", "dueOn"))

    return Ticket(
        source_file=source,
        position=position,
        tracker="github",
        key=f"{repo}#{number}" if repo else f"#{number}",
        title=title,
        body=_clean_text(_text(issue.get("body"), "body")),
        state=state,
        raw_state=raw_state,
        assignee=assignee,
        assignee_email=None,
        reporter=_github_login(author),
        reporter_email=_github_email(author),
        labels=labels,
        due_date=due,
        created_at=_parse_timestamp(_first(issue, "created_at", "createdAt")),
        updated_at=_parse_timestamp(_first(issue, "updated_at", "updatedAt")),
        closed_at=_parse_timestamp(_first(issue, "closed_at", "closedAt")),
        url=html_url,
        comments=_github_comments(issue.get("comments")),
    )


def _github_number(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"#?[0-9]{1,18}", value.strip()):
        return int(value.strip().lstrip("#"))
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise _RecordError(f'"number" should be the issue number, found {_json_type(value)}')


_GITHUB_API_REPO = re.compile(r"/repos/([^/\s]+)/([^/\s?#]+)")
_GITHUB_HTML_REPO = re.compile(r"^https?://[^/\s]+/([^/\s]+)/([^/\s]+)/(?:issues|pull)/\d+")


def _github_repo(issue: dict[str, Any]) -> str | None:
    """``owner/repo`` from the issue's URLs or repository object, None when nothing says."""
    repository = issue.get("repository")
    if isinstance(repository, dict):
        for field_name in ("full_name", "nameWithOwner"):
            name = repository.get(field_name)
            if isinstance(name, str) and name.count("/") == 1:
                return name.strip()
    elif isinstance(repository, str) and repository.count("/") == 1:
        return repository.strip()
    for field_name in ("repository_url", "url", "html_url"):
        url = issue.get(field_name)
        if not isinstance(url, str):
            continue
        match = _GITHUB_API_REPO.search(url) or _GITHUB_HTML_REPO.match(url.strip())
        if match:
            return f"{match.group(1)}/{match.group(2)}"
    return None


def _github_html_url(issue: dict[str, Any]) -> str | None:
    """The issue's web address: ``html_url``, else ``url`` turned from API to web form."""
    html_url = issue.get("html_url")
    if isinstance(html_url, str) and html_url.strip():
        return html_url.strip()
    url = issue.get("url")
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    # https://api.github.com/repos/o/r/issues/5 → https://github.com/o/r/issues/5; GitHub
    # Enterprise: https://host/api/v3/repos/o/r/issues/5 → https://host/o/r/issues/5.
    match = re.match(r"^(https?://)api\.github\.com/repos/(.+)$", url)
    if match:
        return f"{match.group(1)}github.com/{match.group(2)}"
    match = re.match(r"^(https?://[^/]+)/api/v3/repos/(.+)$", url)
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    return url


def _github_state(issue: dict[str, Any]) -> tuple[str, str]:
    raw = issue.get("state")
    raw_state = raw.strip() if isinstance(raw, str) else ""
    reason = _first(issue, "state_reason", "stateReason")
    reason = reason.strip().lower() if isinstance(reason, str) else ""
    lowered = raw_state.lower()
    if lowered == "merged":
        return "done", raw_state
    if lowered == "closed":
        return _GITHUB_CLOSED_REASON_STATE.get(reason, "closed"), raw_state
    return "open", raw_state


def _github_login(person: Any) -> str | None:
    """A login from ``{"login": ...}``, a gh-style ``{"login", "name"}`` or a plain string."""
    if isinstance(person, str):
        return person.strip() or None
    if isinstance(person, dict):
        for field_name in ("login", "name"):
            value = person.get(field_name)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _github_email(person: Any) -> str | None:
    if isinstance(person, dict):
        return _email(person.get("email"))
    return None


def _github_labels(value: Any) -> list[str]:
    labels = []
    for label in _as_list(value):
        if isinstance(label, dict):
            label = label.get("name")
        if isinstance(label, str) and label.strip() and label.strip() not in labels:
            labels.append(label.strip())
    return labels


def _github_comments(value: Any) -> list[TicketComment]:
    """Comments when the export embeds them (gh CLI); the REST API gives only a count."""
    comments = []
    for comment in _as_list(value):
        if isinstance(comment, str):
            comments.append(TicketComment(author=None, created_at=None, body=_clean_text(comment)))
            continue
        if not isinstance(comment, dict):
            continue
        author = comment.get("author") if "author" in comment else comment.get("user")
        body = comment.get("body")
        comments.append(
            TicketComment(
                author=_github_login(author),
                created_at=_parse_timestamp(_first(comment, "created_at", "createdAt")),
                body=_clean_text(body) if isinstance(body, str) else "",
            )
        )
    return comments


# --------------------------------------------------------------------------------------------
# Jira JSON


def _jira_ticket(issue: dict[str, Any], source: str, position: str) -> Ticket:
    key = issue.get("key")
    if not isinstance(key, str) or not key.strip():
        raise _RecordError('Jira issue without a "key" (like ABC-12)')
    key = key.strip()
    if not _JIRA_KEY.match(key):
        raise _RecordError(f'"{_clip(key)}" in "key" does not look like a Jira key (ABC-12)')
    # Flattened exports put the fields on the issue itself.
    fields = issue.get("fields") if isinstance(issue.get("fields"), dict) else issue
    title = _text(fields.get("summary"), "summary").strip()
    if not title:
        raise _RecordError(f'{key} has no "summary"')

    status = fields.get("status")
    status_name = ""
    category = ""
    if isinstance(status, dict):
        status_name = status.get("name") if isinstance(status.get("name"), str) else ""
        status_category = status.get("statusCategory")
        if isinstance(status_category, dict) and isinstance(status_category.get("key"), str):
            category = status_category["key"]
    elif isinstance(status, str):
        status_name = status
    resolution = fields.get("resolution")
    if isinstance(resolution, dict):
        resolution = resolution.get("name")
    state = _jira_state(
        status_name,
        _JIRA_CATEGORY_STATE.get(category.strip().lower()),
        resolution if isinstance(resolution, str) else None,
    )

    assignee, assignee_email = _jira_person(fields.get("assignee"))
    reporter, reporter_email = _jira_person(fields.get("reporter"))

    labels = []
    for label in _as_list(fields.get("labels")):
        if isinstance(label, str) and label.strip() and label.strip() not in labels:
            labels.append(label.strip())

    return Ticket(
        source_file=source,
        position=position,
        tracker="jira",
        key=key,
        title=title,
        body=_jira_text(fields.get("description"), "description"),
        state=state,
        raw_state=status_name.strip(),
        assignee=assignee,
        assignee_email=assignee_email,
        reporter=reporter,
        reporter_email=reporter_email,
        labels=labels,
        due_date=_parse_date(fields.get("duedate")),
        created_at=_parse_timestamp(fields.get("created")),
        updated_at=_parse_timestamp(fields.get("updated")),
        closed_at=_parse_timestamp(fields.get("resolutiondate")),
        url=_jira_browse_url(issue.get("self"), key),
        comments=_jira_comments(fields.get("comment")),
    )


def _jira_state(status_name: str, category_state: str | None, resolution: str | None) -> str:
    """Normalised state: the status category when known, else the status name; a finished
    ticket whose resolution or status says it was not done is "closed"."""
    by_name = _STATUS_NAME_STATE.get(status_name.strip().lower())
    state = category_state or by_name or "open"
    if state == "done":
        if by_name == "closed":
            return "closed"
        if resolution and resolution.strip().lower() in _NOT_DONE_RESOLUTIONS:
            return "closed"
    return state


def _jira_person(person: Any) -> tuple[str | None, str | None]:
    """(display name, e-mail) of a Jira user; either may be hidden by privacy settings."""
    if isinstance(person, str):
        return (person.strip() or None), None
    if not isinstance(person, dict):
        return None, None
    name = None
    for field_name in ("displayName", "name", "accountId"):
        value = person.get(field_name)
        if isinstance(value, str) and value.strip():
            name = value.strip()
            break
    return name, _email(person.get("emailAddress"))


def _jira_browse_url(self_url: Any, key: str) -> str | None:
    """``https://site/rest/api/2/issue/10001`` → ``https://site/browse/KEY`` (keeps a context
    path such as ``/jira`` on Jira Server)."""
    if not isinstance(self_url, str) or "/rest/" not in self_url:
        return None
    base = self_url.split("/rest/", 1)[0].rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        return None
    return f"{base}/browse/{key}"


def _jira_comments(value: Any) -> list[TicketComment]:
    container = value.get("comments") if isinstance(value, dict) else value
    comments = []
    for comment in _as_list(container):
        if not isinstance(comment, dict):
            continue
        author, _ = _jira_person(comment.get("author"))
        try:
            body = _jira_text(comment.get("body"), "comment body")
        except _RecordError:
            body = ""  # one unreadable comment is not worth losing the ticket
        comments.append(
            TicketComment(
                author=author, created_at=_parse_timestamp(comment.get("created")), body=body
            )
        )
    return comments


def _jira_text(value: Any, what: str) -> str:
    """A Jira text field: a string (v2), an ADF document (v3) or null."""
    if isinstance(value, dict):
        return _adf_to_text(value)
    return _clean_text(_text(value, what))


def _adf_to_text(document: Any) -> str:
    """Flatten an Atlassian Document Format tree to plain text.

    Paragraphs and other blocks are separated by blank lines, list items become ``- `` or
    ``1. `` lines (nested lists indented), mentions show their display text, code blocks are
    fenced with triple backticks. Unknown nodes contribute their children's text.
    """
    return _clean_text("\n\n".join(_adf_blocks(document, 0))).strip()


def _adf_blocks(node: Any, depth: int) -> list[str]:
    """The text blocks of a block-level node (doc, list, table, ...)."""
    if depth > _ADF_MAX_DEPTH:
        return []
    if isinstance(node, list):
        return [b for child in node for b in _adf_blocks(child, depth + 1)]
    if isinstance(node, str):
        return [node] if node.strip() else []
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    children = node.get("content")
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind in ("paragraph", "heading"):
        text = _adf_inline(children, depth + 1)
        if kind == "heading" and text.strip():
            level = attrs.get("level")
            level = level if isinstance(level, int) and 1 <= level <= 6 else 1
            text = "#" * level + " " + text
        return [text] if text.strip() else []
    if kind in ("bulletList", "orderedList"):
        return [_adf_list(node, depth)]
    if kind == "codeBlock":
        language = attrs.get("language")
        fence = "```" + (language if isinstance(language, str) else "")
        return [f"{fence}\n{_adf_inline(children, depth + 1)}\n```"]
    if kind == "blockquote":
        inner = "\n\n".join(_adf_blocks(children, depth + 1))
        return ["\n".join("> " + line for line in inner.split("\n"))] if inner else []
    if kind == "rule":
        return ["---"]
    if kind == "table":
        rows = []
        for row in _as_list(children):
            cells = row.get("content") if isinstance(row, dict) else None
            texts = []
            for cell in _as_list(cells):
                cell_content = cell.get("content") if isinstance(cell, dict) else cell
                texts.append(" ".join(_adf_blocks(cell_content, depth + 2)))
            rows.append(" | ".join(t.replace("\n", " ") for t in texts))
        return ["\n".join(rows)] if rows else []
    if kind in ("text", "mention", "emoji", "hardBreak", "inlineCard", "date", "status"):
        text = _adf_inline([node], depth)
        return [text] if text.strip() else []
    if children is not None:
        return _adf_blocks(children, depth + 1)
    text = node.get("text")
    return [text] if isinstance(text, str) and text.strip() else []


def _adf_list(node: dict[str, Any], depth: int) -> str:
    ordered = node.get("type") == "orderedList"
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    start = attrs.get("order")
    number = start if isinstance(start, int) and not isinstance(start, bool) else 1
    lines = []
    for item in _as_list(node.get("content")):
        marker = f"{number}. " if ordered else "- "
        number += 1
        item_content = item.get("content") if isinstance(item, dict) else item
        blocks = _adf_blocks(item_content, depth + 1)
        text = "\n".join(blocks) if blocks else ""
        # Continuation lines (nested lists, second paragraphs) line up under the text.
        indent = " " * len(marker)
        item_lines = text.split("\n")
        lines.append(marker + item_lines[0])
        lines.extend(indent + line if line else line for line in item_lines[1:])
    return "\n".join(lines)


def _adf_inline(nodes: Any, depth: int) -> str:
    """The text of inline nodes (text, mentions, emoji, line breaks, links)."""
    if depth > _ADF_MAX_DEPTH:
        return ""
    parts = []
    for node in _as_list(nodes):
        if isinstance(node, str):
            parts.append(node)
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
        if kind == "text":
            text = node.get("text") if isinstance(node.get("text"), str) else ""
            href = _adf_link(node.get("marks"))
            parts.append(f"{text} ({href})" if href and href != text else text)
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            parts.append(_first_str(attrs, "text", "displayName", "id") or "@someone")
        elif kind == "emoji":
            parts.append(_first_str(attrs, "text", "shortName") or "")
        elif kind in ("inlineCard", "blockCard", "embedCard"):
            parts.append(_first_str(attrs, "url") or "")
        elif kind == "status":
            parts.append(_first_str(attrs, "text") or "")
        elif kind == "date":
            parts.append(_adf_date(attrs.get("timestamp")))
        elif node.get("content") is not None:
            parts.append(" ".join(_adf_blocks(node.get("content"), depth + 1)))
        elif isinstance(node.get("text"), str):
            parts.append(node["text"])
    return "".join(parts)


def _adf_link(marks: Any) -> str | None:
    for mark in _as_list(marks):
        if isinstance(mark, dict) and mark.get("type") == "link":
            attrs = mark.get("attrs")
            if isinstance(attrs, dict) and isinstance(attrs.get("href"), str):
                return attrs["href"]
    return None


def _adf_date(timestamp: Any) -> str:
    """ADF dates are milliseconds since the epoch, as a string."""
    try:
        millis = int(str(timestamp))
        return datetime.fromtimestamp(millis / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return str(timestamp) if timestamp is not None else ""


# --------------------------------------------------------------------------------------------
# Jira CSV


_CSV_REQUIRED = ("Summary", "Issue key")


def _iter_jira_csv(text: str, source: str) -> Iterator[Ticket | IngestError]:
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader, header = _open_csv(text, source)
    columns: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        columns.setdefault(_column_name(name), []).append(index)

    row_no = 1  # the header is row 1, as in a spreadsheet
    while True:
        row_no += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield IngestError(source, f"row {row_no}", f"cannot split this row into cells: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        try:
            yield _csv_ticket(row, len(header), columns, source, f"row {row_no}")
        except _RecordError as exc:
            yield IngestError(source, f"row {row_no}", str(exc))


def _open_csv(text: str, source: str) -> tuple[Iterator[list[str]], list[str]]:
    """A csv reader positioned after the header, and the header. Jira writes commas; Excel in
    many locales re-saves with semicolons or tabs, so the delimiter is whichever one makes the
    required columns appear."""
    first_header: list[str] | None = None
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader, [])
        except csv.Error as exc:
            raise IngestError(source, "row 1", f"cannot read the CSV header: {exc}") from exc
        if first_header is None:
            first_header = header
        names = {_column_name(name) for name in header}
        if all(_column_name(required) in names for required in _CSV_REQUIRED):
            return reader, header
    names = {_column_name(name) for name in first_header or []}
    missing = [required for required in _CSV_REQUIRED if _column_name(required) not in names]
    found = ", ".join(name.strip() for name in (first_header or [])[:10] if name.strip())
    raise IngestError(
        source,
        "file",
        f"not a Jira CSV export: missing column(s) {', '.join(missing)}"
        f" (header has: {found or 'nothing'})",
    )


def _column_name(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _csv_ticket(
    row: list[str], width: int, columns: dict[str, list[int]], source: str, position: str
) -> Ticket:
    def cells(name: str) -> list[str]:
        return [row[i].strip() for i in columns.get(_column_name(name), []) if i < len(row)]

    def cell(*names: str) -> str:
        for name in names:
            for value in cells(name):
                if value:
                    return value
        return ""

    key = cell("Issue key")
    title = cell("Summary")
    if not key or not title:
        missing = " and ".join(n for n, v in (("Issue key", key), ("Summary", title)) if not v)
        shape = (
            f" (the row has {len(row)} cells, the header {width}: a quoted cell may be broken)"
            if len(row) != width
            else ""
        )
        raise _RecordError(f"no {missing}{shape}")
    if not _JIRA_KEY.match(key):
        raise _RecordError(f'"{_clip(key)}" in Issue key does not look like a Jira key (ABC-12)')

    status_name = cell("Status")
    category_state = _JIRA_CATEGORY_NAME_STATE.get(cell("Status Category").lower())

    labels: list[str] = []
    for value in cells("Labels"):
        # One label per cell in Jira's export; labels cannot contain spaces, so a cell with
        # several space-separated labels (older exports) splits safely.
        for label in value.split():
            if label not in labels:
                labels.append(label)

    due = _parse_export_datetime(cell("Due Date", "Due"))
    return Ticket(
        source_file=source,
        position=position,
        tracker="jira",
        key=key,
        title=title,
        body=_clean_text(cell("Description")),
        state=_jira_state(status_name, category_state, cell("Resolution") or None),
        raw_state=status_name,
        assignee=cell("Assignee") or cell("Assignee Id") or None,
        assignee_email=_email(cell("Assignee Email", "Assignee e-mail")),
        reporter=cell("Reporter") or cell("Reporter Id") or None,
        reporter_email=_email(cell("Reporter Email", "Reporter e-mail")),
        labels=labels,
        due_date=due.date() if due else None,
        created_at=_parse_export_datetime(cell("Created")),
        updated_at=_parse_export_datetime(cell("Updated")),
        closed_at=_parse_export_datetime(cell("Resolved", "Resolution Date")),
        url=None,
        comments=[_csv_comment(value) for value in cells("Comment") if value],
    )


def _csv_comment(value: str) -> TicketComment:
    """A Jira CSV comment cell: ``date;author-id;body`` (the body may hold more ``;``)."""
    parts = value.split(";", 2)
    created = _parse_export_datetime(parts[0]) if len(parts) >= 2 else None
    if created is None:
        return TicketComment(author=None, created_at=None, body=_clean_text(value))
    if len(parts) == 3:
        return TicketComment(
            author=parts[1].strip() or None, created_at=created, body=_clean_text(parts[2].strip())
        )
    return TicketComment(author=None, created_at=created, body=_clean_text(parts[1].strip()))


# --------------------------------------------------------------------------------------------
# Dates and small helpers


def _parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp: UTC-aware when it carries a zone, naive when not, None when it
    is missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.11 reads most ISO forms; the ones it does not (e.g. a lower-case "z") get
        # one retry in the canonical spelling.
        try:
            parsed = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text).replace(" ", "T", 1))
        except ValueError:
            return None
    return _to_utc(parsed)


def _to_utc(parsed: datetime) -> datetime | None:
    if parsed.tzinfo is None:
        return parsed
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _parse_date(value: Any) -> date | None:
    """A due date: ``2024-02-01`` or a full timestamp (GitHub milestones' ``due_on``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        parsed = _parse_export_datetime(text)
        return parsed.date() if parsed else None


def _parse_export_datetime(value: str) -> datetime | None:
    """A date as Jira's CSV export writes it, in any of its common formats:
    ``15/Jan/24 10:30 AM``, ``2024-01-15 10:30``, ``15/01/2024 10:30``, ISO 8601."""
    text = value.strip()
    if not text:
        return None
    match = _DAY_MONTHNAME_YEAR.match(text)
    if match:
        month = _MONTHS.get(match.group(2)[:3].lower())
        if month is None:
            return None
        return _build_datetime(
            _year(match.group(3)), month, int(match.group(1)), match.groups()[3:]
        )
    match = _YEAR_MONTH_DAY.match(text)
    if match:
        return _build_datetime(
            int(match.group(1)), int(match.group(2)), int(match.group(3)), match.groups()[3:]
        )
    match = _NUMERIC_DATE.match(text)
    if match:
        first, second = int(match.group(1)), int(match.group(2))
        # Day first (Jira's own order) unless only month first can be right.
        day, month = (second, first) if first <= 12 < second else (first, second)
        return _build_datetime(_year(match.group(3)), month, day, match.groups()[3:])
    return _parse_timestamp(text)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _build_datetime(
    year: int, month: int, day: int, time_parts: tuple[str | None, ...]
) -> datetime | None:
    hour_text, minute_text, second_text, meridiem = time_parts
    hour = int(hour_text) if hour_text else 0
    minute = int(minute_text) if minute_text else 0
    second = int(second_text) if second_text else 0
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        is_pm = meridiem.lower().startswith("p")
        hour = (hour % 12) + (12 if is_pm else 0)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _text(value: Any, what: str) -> str:
    """A text field: None → "", numbers → their digits; objects and lists are an error."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _RecordError(f'"{what}" should be text, found {_json_type(value)}')


def _clean_text(text: str) -> str:
    """Unix line endings: exports mix CRLF (web forms) and LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _email(value: Any) -> str | None:
    if isinstance(value, str) and "@" in value and not any(c.isspace() for c in value.strip()):
        return value.strip().lower()
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first(mapping: dict[str, Any], *names: str) -> Any:
    for name in names:
        if mapping.get(name) is not None:
            return mapping[name]
    return None


def _first_str(mapping: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = mapping.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
