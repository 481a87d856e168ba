"""``assistant-pipelines eval`` end to end: a fictional AMI-format file, the real ``openai``
client against the loopback rule-based model, the real matcher (MiniLM), the warehouse cache.
With the focus pass on and off, a document the model fails on, and a file of the wrong shape."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from assistant_pipelines.evaluation.command import run_eval_command
from assistant_pipelines.settings import load_settings
from tests.conftest import rule_based_extraction
from tests.fakes.openai_server import ChatReply, ErrorReply, FakeOpenAIServer, json_reply

ROLES = {"A": "ID", "B": "PM", "C": "UI", "D": "ME"}
TALK = [
    ("A", "The casing could be a bit rounder than the last prototype."),
    ("C", "People mostly complained about the tiny labels on the old one."),
    ("D", "The survey numbers from the spring are still the best we have."),
    ("B", "That matches what the sales team told us about the older models."),
    ("A", "Mm-hmm."),
]


def _utterances(meeting_number: int) -> list[tuple[str, str]]:
    talk = [TALK[i % len(TALK)] for i in range(36)]
    talk[8] = ("D", f"I'll collect the prices of rival remotes for round {meeting_number}.")
    talk[20] = ("A", "I will sketch three casing options.")
    talk += [("B", "Okay, so to wrap up for the next meeting."),
             ("B", "I'll write the minutes and put them in the shared folder."),
             ("C", "Sounds good."), ("B", "Thanks everyone.")]
    return talk


def _meeting(meeting_id: str, number: int, gold: list[str], evidence: list[list[int]] | None = None) -> dict:
    transcript = [{"speaker": f"{ROLES[s]} ({s})", "speaker_letter": s, "role": ROLES[s], "text": text,
                   "start": float(i), "end": i + 0.9, "da_type": "Inform"}
                  for i, (s, text) in enumerate(_utterances(number))]
    return {"source_id": f"AMI:{meeting_id}", "meeting_id": meeting_id, "series": meeting_id[:-1],
            "meeting_in_series": meeting_id[-1],
            "meta": {"type": "scenario", "date": "07-03-05",
                     "speakers": {s: {"role": r, "participant": f"X{s}"} for s, r in ROLES.items()}},
            "transcript": transcript, "gold_actions": gold,
            "gold_actions_detail": [{"id": f"{meeting_id}.g{i}", "text": g,
                                     "evidence_utterance_idx": evidence[i] if evidence else []}
                                    for i, g in enumerate(gold)],
            "gold_decisions": [], "gold_problems": [], "gold_abstract": [], "has_summlinks": True}


GOLD = ["The marketing expert will collect the prices of rival remotes.",
        "The industrial designer will sketch three casing options.",
        "The project manager will write the minutes."]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    meetings = [_meeting("QZ1001a", 1, GOLD), _meeting("QZ1001b", 2, GOLD)]
    (folder / "ami_meetings.jsonl").write_text("\n".join(json.dumps(m) for m in meetings) + "\n")
    return folder


def _run(data_dir: Path, home: Path, server: FakeOpenAIServer, focus: str, capsys,
         only: str | None = None, source: str = "ami", short_meetings: int | None = None, merged_turns: bool = False,
         as_cues: bool = False, match_anywhere: bool = False, **env: str) -> tuple[int, str, str, list[dict]]:
    settings = load_settings({"ASSISTANT_HOME": str(home), "ASSISTANT_LLM": "openai", "OPENAI_BASE_URL": server.base_url,
                              "OPENAI_API_KEY": server.api_key, "ASSISTANT_LLM_MODEL": "fake-model",
                              "ASSISTANT_LLM_FOCUS": focus, **env})
    out = home / "items.jsonl"
    code = run_eval_command(argparse.Namespace(data=str(data_dir), source=source, limit=None, out=str(out), only=only,
                                               short_meetings=short_meetings, merged_turns=merged_turns,
                                               as_cues=as_cues, match_anywhere=match_anywhere), settings)
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return code, captured.out, captured.err, rows


@pytest.mark.parametrize("focus", ["on", "off"])
def test_eval_prints_the_table_and_writes_every_item(data_dir, tmp_path, capsys, focus):
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, focus, capsys)
        judged = [r for r in server.chat_requests() if r.get("logprobs")]
    assert code == 0
    assert ("focus:" in out) == (focus == "on") and (bool(judged) == (focus == "on"))
    assert "precision" in out and "recall" in out and "owner" in out
    assert "QZ1001a: 3 predicted, 3 gold, 3 matched" in out
    predictions = [r for r in rows if r["kind"] == "prediction"]
    gold = [r for r in rows if r["kind"] == "gold"]
    assert len(gold) == 6 and len(predictions) == 6
    assert all(r["matched"] for r in predictions)


def _inventing_dues(request: dict) -> ChatReply:
    """The rule-based model, but giving every item the due "next week", as the embedded model
    does; the fixture's lines say no deadline at all."""
    reply = rule_based_extraction(request)
    if request.get("logprobs"):
        return reply
    answer = json.loads(reply.content)
    return json_reply({**answer, "action_items": [{**item, "due": "next week"} for item in answer["action_items"]]})


