"""Loading the labelled AMI and BC3 files: fictional fixtures, every error path, the real data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant_pipelines.evaluation.datasets import (
    AmiUtterance,
    DatasetError,
    GoldItem,
    LabelledMeeting,
    ami_gold_owners,
    ami_transcript_lines,
    as_cues,
    load_ami,
    load_bc3,
    merged_turns,
    roles_named,
    short_meetings,
    task_text,
)
from assistant_pipelines.ingest.errors import IngestError
from tests.evaluation.support import AMI_SMALL, BC3_SMALL


def test_ami_fixture_meeting() -> None:
    meetings = load_ami(AMI_SMALL)
    assert [m.id for m in meetings] == ["XY1001a", "XY1001b", "XY1001c"]
    first = meetings[0]
    assert first.series == "XY1001"
    assert first.date == date(2005, 3, 7)
    assert first.utterances[0].speaker_label == "PM (B)"
    assert first.utterances[0].role == "PM"
    assert first.utterances[0].start == 1.0
    owners = [(g.owner, g.owners) for g in first.gold]
    assert owners == [
        ("ID", ("ID",)),
        ("ME", ("ME",)),
        ("ME", ("ME",)),  # "She will also …" continues the marketing expert's item
        (None, ("ID", "UI")),  # shared by two roles
        (None, ()),  # "The team will …": a group action
    ]
    # evidence_utterance_idx is 0-based; evidence lines are 1-based line numbers.
    assert first.gold[0].evidence_lines == (5, 6)
    assert first.lines()[4].startswith("Project Manager: Right. So for next time")


def test_ami_lines_use_role_names_and_stay_one_per_utterance() -> None:
    meeting = load_ami(AMI_SMALL)[0]
    lines = ami_transcript_lines(meeting)
    assert len(lines) == len(meeting.utterances)
    assert lines[2] == (
        "Marketing Expert: I looked at what students pay for remotes, mostly under twenty euro."
    )
    # What the extraction's SourceDocument needs: kind, time, participants, lines.
    assert meeting.kind == "meeting"
    assert (
        meeting.occurred_at is not None and meeting.occurred_at.isoformat() == "2005-03-07T00:00:00"
    )
    assert meeting.participants == [
        "Project Manager",
        "Industrial Designer",
        "Marketing Expert",
        "User Interface Designer",
    ]
    roles = meeting.speaker_roles()
    assert roles["Industrial Designer"] == "ID"
    assert roles["PM (B)"] == "PM"
    assert roles["XEO104"] == "ME"


def test_ami_na_gold_is_empty_and_variants_are_parsed() -> None:
    _, na, variant = load_ami(AMI_SMALL)
    assert na.gold == []
    assert na.date == date(2005, 3, 8)  # dd-mm-yyyy
    # meta as a JSON string, gold as JSON / Python-repr strings, roles only via meta letters.
    assert variant.series == "XY1001"  # derived from the id when the field is absent
    assert variant.date == date(2005, 3, 9)
    assert [u.role for u in variant.utterances] == ["PM", "UI", "PM"]
    assert variant.utterances[0].start == 2.0 and variant.utterances[1].end is None
    assert [(g.owner, g.evidence_lines) for g in variant.gold] == [("PM", (1,)), ("UI", (2, 3))]


def test_bc3_fixture_emails() -> None:
    first, second, third = load_bc3(BC3_SMALL)
    assert first.sender == "Dana Whitfield"
    assert first.sender_email == "dana.whitfield@example.org"
    assert first.date is not None and first.date.isoformat() == "2003-03-04T09:15:00-08:00"
    assert [(g.kind, g.owner, g.evidence_lines) for g in first.gold] == [
        ("request", None, (3,)),
        ("commitment", "Dana Whitfield", (4,)),
    ]
    # Python-repr gold; a sentence wrapped over two body lines cites both.
    assert second.sender == "omar@example.org"
    assert second.gold[0].evidence_lines == (4, 5)
    assert second.recipients == ["dana.whitfield@example.org", "glossary-team@example.org"]
    assert third.gold == [] and third.date is None
    assert first.speaker_roles()["dana.whitfield@example.org"] == "Dana Whitfield"
    assert first.kind == "email" and first.occurred_at == first.date
    assert first.participants == ["Dana Whitfield", "glossary-team@example.org"]
    assert first.lines()[2] == "Could everyone send comments by Thursday?"


def _write(path: Path, *records: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def _ami_record(**overrides: object) -> dict:
    record = json.loads(AMI_SMALL.read_text().splitlines()[0])
    record.update(overrides)
    return record


@pytest.mark.parametrize(
    ("records", "position", "reason"),
    [
        (["{not json"], "line 1", "not valid JSON"),
        ([[1, 2]], "line 1", "expected a JSON object, found list"),
        ([{"meeting_id": "A1", "gold_actions": []}], "line 1", "missing field 'transcript'"),
        (
            [{"meeting_id": "A1", "transcript": "[{oops", "gold_actions": []}],
            "line 1",
            "neither JSON nor a Python literal",
        ),
        (
            [{"meeting_id": "A1", "transcript": {"a": 1}, "gold_actions": []}],
            "line 1",
            "'transcript' should be a list",
        ),
        (
            [{"meeting_id": "A1", "transcript": [{"speaker": "PM (A)"}], "gold_actions": []}],
            "line 1",
            "transcript[0] has no 'text'",
        ),
        ([{"meeting_id": "A1", "transcript": []}], "line 1", "missing field 'gold_actions'"),
        (
            [{"meeting_id": None, "transcript": [], "gold_actions": []}],
            "line 1",
            "missing field 'meeting_id'",
        ),
        ([_ami_record(), "", _ami_record()], "line 3", "already appeared on line 1"),
        (
            [_ami_record(gold_actions_detail=[{"text": "x", "evidence_utterance_idx": [99]}])],
            "line 1",
            "[99] is outside the transcript of 10 utterances",
        ),
        (
            [_ami_record(gold_actions_detail=[{"text": "x", "evidence_utterance_idx": ["7"]}])],
            "line 1",
            "should be a list of integers",
        ),
        ([_ami_record(gold_actions=[1, 2])], "line 1", "gold_actions[0] should be text"),
    ],
)
def test_ami_errors_name_file_line_and_field(
    tmp_path: Path, records: list, position: str, reason: str
) -> None:
    path = _write(tmp_path / "meetings.jsonl", *records)
    with pytest.raises(DatasetError) as caught:
        load_ami(path)
    error = caught.value
    assert isinstance(error, IngestError)
    assert error.source_file == str(path)
    assert error.position == position
    assert reason in error.reason
    assert str(path) in str(error) and position in str(error)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_ami(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(DatasetError, match="holds no records"):
        load_bc3(tmp_path / "empty.jsonl")
    (tmp_path / "latin1.jsonl").write_bytes('{"body": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_bc3(tmp_path / "latin1.jsonl")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": None}, "missing field 'body'"),
        ({"body": ["a"]}, "'body' should be text"),
        ({"from": ""}, "'from' holds no sender"),
        (
            {"gold_actions_detail": "[{'text': 'x'", "gold_actions": []},
            "neither JSON nor a Python literal",
        ),
        (
            {"gold_actions_detail": [{"type": "request"}]},
            "gold_actions_detail[0] should be an object with 'text'",
        ),
        ({"gold_actions_detail": None, "gold_actions": None}, "missing field 'gold_actions'"),
    ],
)
def test_bc3_errors(tmp_path: Path, change: dict, reason: str) -> None:
    record = json.loads(BC3_SMALL.read_text().splitlines()[0])
    record.update(change)
    path = _write(tmp_path / "mail.jsonl", record)
    with pytest.raises(DatasetError, match="line 1") as caught:
        load_bc3(path)
    assert reason in caught.value.reason


def test_gold_owner_parsing() -> None:
    assert ami_gold_owners("The Industrial Deigner will sand the prototype casing.") == ("ID",)
    assert ami_gold_owners("The interface specialist will draw the menu screens.") == ("UI",)
    assert ami_gold_owners("The marketing executive will work on requirements") == ("ME",)
    assert ami_gold_owners(
        "The Project Manager will ask the supplier whether they can help the Industrial Designer."
    ) == ("PM",)
    assert ami_gold_owners("The industial and interface designer will glue the buttons on.") == (
        "ID",
        "UI",
    )
    assert ami_gold_owners("All participants will bring one idea for the logo.") == ()
    assert ami_gold_owners("They will get the schedule by email") == ()
    assert ami_gold_owners("He will also present the plan.", previous=("PM",)) == ("PM",)
    assert ami_gold_owners("He will also present the plan.", previous=("ID", "UI")) == ()
    assert roles_named("the marketing manager") == ["ME"]  # not also the project manager
    assert roles_named("ask ME or the PM") == ["ME", "PM"]
    assert roles_named("give me the id") == []


def test_task_text_removes_only_owner_leads() -> None:
    assert task_text("The industrial designer will sketch three casing options.") == (
        "sketch three casing options."
    )
    assert task_text("The User Interface Designer was assigned the task of making the layout.") == (
        "making the layout."
    )
    assert task_text("Maria to send the draft", names=["Maria"]) == "send the draft"
    assert task_text("Maria to send the draft") == "Maria to send the draft"  # unknown name
    assert task_text("Send Maria the report so that it can be reviewed", names=["Maria"]) == (
        "Send Maria the report so that it can be reviewed"
    )
    assert task_text("The design of the remote is to be carried out next time.") == (
        "The design of the remote is to be carried out next time."
    )
    assert task_text("The team have two questionnaires to complete before they finish.") == (
        "The team have two questionnaires to complete before they finish."
    )


def test_real_data_loads(shared_data: Path) -> None:
    meetings = load_ami(shared_data / "ami_meetings.jsonl")
    assert len(meetings) == 40
    assert all(m.date is not None and m.utterances for m in meetings)
    # README: six meetings say "*NA*"; two more say "NA." and "*NA*." — also no gold.
    assert sum(1 for m in meetings if not m.gold) == 8
    gold = [g for m in meetings for g in m.gold]
    assert len(gold) == 76
    for meeting in meetings:
        lines = meeting.lines()
        assert len(lines) == len(meeting.utterances)
        assert all(1 <= n <= len(lines) for g in meeting.gold for n in g.evidence_lines)
        assert all(g.evidence_lines for g in meeting.gold)
    assert sum(1 for g in gold if g.owner) >= 50
    emails = load_bc3(shared_data / "bc3_emails.jsonl")
    assert len(emails) == 188
    items = [g for e in emails for g in e.gold]
    assert len(items) == 88
    assert all(g.evidence_lines for g in items)
    assert {g.kind for g in items} == {"request", "commitment"}


def _long_meeting(gold: list[GoldItem]) -> LabelledMeeting:
    talk = ["The casing could be rounder.", "Mm-hmm.", "Labels were too small on the old one.", "Okay."]
    utterances = [AmiUtterance("PM (B)" if i % 2 else "ID (A)", "PM" if i % 2 else "ID", talk[i % 4], None, None)
                  for i in range(200)]
    return LabelledMeeting("QZ9a", "QZ9", "t", None, utterances, gold)


def test_short_meetings_keep_the_gold_inside_and_numbering_and_skip_cut_evidence() -> None:
    inside = GoldItem("The PM will write the minutes.", "PM", (190,))
    before = GoldItem("The ID will sketch.", "ID", (20,))
    (window, quiet) = short_meetings([_long_meeting([before, inside])], content_lines=10)
    assert (window.id, window.gold, window.first_line, window.last_line) == ("QZ9a@175-194", [inside], 175, 194)
    lines = window.lines()
    assert len(lines) == 200 and lines[174] and not lines[173] and lines[193] and not lines[194]
    assert quiet.id == "QZ9a@81-100" and quiet.gold == []  # the middle, far from any evidence
    split = GoldItem("The PM will write it up.", "PM", (150, 190))  # evidence cut by the window
    assert [w.id for w in short_meetings([_long_meeting([split])], content_lines=10)] == ["QZ9a@81-100"]


def test_merged_turns_join_a_speakers_utterances_as_an_export_would_and_move_the_evidence() -> None:
    said = [("PM (B)", "PM", "Right, to wrap up."), ("PM (B)", "PM", ""), ("PM (B)", "PM", "You will draw the case,"),
            ("ID (A)", "ID", "Yep."), ("PM (B)", "PM", "and you the buttons."), ("PM (B)", "PM", "x" * 480),
            ("PM (B)", "PM", "Thanks.")]
    utterances = [AmiUtterance(label, role, text, float(i), float(i) + 0.5) for i, (label, role, text) in enumerate(said)]
    case = GoldItem("The ID will draw the case.", "ID", (3,))
    buttons = GoldItem("The UI will do the buttons.", "UI", (5,))
    last = GoldItem("The PM will say thanks.", "PM", (5, 6))  # spans two turns
    meeting = LabelledMeeting("QZ9a", "QZ9", "t", None, utterances, [case, buttons, last])
    turns = merged_turns(meeting)
    assert turns.id == "QZ9a~turns" and meeting.id == "QZ9a"  # the original is left alone
    assert turns.lines() == [
        "Project Manager: Right, to wrap up. You will draw the case,",
        "Industrial Designer: Yep.",
        "Project Manager: and you the buttons.",  # 480 more characters would pass the 500 of ingestion
        f"Project Manager: {'x' * 480} Thanks.",
    ]
    assert (turns.utterances[0].start, turns.utterances[0].end) == (0.0, 2.5)
    assert [g.evidence_lines for g in turns.gold] == [(1,), (3,), (3, 4)]
    assert [g.text for g in turns.gold] == [g.text for g in meeting.gold]


def test_as_cues_join_a_speakers_utterances_only_until_a_sentence_ends() -> None:
    """``--as-cues``: the meeting as ingestion reads a WebVTT export of it. Fragments join the
    sentence they lead into; an utterance that ends a sentence ends its line, so the promise
    said after a wrap-up stays a line of its own."""
    said = [("PM (B)", "PM", "Right, to wrap up."), ("PM (B)", "PM", "Um and um"),
            ("PM (B)", "PM", "you will draw the case."), ("ID (A)", "ID", "Yep."),
            ("PM (B)", "PM", "And you the buttons,"), ("PM (B)", "PM", ""), ("PM (B)", "PM", "by Friday.")]
    utterances = [AmiUtterance(label, role, text, float(i), float(i) + 0.5) for i, (label, role, text) in enumerate(said)]
    case = GoldItem("The ID will draw the case.", "ID", (3,))
    buttons = GoldItem("The UI will do the buttons by Friday.", "UI", (5, 7))
    meeting = LabelledMeeting("QZ9a", "QZ9", "t", None, utterances, [case, buttons])
    cues = as_cues(meeting)
    assert cues.id == "QZ9a~cues"
    assert cues.lines() == [
        "Project Manager: Right, to wrap up.",
        "Project Manager: Um and um you will draw the case.",
        "Industrial Designer: Yep.",
        "Project Manager: And you the buttons, by Friday.",
    ]
    assert (cues.utterances[1].start, cues.utterances[1].end) == (1.0, 2.5)
    assert [g.evidence_lines for g in cues.gold] == [(2,), (4,)]
