"""``inbox_files_sensor`` through ``build_sensor_context``: what changed in the inbox decides
whether a run is requested, for which sources, and under which (deterministic) run key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from assistant_pipelines.resources import TeamResource
from assistant_pipelines.sensors.inbox import changes, inbox_files_sensor, read_cursor, scan_inbox


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    for folder in ("transcripts", "mail", "tickets"):
        (root / folder).mkdir(parents=True)
    (root / "transcripts" / "2026-10-06 sync.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ann>Hi\n")
    (root / "mail" / "team.mbox").write_text("From a@x Mon Oct  5 09:00:00 2026\nSubject: hi\n\nbody\n")
    return root


def tick(inbox: Path, cursor: str | None) -> dg.SensorResult:
    team = TeamResource(home=str(inbox.parent), inbox=str(inbox))
    context = dg.build_sensor_context(cursor=cursor, resources={"team": team})
    return inbox_files_sensor(context)


def requested(result: dg.SensorResult) -> tuple[str, list[str]]:
    (request,) = result.run_requests
    return request.run_key, sorted(key.to_user_string() for key in request.asset_selection)


def touch(path: Path, seconds_later: int = 5) -> None:
    """A new modification time, whatever the file system's clock resolution."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds_later * 1_000_000_000))


def test_first_tick_requests_a_run_for_the_kinds_present(inbox: Path) -> None:
    result = tick(inbox, None)
    run_key, assets = requested(result)
    assert assets == ["people", "raw_emails", "raw_transcripts"]  # no tickets yet: not selected
    assert len(run_key) == 32
    assert result.run_requests[0].tags == {"assistant/changed_files": "2"}
    assert set(json.loads(result.cursor)) == {"mail/team.mbox", "transcripts/2026-10-06 sync.vtt"}


def test_the_same_tick_evaluated_twice_gives_the_same_run_key(inbox: Path) -> None:
    assert requested(tick(inbox, None)) == requested(tick(inbox, None))


def test_unchanged_files_are_skipped(inbox: Path) -> None:
    cursor = tick(inbox, None).cursor
    result = tick(inbox, cursor)
    assert not result.run_requests
    assert result.skip_reason is not None and "no new or changed files" in result.skip_reason.skip_message
    assert result.cursor is None  # nothing to remember: the old cursor stays


@pytest.mark.parametrize("change", ["touch", "edit", "delete", "add_ticket", "people"])
def test_a_changed_file_requests_a_new_run_for_its_kind(inbox: Path, change: str) -> None:
    first = tick(inbox, None)
    mbox = inbox / "mail" / "team.mbox"
    expected = {"touch": ["people", "raw_emails"], "edit": ["people", "raw_emails"],
                "delete": ["people", "raw_emails"], "add_ticket": ["people", "raw_tickets"],
                "people": ["people"]}[change]
    if change == "touch":
        touch(mbox)
    elif change == "edit":
        mbox.write_text(mbox.read_text() + "\nFrom b@x Tue Oct  6 09:00:00 2026\nSubject: more\n\nx\n")
    elif change == "delete":
        mbox.unlink()
    elif change == "add_ticket":
        (inbox / "tickets" / "issues.json").write_text("[]")
    else:
        (inbox / "people.yaml").write_text("people: []\n")
    second = tick(inbox, first.cursor)
    run_key, assets = requested(second)
    assert assets == expected
    assert run_key != requested(first)[0]
    assert tick(inbox, second.cursor).run_requests == []  # and then it is quiet again


def test_a_file_restored_to_an_earlier_state_is_a_new_run(inbox: Path) -> None:
    """Deleted, then put back with its old size and time (a restore from the trash): a run key
    used before would make Dagster drop the request."""
    transcript = inbox / "transcripts" / "2026-10-06 sync.vtt"
    content, stat = transcript.read_bytes(), transcript.stat()
    keys = []
    cursor = None
    for step in ("start", "delete", "restore"):
        if step == "delete":
            transcript.unlink()
        elif step == "restore":
            transcript.write_bytes(content)
            os.utime(transcript, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        result = tick(inbox, cursor)
        keys.append(requested(result)[0])
        cursor = result.cursor
    assert len(set(keys)) == 3


def test_hidden_files_and_folders_and_other_folders_are_ignored(inbox: Path) -> None:
    cursor = tick(inbox, None).cursor
    (inbox / "mail" / ".team.mbox.swp").write_text("x")
    (inbox / "tickets" / ".git").mkdir()
    (inbox / "tickets" / ".git" / "HEAD").write_text("ref")
    (inbox / ".DS_Store").write_text("x")
    (inbox / "notes").mkdir()
    (inbox / "notes" / "todo.txt").write_text("x")
    assert tick(inbox, cursor).run_requests == []
    assert set(scan_inbox(inbox)) == {"mail/team.mbox", "transcripts/2026-10-06 sync.vtt"}


def test_nested_files_are_seen(inbox: Path) -> None:
    cursor = tick(inbox, None).cursor
    nested = inbox / "mail" / "maildir" / "new"
    nested.mkdir(parents=True)
    (nested / "1700000000.M1.host").write_text("Subject: x\n\ny\n")
    _, assets = requested(tick(inbox, cursor))
    assert assets == ["people", "raw_emails"]


def test_an_empty_or_missing_inbox_is_skipped(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert tick(missing, None).run_requests == []
    assert scan_inbox(missing) == {}


@pytest.mark.parametrize("cursor", ["not json", "[1, 2]", "null", '"text"'])
def test_an_unreadable_cursor_means_a_fresh_scan(inbox: Path, cursor: str) -> None:
    assert read_cursor(cursor) == {}
    _, assets = requested(tick(inbox, cursor))
    assert assets == ["people", "raw_emails", "raw_transcripts"]


def test_changes() -> None:
    assert changes({"a": "1:1", "b": "2:2"}, {"a": "1:1", "b": "2:3", "c": "3:3"}) == {"b": "2:3", "c": "3:3"}
    assert changes({"a": "1:1"}, {}) == {"a": "deleted"}
    assert changes({}, {}) == {}