def test_dues_the_source_does_not_say_are_dropped_and_counted(data_dir, tmp_path, capsys):
    with FakeOpenAIServer(_inventing_dues) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "off", capsys)
    assert code == 0
    assert "due dates: the model gave 6 of its items one; 0 accepted items keep one, said in the source" in out
    predictions = [r for r in rows if r["kind"] == "prediction"]
    assert len(predictions) == 6 and all(r["due"] is None for r in predictions)


def test_an_email_is_read_as_the_pipeline_reads_it_without_its_quotes_and_signature(tmp_path, capsys):
    """The pipeline gives the model an e-mail's new text only (``mail_text``); so must the
    evaluation, or every reply re-extracts the promises it quotes (BC3: 129 of 188 e-mails
    quote or sign, 1,071 of 2,407 lines). Line numbers stay those of the whole body."""
    body = ("Hi Sam,\nI'll send the budget figures on Monday.\nDana\n--\nDana Whitfield | I'll answer within a day\n"
            "On Tue, 4 Mar 2003, Sam wrote:\n> I'll book the room for the review.\n> Sam")
    sentences = [{"id": f"1.{n}", "text": text, "votes": {"cmt": 0}} for n, text in enumerate(body.split("\n"), 1)]
    record = {"source_id": "BC3:901-1:2", "thread_id": "901-1", "date": "Tue, 04 Mar 2003 12:00:00 -0800",
              "from": "Dana Whitfield <dana@example.org>", "to": "sam@example.org", "subject": "Re: review",
              "body": body, "sentences": sentences,
              "gold_actions_detail": [{"sentence_id": "1.2", "text": "I'll send the budget figures on Monday.",
                                       "type": "commitment", "votes": {"req": 0, "cmt": 3}}]}
    data = tmp_path / "data"
    data.mkdir()
    (data / "bc3_emails.jsonl").write_text(json.dumps(record) + "\n")
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, _, _, rows = _run(data, tmp_path / "home", server, "off", capsys, source="bc3")
        asked = "\n".join(m["content"] for r in server.chat_requests() for m in r["messages"])
    assert code == 0
    assert "book the room" not in asked and "answer within a day" not in asked
    predictions = [r for r in rows if r["kind"] == "prediction"]
    assert [(r["task"], r["evidence_lines"], r["matched"]) for r in predictions] == [
        ("send the budget figures on Monday", [2], True)]


