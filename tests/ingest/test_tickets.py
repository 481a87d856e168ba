"""Ticket parsers: GitHub issues JSON (REST, search, gh CLI, flattened), Jira REST JSON (v2 and
v3 with Atlassian Document Format), Jira CSV export; file-level and per-record errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.records import Ticket, TicketComment
from assistant_pipelines.ingest.tickets import iter_tickets, list_ticket_files

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tickets"
SHARED_GITHUB = Path("/work/shared/data/github_issues_hf_datasets.jsonl")


def tickets_of(path: Path, **kwargs) -> list[Ticket]:
    items = list(iter_tickets(path, **kwargs))
    errors = [item for item in items if isinstance(item, IngestError)]
    assert not errors, errors
    return items


def by_key(tickets: list[Ticket]) -> dict[str, Ticket]:
    return {ticket.key: ticket for ticket in tickets}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------------
# list_ticket_files


def test_list_ticket_files_finds_exports_recursively_sorted_and_skips_hidden(tmp_path):
    for name in (
        "b/issues.json",
        "a.jsonl",
        "c/d/export.CSV",
        "notes.txt",
        ".hidden.json",
        ".cache/old.json",
        "b/.~lock.export.csv",
        "b/readme.md",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[]")
    (tmp_path / "folder.json").mkdir()  # a directory with a ticket suffix is not a file

    found = list_ticket_files(tmp_path)

    assert found == [tmp_path / "a.jsonl", tmp_path / "b/issues.json", tmp_path / "c/d/export.CSV"]


def test_list_ticket_files_of_a_missing_folder_is_empty(tmp_path):
    assert list_ticket_files(tmp_path / "nope") == []


# ------------------------------------------------------------------------------------------
# GitHub


def test_github_rest_list():
    tickets = tickets_of(FIXTURES / "github_rest_issues.json")

    assert [t.position for t in tickets] == ["record 1", "record 2", "record 3", "record 4"]
    assert {t.tracker for t in tickets} == {"github"}
    issues = by_key(tickets)
    assert list(issues) == [
        "lumen-labs/orchard#42",
        "lumen-labs/orchard#43",
        "lumen-labs/orchard#44",
        "lumen-labs/orchard#45",
    ]

    bug = issues["lumen-labs/orchard#42"]
    assert bug.title == "Export fails when the basket is empty"
    assert bug.body == "Steps:\n1. Empty the basket\n2. Click export\n\nIt crashes."
    assert (bug.state, bug.raw_state) == ("open", "open")
    assert bug.assignee == "tomas-renn"  # the first of the assignees
    assert bug.reporter == "pippa-quill"
    assert bug.labels == ["bug", "export"]
    assert bug.due_date == date(2024, 3, 1)  # milestone due_on
    assert bug.created_at == utc(2024, 1, 15, 10, 30)
    assert bug.updated_at == utc(2024, 1, 16, 9, 0)
    assert bug.closed_at is None
    assert bug.url == "https://github.com/lumen-labs/orchard/issues/42"
    assert bug.comments == []  # the REST list gives only a count

    pull = issues["lumen-labs/orchard#43"]
    assert pull.labels == ["pull-request"]
    assert pull.body == ""  # null body
    assert pull.state == "closed"
    assert pull.assignee is None

    not_planned = issues["lumen-labs/orchard#44"]
    assert (not_planned.state, not_planned.raw_state) == ("closed", "closed")
    completed = issues["lumen-labs/orchard#45"]
    assert completed.state == "done"
    assert completed.closed_at == utc(2024, 1, 22, 17, 30)
    assert completed.due_date is None  # milestone without due_on


def test_github_search_result_and_repo_per_item():
    tickets = tickets_of(FIXTURES / "github_search_result.json")

    assert [t.key for t in tickets] == ["lumen-labs/orchard#7", "lumen-labs/greenhouse#3"]
    assert tickets[1].assignee == "tomas-renn"
    assert tickets[0].labels == ["design"]


def test_github_single_issue_object_converts_offsets_to_utc():
    [ticket] = tickets_of(FIXTURES / "github_single_issue.json")

    assert ticket.key == "lumen-labs/orchard#101"
    assert ticket.position == "record 1"
    assert ticket.labels == ["enhancement"]  # labels as plain strings
    assert ticket.created_at == utc(2024, 2, 1, 8, 0)
    assert ticket.created_at.utcoffset() == timedelta(0)


def test_github_cli_shape():
    tickets = by_key(tickets_of(FIXTURES / "github_gh_cli.json"))

    retry = tickets["lumen-labs/orchard#210"]
    assert (retry.state, retry.raw_state) == ("open", "OPEN")
    assert retry.reporter == "pippa-quill"
    assert retry.assignee == "tomas-renn"
    assert retry.labels == ["ops"]
    assert retry.due_date == date(2024, 5, 31)
    assert retry.created_at == utc(2024, 5, 1, 16, 20)
    assert retry.url == "https://github.com/lumen-labs/orchard/issues/210"
    assert retry.comments == [
        TicketComment("tomas-renn", utc(2024, 5, 2, 9, 12), "I'll add the retry by Friday."),
        TicketComment("pippa-quill", utc(2024, 5, 2, 10, 0), "Thanks!"),
    ]

    rotated = tickets["lumen-labs/orchard#211"]
    assert (rotated.state, rotated.raw_state) == ("done", "CLOSED")
    assert rotated.closed_at == utc(2024, 5, 3, 12, 0)


def test_github_flattened_jsonl_with_plain_strings_numbers_records_by_line():
    tickets = tickets_of(FIXTURES / "github_flat.jsonl")

    assert [t.key for t in tickets] == [
        "lumen-labs/greenhouse#12",
        "lumen-labs/greenhouse#13",
        "lumen-labs/greenhouse#14",
    ]
    # Line 3 is blank: a record's number is its line, so a person can find it.
    assert [t.position for t in tickets] == ["record 1", "record 2", "record 4"]
    first, typo, py2 = tickets
    assert first.reporter == "ada-vell"
    assert first.assignee == "tomas-renn"
    assert first.labels == ["bug", "startup"]
    assert typo.state == "done" and typo.body == ""
    assert py2.state == "closed"


def test_github_paginated_arrays_one_after_another():
    tickets = tickets_of(FIXTURES / "github_paginated.json")

    assert [(t.key, t.position) for t in tickets] == [
        ("lumen-labs/orchard#1", "record 1"),
        ("lumen-labs/orchard#2", "record 2"),
        ("lumen-labs/orchard#3", "record 3"),
    ]


def test_pages_collected_into_one_list(tmp_path):
    github_pages = [[{"number": 1, "title": "a"}], [{"number": 2, "title": "b"}]]  # --slurp
    jira_pages = [
        {"issues": [_jira_issue("P-1")]},
        {"issues": []},
        {"issues": [_jira_issue("P-2")]},
    ]

    assert [t.key for t in tickets_of(write(tmp_path, "g.json", json.dumps(github_pages)))] == [
        "#1",
        "#2",
    ]
    jira = tickets_of(write(tmp_path, "j.json", json.dumps(jira_pages)))
    assert [(t.key, t.position) for t in jira] == [("P-1", "record 1"), ("P-2", "record 2")]


def test_jsonl_keeps_unicode_line_separators_inside_strings(tmp_path):
    lines = [
        json.dumps(
            {"number": 1, "title": "para\u2028graph", "body": "a\u2029b"}, ensure_ascii=False
        ),
        json.dumps({"number": 2, "title": "next"}),
    ]
    path = write(tmp_path, "issues.jsonl", "\r\n".join(lines))

    first, second = tickets_of(path)

    assert first.title == "para\u2028graph"
    assert (second.key, second.position) == ("#2", "record 2")


def test_github_repo_from_api_url_and_unknown_repo(tmp_path):
    path = write(
        tmp_path,
        "issues.json",
        json.dumps(
            [
                {
                    "number": 5,
                    "title": "Only an API url",
                    "url": "https://api.github.com/repos/lumen-labs/orchard/issues/5",
                    "state": "open",
                },
                {
                    "number": 6,
                    "title": "Enterprise server",
                    "url": "https://git.kestrel.example/api/v3/repos/garden/beds/issues/6",
                    "state": "open",
                },
                {"number": 7, "title": "No url at all", "state": "open", "comments": None},
            ]
        ),
    )

    only_api, enterprise, unknown = tickets_of(path)

    assert only_api.key == "lumen-labs/orchard#5"
    assert only_api.url == "https://github.com/lumen-labs/orchard/issues/5"
    assert enterprise.key == "garden/beds#6"
    assert enterprise.url == "https://git.kestrel.example/garden/beds/issues/6"
    assert unknown.key == "#7"
    assert unknown.url is None
    assert unknown.created_at is None


def test_github_unreadable_dates_become_none_without_losing_the_issue(tmp_path):
    path = write(
        tmp_path,
        "issues.json",
        json.dumps(
            {
                "number": 9,
                "title": "Odd dates",
                "state": "open",
                "created_at": "last Tuesday",
                "updated_at": 1700000000,
                "milestone": {"due_on": "soon"},
            }
        ),
    )

    [ticket] = tickets_of(path)

    assert (ticket.created_at, ticket.updated_at, ticket.due_date) == (None, None, None)


@pytest.mark.skipif(not SHARED_GITHUB.exists(), reason="shared GitHub issues data not present")
def test_shared_real_github_issues_parse():
    items = list(iter_tickets(SHARED_GITHUB, display_path="github_issues_hf_datasets.jsonl"))

    tickets = [item for item in items if isinstance(item, Ticket)]
    assert len(tickets) == len(items) == len(SHARED_GITHUB.read_text().splitlines())
    assert all(t.key.startswith("huggingface/datasets#") for t in tickets)
    assert all(t.source_file == "github_issues_hf_datasets.jsonl" for t in tickets)
    assert {t.state for t in tickets} <= {"open", "done", "closed"}
    assert {t.state for t in tickets} >= {"open", "done"}
    assert all(t.title and t.created_at and t.created_at.tzinfo for t in tickets)
    assert any(t.labels for t in tickets)
    assert any(t.assignee for t in tickets)
    assert all(t.reporter for t in tickets)
    assert all((t.closed_at is None) == (t.state == "open") for t in tickets if t.closed_at)
    assert all(t.url and t.url.endswith(t.key.split("#")[1]) for t in tickets)
    assert all("\r" not in t.body for t in tickets)


# ------------------------------------------------------------------------------------------
# Jira JSON


def test_jira_search_v2():
    tickets = by_key(tickets_of(FIXTURES / "jira_search_v2.json"))

    assert list(tickets) == ["GARDEN-12", "GARDEN-13", "GARDEN-14", "GARDEN-15"]
    review = tickets["GARDEN-12"]
    assert review.tracker == "jira"
    assert review.position == "record 1"
    assert review.title == "Water the seedlings API returns 500"
    assert review.body == "The endpoint fails when the tray is empty.\nSee the logs."
    assert (review.state, review.raw_state) == ("in_progress", "In Review")
    assert review.assignee == "Mira Castell"
    assert review.assignee_email == "mira.castell@kestrel.example"
    assert review.reporter == "Olu Brandt"
    assert review.reporter_email is None  # hidden by privacy settings
    assert review.labels == ["backend", "api"]
    assert review.due_date == date(2024, 2, 1)
    assert review.created_at == utc(2024, 1, 15, 10, 30)
    assert review.updated_at == utc(2024, 1, 16, 11, 0)  # +0100 → UTC
    assert review.closed_at is None
    assert review.url == "https://kestrel.atlassian.net/browse/GARDEN-12"
    assert review.comments == [
        TicketComment(
            "Olu Brandt", utc(2024, 1, 15, 11, 0), "Can you look at this before Thursday?"
        ),
        TicketComment(
            "Mira Castell", utc(2024, 1, 15, 12, 30), "Yes, I'll have a fix by Wednesday."
        ),
    ]

    backlog = tickets["GARDEN-13"]
    assert (backlog.state, backlog.raw_state) == ("open", "Backlog")
    assert backlog.assignee is None and backlog.reporter is None  # null and missing
    assert backlog.body == ""
    assert backlog.comments == []

    wont_do = tickets["GARDEN-14"]
    assert wont_do.state == "closed"  # done category, resolution Won't Do
    assert wont_do.closed_at == utc(2024, 1, 12, 8, 0)
    assert tickets["GARDEN-15"].state == "done"  # status "Closed", resolution Done


def test_jira_search_v3_values_with_atlassian_document_format():
    [ticket] = tickets_of(FIXTURES / "jira_search_v3.json")

    assert ticket.key == "POND-7"
    assert ticket.state == "open"
    assert ticket.reporter == "Mira Castell" and ticket.reporter_email is None
    assert ticket.created_at == utc(2024, 4, 1, 7, 15)
    assert ticket.due_date == date(2024, 4, 10)
    assert ticket.url == "https://kestrel.atlassian.net/browse/POND-7"
    assert ticket.body == (
        "## Context\n"
        "\n"
        "The pond lost water over the weekend. @Jun Okafor please check the pump manual "
        "(https://kestrel.example/pump).\n"
        "Second line.\n"
        "\n"
        "- Check the liner\n"
        "- Test the pump\n"
        "  1. unplug it\n"
        "  2. clean the filter\n"
        "\n"
        "```bash\n"
        "pumpctl status --verbose\n"
        "```\n"
        "\n"
        "🐟 thanks"
    )
    assert ticket.comments == [
        TicketComment(
            "Jun Okafor",
            utc(2024, 4, 1, 8, 0),
            "On it, done by Friday.\n\n@Mira Castell FYI",
        )
    ]


def test_jira_single_issue_on_server_with_context_path():
    [ticket] = tickets_of(FIXTURES / "jira_single_issue.json")

    assert ticket.key == "OPS-301"
    assert ticket.state == "in_progress"  # no statusCategory: by status name
    assert ticket.assignee == "Jun Okafor"
    assert ticket.assignee_email == "jun@kestrel.example"
    assert ticket.reporter == "ops-bot"
    assert ticket.created_at == utc(2024, 6, 1, 12, 0)
    assert ticket.url == "https://tracker.kestrel.example/jira/browse/OPS-301"


def test_jira_adf_tables_quotes_rules_and_unknown_nodes(tmp_path):
    description = {
        "type": "doc",
        "content": [
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableHeader", "content": [_adf_paragraph("Bed")]},
                            {"type": "tableHeader", "content": [_adf_paragraph("Owner")]},
                        ],
                    },
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableCell", "content": [_adf_paragraph("North")]},
                            {"type": "tableCell", "content": [_adf_paragraph("Jun")]},
                        ],
                    },
                ],
            },
            {"type": "blockquote", "content": [_adf_paragraph("Quoted advice")]},
            {"type": "rule"},
            {
                "type": "panel",
                "attrs": {"panelType": "info"},
                "content": [_adf_paragraph("Inside")],
            },
            {"type": "orderedList", "attrs": {"order": 3}, "content": [_adf_item("third")]},
            {
                "type": "paragraph",
                "content": [{"type": "inlineCard", "attrs": {"url": "https://x.example"}}],
            },
            {"type": "paragraph", "content": [{"type": "status", "attrs": {"text": "BLOCKED"}}]},
            {
                "type": "paragraph",
                "content": [{"type": "date", "attrs": {"timestamp": "1712016000000"}}],
            },
            {"type": "futureNode", "content": [{"type": "text", "text": "still kept"}]},
            "not a node",
            42,
        ],
    }
    path = write(tmp_path, "adf.json", json.dumps(_jira_issue("TAB-1", description=description)))

    [ticket] = tickets_of(path)

    assert ticket.body == (
        "Bed | Owner\nNorth | Jun\n\n> Quoted advice\n\n---\n\nInside\n\n3. third\n\n"
        "https://x.example\n\nBLOCKED\n\n2024-04-02\n\nstill kept\n\nnot a node"
    )


def test_jira_flattened_issue_without_fields(tmp_path):
    path = write(
        tmp_path,
        "flat.jsonl",
        json.dumps({"key": "FLAT-3", "summary": "Flat", "status": "Done", "assignee": "Jun"}),
    )

    [ticket] = tickets_of(path)

    assert (ticket.key, ticket.title, ticket.state, ticket.assignee) == (
        "FLAT-3",
        "Flat",
        "done",
        "Jun",
    )


def _adf_paragraph(text: str) -> dict:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def _adf_item(text: str) -> dict:
    return {"type": "listItem", "content": [_adf_paragraph(text)]}


def _jira_issue(key: str, **fields) -> dict:
    return {"key": key, "fields": {"summary": f"Summary of {key}", **fields}}


# ------------------------------------------------------------------------------------------
# Per-record errors in JSON


def test_bad_json_records_are_yielded_and_the_rest_goes_on(tmp_path):
    records = [
        {"number": 1, "title": "Fine", "state": "open"},
        42,
        {"name": "neither tracker"},
        {"number": "twelve", "title": "Bad number"},
        {"number": 2, "title": {"nested": "object"}},
        {"number": 3, "title": "   "},
        {"key": "GARDEN-1", "fields": {"summary": None}},
        {"key": "not a key", "fields": {"summary": "Bad key"}},
        {"fields": {"summary": "No key"}},
        {"key": "GARDEN-2", "fields": {"summary": "Bad description", "description": [1, 2]}},
        _jira_issue("GARDEN-3"),
    ]
    path = write(tmp_path, "mixed.json", json.dumps(records))

    items = list(iter_tickets(path, display_path="inbox/tickets/mixed.json"))

    assert [type(item).__name__ for item in items] == ["Ticket"] + ["IngestError"] * 9 + ["Ticket"]
    assert [item.position for item in items] == [f"record {n}" for n in range(1, 12)]
    assert {item.source_file for item in items} == {"inbox/tickets/mixed.json"}
    reasons = [item.reason for item in items if isinstance(item, IngestError)]
    assert "expected an issue object, found a number" in reasons[0]
    assert "neither a GitHub issue" in reasons[1]
    assert '"number"' in reasons[2]
    assert '"title" should be text' in reasons[3]
    assert "empty title" in reasons[4]
    assert "summary" in reasons[5]
    assert "does not look like a Jira key" in reasons[6]
    assert '"key"' in reasons[7]
    assert '"description" should be text' in reasons[8]
    assert not any(reason.startswith("unexpected") for reason in reasons)
    assert items[-1].key == "GARDEN-3"


def test_bad_jsonl_line_is_yielded_with_its_line_number(tmp_path):
    lines = [
        json.dumps({"number": 1, "title": "One"}),
        '{"number": 2, "title": "Two",',
        "[1, 2]",
        json.dumps({"number": 4, "title": "Four"}),
    ]
    path = write(tmp_path, "issues.jsonl", "\n".join(lines) + "\n")

    items = list(iter_tickets(path))

    assert [type(i).__name__ for i in items] == ["Ticket", "IngestError", "IngestError", "Ticket"]
    assert items[1].position == "record 2"
    assert "not valid JSON" in items[1].reason
    assert items[2].reason == "expected an issue object, found a list"
    assert items[3].key == "#4"


def test_pretty_printed_json_saved_as_jsonl_is_read_whole(tmp_path):
    path = write(
        tmp_path, "issues.jsonl", json.dumps([_jira_issue("A-1"), _jira_issue("A-2")], indent=2)
    )

    assert [t.key for t in tickets_of(path)] == ["A-1", "A-2"]


# ------------------------------------------------------------------------------------------
# File-level errors


@pytest.mark.parametrize("name", ["t.json", "t.jsonl", "t.csv"])
@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_file_is_a_file_error(tmp_path, name, content):
    path = write(tmp_path, name, content)

    with pytest.raises(IngestError) as caught:
        list(iter_tickets(path))

    assert caught.value.position == "file"
    assert "empty" in caught.value.reason


@pytest.mark.parametrize("name", ["t.json", "t.jsonl", "t.csv"])
def test_binary_file_is_a_file_error(tmp_path, name):
    path = write(tmp_path, name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")

    with pytest.raises(IngestError, match="binary") as caught:
        list(iter_tickets(path, display_path="x/" + name))

    assert caught.value.source_file == "x/" + name


def test_json_syntax_error_names_line_and_column(tmp_path):
    path = write(tmp_path, "broken.json", '[\n  {"number": 1,\n   "title": "x",,\n  }\n]')

    with pytest.raises(IngestError) as caught:
        list(iter_tickets(path))

    assert caught.value.position == "line 3, column 17"
    assert caught.value.reason.startswith("not valid JSON: Expecting property name")
    assert "line 3, column 17" in caught.value.reason


def test_garbage_after_the_json_is_a_file_error(tmp_path):
    path = write(tmp_path, "trailing.json", '[{"number": 1, "title": "a"}]\n\nPS: more to come')

    with pytest.raises(IngestError) as caught:
        list(iter_tickets(path))

    assert caught.value.position == "line 3, column 1"


def test_jsonl_without_a_single_json_line_is_a_file_error(tmp_path):
    path = write(tmp_path, "notes.jsonl", "\nhello there\nthis is prose\n")

    with pytest.raises(IngestError, match="no line of this file is JSON") as caught:
        list(iter_tickets(path))

    assert caught.value.position == "line 2"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("42", "found a number"),
        ('"issues"', "found text"),
        ("null", "found null"),
        ('{"issues": {"a": 1}}', '"issues" to be a list of issues, found an object'),
        ('{"items": "nope"}', '"items" to be a list of issues, found text'),
        ('{"name": "garden", "owner": "olu"}', "found an object with keys: name, owner"),
        (
            json.dumps(
                {"errorMessages": ["The value 'NOPE' does not exist for the field 'project'."]}
            ),
            "Jira error response, not issues: The value 'NOPE'",
        ),
        (
            '{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}',
            "GitHub API error response, not issues: Bad credentials",
        ),
    ],
)
def test_wrong_top_level_shape_is_a_file_error(tmp_path, content, expected):
    path = write(tmp_path, "shape.json", content)

    with pytest.raises(IngestError) as caught:
        list(iter_tickets(path))

    assert caught.value.position == "file"
    assert expected in caught.value.reason


def test_unreadable_file_is_a_file_error(tmp_path):
    with pytest.raises(IngestError, match="cannot read the file"):
        list(iter_tickets(tmp_path / "missing.json"))


def test_empty_list_and_empty_search_result_hold_no_tickets(tmp_path):
    assert list(iter_tickets(write(tmp_path, "a.json", "[]"))) == []
    assert list(iter_tickets(write(tmp_path, "b.json", '{"total": 0, "issues": []}'))) == []


# ------------------------------------------------------------------------------------------
# Jira CSV


def test_jira_csv_export_with_repeated_columns_and_multiline_cells():
    tickets = tickets_of(FIXTURES / "jira_export.csv", display_path="tickets/jira_export.csv")

    assert [(t.key, t.position) for t in tickets] == [
        ("GARDEN-21", "row 2"),
        ("GARDEN-22", "row 3"),
        ("GARDEN-23", "row 4"),
        ("GARDEN-24", "row 5"),
    ]
    thermostat, rota, hose, rocket = tickets
    assert thermostat.tracker == "jira"
    assert thermostat.source_file == "tickets/jira_export.csv"
    assert thermostat.title == "Replace the greenhouse thermostat"
    assert thermostat.body == (
        "The old one reads 3 degrees too high.\nOrder the model we tested in December.\n\n"
        'Budget: "under 200"'
    )
    assert (thermostat.state, thermostat.raw_state) == ("in_progress", "In Progress")
    assert thermostat.assignee == "Mira Castell"
    assert thermostat.reporter == "Olu Brandt"
    assert thermostat.labels == ["hardware", "winter"]
    assert thermostat.created_at == datetime(2024, 1, 15, 10, 30)  # naive: no zone in the file
    assert thermostat.updated_at == datetime(2024, 1, 16, 14, 5)
    assert thermostat.due_date == date(2024, 2, 2)
    assert thermostat.url is None
    assert thermostat.comments == [
        TicketComment(
            "5b10ac8d82e05b22cc7d4ef5",
            datetime(2024, 1, 15, 11, 0),
            "Mira, can you order it this week; the old one is failing.",
        ),
        TicketComment(
            "5b10a2844c20165700ede21g", datetime(2024, 1, 16, 9, 15), "Ordered; arrives Monday."
        ),
    ]

    assert (rota.state, rota.assignee, rota.labels, rota.comments, rota.due_date) == (
        "open",
        None,
        [],
        [],
        None,
    )
    assert hose.state == "done"
    assert hose.closed_at == datetime(2024, 1, 12, 16, 45)
    assert rocket.state == "closed"  # Closed with resolution Won't Do


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("15/Jan/24 10:30 AM", datetime(2024, 1, 15, 10, 30)),
        ("15/Jan/24 12:10 AM", datetime(2024, 1, 15, 0, 10)),
        ("15/Jan/24 12:10 PM", datetime(2024, 1, 15, 12, 10)),
        ("5/Feb/2024 3:07 pm", datetime(2024, 2, 5, 15, 7)),
        ("15-Jan-2024 10:30", datetime(2024, 1, 15, 10, 30)),
        ("2024-01-15 10:30", datetime(2024, 1, 15, 10, 30)),
        ("2024-01-15 10:30:45", datetime(2024, 1, 15, 10, 30, 45)),
        ("15/01/2024 10:30", datetime(2024, 1, 15, 10, 30)),
        ("15.01.2024 10:30", datetime(2024, 1, 15, 10, 30)),
        ("01/15/2024 10:30", datetime(2024, 1, 15, 10, 30)),  # only month-first can be right
        ("2024-01-15T10:30:00.000+0000", utc(2024, 1, 15, 10, 30)),
        ("2024-01-15T10:30:00Z", utc(2024, 1, 15, 10, 30)),
        ("2024-01-15T12:30:00+02:00", utc(2024, 1, 15, 10, 30)),
        ("15/Jan/24", datetime(2024, 1, 15)),
        ("not a date", None),
        ("31/Feb/24 10:00 AM", None),
        ("15/Foo/24 10:00 AM", None),
        ("15/Jan/24 13:00 PM", None),
    ],
)
def test_jira_csv_date_formats(tmp_path, cell, expected):
    path = write(
        tmp_path, "dates.csv", f"Issue key,Summary,Created,Due Date\nD-1,Dates,{cell},{cell}\n"
    )

    [ticket] = tickets_of(path)

    assert ticket.created_at == expected
    if expected is not None:
        assert ticket.created_at.tzinfo == expected.tzinfo
    assert ticket.due_date == (expected.date() if expected else None)


def test_jira_csv_missing_required_columns_is_a_file_error(tmp_path):
    path = write(tmp_path, "export.csv", "Issue id,Status,Assignee\n1,Open,Jun\n")

    with pytest.raises(IngestError) as caught:
        list(iter_tickets(path))

    assert caught.value.position == "file"
    assert "missing column(s) Summary, Issue key" in caught.value.reason
    assert "Issue id, Status, Assignee" in caught.value.reason


def test_jira_csv_header_names_match_case_and_space_insensitively(tmp_path):
    path = write(
        tmp_path, "export.csv", " SUMMARY ,issue  KEY,status\nLoose header,LH-1,in review\n"
    )

    [ticket] = tickets_of(path)

    assert (ticket.key, ticket.title, ticket.state) == ("LH-1", "Loose header", "in_progress")


def test_jira_csv_bad_rows_are_yielded_and_the_rest_goes_on(tmp_path):
    content = (
        "Summary,Issue key,Status,Assignee,Labels\n"
        "Good one,OK-1,Open,Jun,a\n"
        ",OK-2,Open,Jun,b\n"  # no summary
        "Short row,OK-3\n"  # too few cells, but key and summary are there: kept
        "Lonely cell\n"  # too few cells and no key
        "Bad key,hello world,Open,,\n"
        "\n"
        "Also good,OK-7,Done,,c d\n"
    )
    path = write(tmp_path, "export.csv", content)

    items = list(iter_tickets(path))

    kinds = [(type(i).__name__, i.position) for i in items]
    assert kinds == [
        ("Ticket", "row 2"),
        ("IngestError", "row 3"),
        ("Ticket", "row 4"),
        ("IngestError", "row 5"),
        ("IngestError", "row 6"),
        ("Ticket", "row 8"),
    ]
    assert items[1].reason == "no Summary"
    assert items[3].reason.startswith("no Issue key (the row has 1 cells, the header 5")
    assert "does not look like a Jira key" in items[4].reason
    assert items[2].state == "open" and items[2].raw_state == ""
    assert items[5].labels == ["c", "d"]


def test_jira_csv_with_bom(tmp_path):
    path = write(tmp_path, "bom.csv", "\ufeffSummary,Issue key\nBOM first,B-1\n".encode())

    [ticket] = tickets_of(path)

    assert ticket.key == "B-1"


@pytest.mark.parametrize(
    ("encoding", "title", "assignee", "description"),
    [
        (
            "cp1252",
            "Réparer la clôture du jardin",
            "Zoë Müller",
            "Prévoir les matériaux à l'avance, déjà commandé chez le fournisseur habituel",
        ),
        ("latin-1", "Über die Brücke gehen", "Jürgen Weiß", "Große Änderung vorbereiten"),
        (
            "cp1251",
            "Приготовить отчёт к пятнице",
            "Иван Петров",
            "Согласовать с бухгалтерией до конца недели",
        ),
        ("cp1250", "Zażółć gęślą jaźń", "Łukasz Wróbel", "Przygotować materiały przed spotkaniem"),
        ("cp1253", "Ελληνικά κείμενα για δοκιμή", "Γιώργος Παπαδόπουλος", "Ετοιμάστε την αναφορά"),
    ],
)
def test_jira_csv_in_a_legacy_encoding_with_semicolons(
    tmp_path, encoding, title, assignee, description
):
    content = f"Summary;Issue key;Assignee;Description\n{title};LEG-1;{assignee};{description}\n"
    path = write(tmp_path, "export.csv", content.encode(encoding))

    [ticket] = tickets_of(path)

    assert (ticket.title, ticket.assignee, ticket.body) == (title, assignee, description)


def test_jira_csv_saved_as_utf16_tab_separated(tmp_path):
    content = "Summary\tIssue key\tStatus\nÜbersetzen\tDE-4\tDone\n"
    path = write(tmp_path, "export.csv", content.encode("utf-16"))

    [ticket] = tickets_of(path)

    assert (ticket.key, ticket.title, ticket.state) == ("DE-4", "Übersetzen", "done")


def test_jira_csv_status_category_column_wins_over_the_name(tmp_path):
    path = write(
        tmp_path,
        "export.csv",
        "Summary,Issue key,Status,Status Category\nCustom flow,CF-1,Waiting for Jun,In Progress\n",
    )

    [ticket] = tickets_of(path)

    assert (ticket.state, ticket.raw_state) == ("in_progress", "Waiting for Jun")


def test_jira_csv_comment_without_date_is_kept_as_plain_text(tmp_path):
    path = write(
        tmp_path, "export.csv", 'Summary,Issue key,Comment\nPlain,P-1,"just words; no date"\n'
    )

    [ticket] = tickets_of(path)

    assert ticket.comments == [TicketComment(None, None, "just words; no date")]


def test_jira_csv_unterminated_quote_costs_the_row_not_the_file(tmp_path):
    path = write(tmp_path, "export.csv", 'Summary,Issue key\nFine,U-1\n"Broken,U-2\nLost,U-3\n')

    items = list(iter_tickets(path))

    assert isinstance(items[0], Ticket) and items[0].key == "U-1"
    assert isinstance(items[1], IngestError) and items[1].position == "row 3"


def test_header_only_csv_holds_no_tickets(tmp_path):
    assert list(iter_tickets(write(tmp_path, "e.csv", "Summary,Issue key\n"))) == []


# ------------------------------------------------------------------------------------------
# Property tests: whatever comes in, only Tickets and IngestErrors come out


def _check_only_tickets_or_errors(path: Path) -> None:
    try:
        items = list(iter_tickets(path))
    except IngestError as error:
        assert error.reason and error.position
        return
    for item in items:
        assert isinstance(item, (Ticket, IngestError))
        if isinstance(item, IngestError):
            # The parser's safety net says "unexpected": reaching it means a case was missed.
            assert not item.reason.startswith("unexpected"), item.reason
        else:
            assert item.key and item.title
            assert item.state in {"open", "in_progress", "done", "closed"}


_PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", ["any.json", "any.jsonl", "any.csv"])
@_PROPERTY_SETTINGS
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_yield_only_tickets_or_errors(tmp_path, name, data):
    _check_only_tickets_or_errors(write(tmp_path, name, data))


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["ABC-12", "2024-01-15T10:30:00.000+0000", "15/Jan/24 10:30 AM", "done"])
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=10)
            | st.sampled_from(
                ["issues", "items", "values", "fields", "key", "number", "title", "summary", "type"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
# Field values for tracker-shaped records: smaller trees, so each example stays cheap.
_field_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["login", "name", "displayName", "key", "due_on"]), children
        )
    ),
    max_leaves=6,
)


@_PROPERTY_SETTINGS
@given(value=_json_values)
def test_arbitrary_json_values_yield_only_tickets_or_errors(tmp_path, value):
    _check_only_tickets_or_errors(write(tmp_path, "any.json", json.dumps(value)))


_GITHUB_FIELDS = [
    "body", "state", "state_reason", "stateReason", "user", "author", "assignee", "assignees",
    "labels", "milestone", "comments", "created_at", "createdAt", "closed_at", "url",
    "html_url", "repository_url", "repository", "pull_request",
]  # fmt: skip
_JIRA_FIELDS = [
    "description", "status", "resolution", "assignee", "reporter", "labels",
    "duedate", "created", "updated", "resolutiondate", "comment",
]  # fmt: skip
_ADF_BLOCK_TYPES = [
    "doc", "paragraph", "bulletList", "orderedList", "listItem", "codeBlock", "table",
    "tableRow", "tableCell", "blockquote", "heading", "panel",
]  # fmt: skip
_adf_nodes = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "mention", "hardBreak", "emoji", "date", "status"])},
        optional={"text": _field_values, "attrs": _field_values, "marks": _field_values},
    ),
    lambda children: st.fixed_dictionaries(
        {
            "type": st.sampled_from(_ADF_BLOCK_TYPES),
            "content": st.lists(children, max_size=4) | children,
        },
        optional={"attrs": _field_values},
    ),
    max_leaves=10,
)


@_PROPERTY_SETTINGS
@given(
    github=st.lists(
        st.fixed_dictionaries(
            {"number": _field_values, "title": _field_values},
            optional={name: _field_values for name in _GITHUB_FIELDS},
        ),
        max_size=2,
    ),
    jira=st.lists(
        st.fixed_dictionaries(
            {
                "key": st.sampled_from(["ABC-1", "x", ""]) | _field_values,
                "self": st.sampled_from(["https://j.example/rest/api/2/issue/1", "/rest/"]),
                "fields": st.fixed_dictionaries(
                    {"summary": st.text(min_size=1, max_size=10) | _field_values},
                    optional={name: _field_values for name in _JIRA_FIELDS}
                    | {"description": _adf_nodes | _field_values},
                ),
            }
        ),
        max_size=2,
    ),
)
def test_tracker_shaped_records_with_arbitrary_values(tmp_path, github, jira):
    _check_only_tickets_or_errors(write(tmp_path, "shaped.json", json.dumps(github + jira)))
    lines = "\n".join(json.dumps(record) for record in github + jira) or "{}"
    _check_only_tickets_or_errors(write(tmp_path, "shaped.jsonl", lines))


_csv_cells = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30
) | st.sampled_from(
    ["ABC-12", "15/Jan/24 10:30 AM", "2024-01-15 10:30", "15/01/2024 10:30", "Done", '"', ";;;"]
)


@_PROPERTY_SETTINGS
@given(rows=st.lists(st.lists(_csv_cells, max_size=8), max_size=6))
def test_csv_with_jira_header_and_arbitrary_cells(tmp_path, rows):
    header = "Summary,Issue key,Status,Created,Due Date,Labels,Labels,Comment"
    body = "\n".join(",".join(row) for row in rows)
    path = write(tmp_path, "export.csv", header + "\n" + body)
    _check_only_tickets_or_errors(path)


def test_offset_timestamps_are_utc_and_zoneless_ones_naive(tmp_path):
    path = write(
        tmp_path,
        "zones.json",
        json.dumps(
            [
                {"number": 1, "title": "a", "created_at": "2024-01-15T10:30:00-05:00"},
                {"number": 2, "title": "b", "created_at": "2024-01-15T10:30:00"},
            ]
        ),
    )

    with_offset, without = tickets_of(path)

    assert with_offset.created_at == datetime(
        2024, 1, 15, 10, 30, tzinfo=timezone(timedelta(hours=-5))
    )
    assert with_offset.created_at.tzinfo == UTC
    assert without.created_at == datetime(2024, 1, 15, 10, 30)
    assert without.created_at.tzinfo is None