def test_short_meetings_are_cut_around_the_gold_and_evaluated_instead(data_dir, tmp_path, capsys):
    """``--short-meetings 24``: the last 24 non-filler lines up to just after the gold, the rest
    blanked; the gold item said before the window is not asked for, and the model never saw it."""
    meeting = _meeting("QZ1002a", 1, GOLD, evidence=[[8], [20], [37]])
    (data_dir / "ami_meetings.jsonl").write_text(json.dumps(meeting) + "\n")
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "on", capsys, short_meetings=24)
        shown = "\n".join(json.dumps(r["messages"]) for r in server.chat_requests())
    assert code == 0
    (window,) = {r["document"] for r in rows}
    assert window.startswith("QZ1002a@") and window.endswith("-40")
    assert f"{window}: 2 predicted, 2 gold, 2 matched" in out
    assert "rival remotes" not in shown  # line 9 lies before the window
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, _, err, _ = _run(data_dir, tmp_path / "home", server, "on", capsys, short_meetings=0)
    assert code == 2 and "--short-meetings" in err


def test_merged_turns_show_a_speakers_utterances_as_one_line_as_an_export_would(data_dir, tmp_path, capsys):
    """``--merged-turns``: the project manager's wrap-up and promise, two utterances, become one
    turn the judge is asked about; the gold evidence moves with it and the item is still found."""
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "on", capsys, merged_turns=True)
        shown = "\n".join(json.dumps(r["messages"]) for r in server.chat_requests() if r.get("logprobs"))
    assert code == 0
    assert {r["document"] for r in rows} == {"QZ1001a~turns", "QZ1001b~turns"}
    assert ">>> Project Manager: Okay, so to wrap up for the next meeting. I'll write the minutes" in shown
    assert "QZ1001a~turns: 3 predicted, 3 gold, 3 matched" in out


def test_as_cues_show_the_meeting_as_ingestion_reads_a_webvtt_export(data_dir, tmp_path, capsys):
    """``--as-cues``: the wrap-up ends its sentence, so the promise after it is asked about as
    a line of its own, as transcript ingestion would give it."""
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "on", capsys, as_cues=True)
        shown = "\n".join(json.dumps(r["messages"]) for r in server.chat_requests() if r.get("logprobs"))
    assert code == 0
    assert {r["document"] for r in rows} == {"QZ1001a~cues", "QZ1001b~cues"}
    assert ">>> Project Manager: I'll write the minutes" in shown
    assert ">>> Project Manager: Okay, so to wrap up for the next meeting. I'll" not in shown
    assert "QZ1001a~cues: 3 predicted, 3 gold, 3 matched" in out


def test_a_match_must_point_at_the_gold_items_part_of_the_meeting(data_dir, tmp_path, capsys):
    """The annotators tied the casing sketch to line 3, but the model finds it on line 21: alike
    in meaning, 18 lines apart, so not the same item unless ``--match-anywhere`` says meaning
    alone decides (how docs/quality.md rows 0-34 were measured)."""
    meeting = _meeting("QZ1003a", 1, GOLD, evidence=[[8], [2], [37]])
    (data_dir / "ami_meetings.jsonl").write_text(json.dumps(meeting) + "\n")
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "off", capsys)
        _, anywhere, _, rows_anywhere = _run(data_dir, tmp_path / "home", server, "off", capsys, match_anywhere=True)
    assert code == 0
    assert "QZ1003a: 3 predicted, 3 gold, 2 matched" in out
    assert "evidence within 10 lines of the gold's" in out
    assert "more than 10 lines from the gold item they resemble: ami 1 prediction(s)" in out
    (sketch,) = [r for r in rows if r["kind"] == "prediction" and "casing" in r["task"]]
    assert sketch["matched"] is False and sketch["nearest"]["lines_apart"] == 18
    assert "QZ1003a: 3 predicted, 3 gold, 3 matched" in anywhere and "by meaning alone, wherever the evidence lies" in anywhere
    (sketch,) = [r for r in rows_anywhere if r["kind"] == "prediction" and "casing" in r["task"]]
    assert sketch["matched"] is True and sketch["lines_apart"] is None


def test_rerun_is_served_from_the_cache(data_dir, tmp_path, capsys):
    with FakeOpenAIServer(rule_based_extraction) as server:
        _run(data_dir, tmp_path / "home", server, "on", capsys)
        asked = len(server.chat_requests())
        code, out, _, _ = _run(data_dir, tmp_path / "home", server, "on", capsys)
        assert len(server.chat_requests()) == asked
    assert code == 0 and "QZ1001b: 3 predicted, 3 gold, 3 matched" in out


def test_a_document_the_model_fails_on_counts_zero_and_is_listed(data_dir, tmp_path, capsys):
    def fails_on_round_two(request: dict):
        text = json.dumps(request["messages"])
        if "round 2" in text and not request.get("logprobs"):
            return ErrorReply(400, message="context length exceeded")
        return rule_based_extraction(request)

    with FakeOpenAIServer(fails_on_round_two) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "on", capsys)
    assert code == 0
    assert "QZ1001b: FAILED" in out and "context length exceeded" in out
    assert "QZ1001a: 3 predicted, 3 gold, 3 matched" in out
    assert any(r["kind"] == "failure" and r["document"] == "QZ1001b" for r in rows)


def test_a_data_file_of_the_wrong_shape_is_refused_naming_file_and_field(data_dir, tmp_path, capsys):
    broken = json.loads((data_dir / "ami_meetings.jsonl").read_text().splitlines()[0])
    del broken["transcript"]
    (data_dir / "ami_meetings.jsonl").write_text(json.dumps(broken) + "\n")
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, _, err, _ = _run(data_dir, tmp_path / "home", server, "on", capsys)
    assert code == 2
    assert "ami_meetings.jsonl" in err and "transcript" in err


def test_only_picks_documents_by_id_and_names_unknown_ones(data_dir, tmp_path, capsys):
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, out, _, rows = _run(data_dir, tmp_path / "home", server, "on", capsys, only="QZ1001b")
        assert code == 0 and "evaluating 1 documents" in out and "QZ1001a" not in out
        assert {r["document"] for r in rows} == {"QZ1001b"}
        code, _, err, _ = _run(data_dir, tmp_path / "home", server, "on", capsys, only="QZ1001b,QZ9999z")
    assert code == 2 and "QZ9999z" in err and "--only" in err


def test_the_budget_bounds_the_whole_evaluation_judge_included(data_dir, tmp_path, capsys):
    """QZ1001a is read once without a limit; with a budget too small for any request the next
    run scores it from the cache, sends nothing (not even a judge question) and stops at
    QZ1001b, naming it instead of scoring it as a failure."""
    home = tmp_path / "home"
    with FakeOpenAIServer(rule_based_extraction) as server:
        _run(data_dir, home, server, "on", capsys, only="QZ1001a")
        asked = len(server.chat_requests())
        code, out, _, rows = _run(data_dir, home, server, "on", capsys, ASSISTANT_LLM_BUDGET_TOKENS="50")
        assert len(server.chat_requests()) == asked
    assert code == 0
    assert "QZ1001a: 3 predicted, 3 gold, 3 matched" in out and "QZ1001b:" not in out.split("STOPPED")[0]
    assert "STOPPED EARLY: the budget ran out" in out and "QZ1001b" in out.split("STOPPED")[1]
    assert [r["document"] for r in rows if r["kind"] == "not_evaluated"] == ["QZ1001b"]
    assert not [r for r in rows if r["kind"] == "failure"]


def test_a_budget_it_cannot_enforce_is_refused(data_dir, tmp_path, capsys):
    with FakeOpenAIServer(rule_based_extraction) as server:
        code, _, err, _ = _run(data_dir, tmp_path / "home", server, "on", capsys, ASSISTANT_LLM_BUDGET_USD="1")
        assert server.chat_requests() == []
    assert code == 2 and "ASSISTANT_LLM_BUDGET_USD" in err and "price" in err
