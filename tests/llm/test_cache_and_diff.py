"""The answer cache across runs and prompt versions, and the diff between two versions."""

from __future__ import annotations

import argparse
import json
import re
from datetime import date

import pytest

from assistant_pipelines.llm import extract
from assistant_pipelines.llm.diff import (
    DiffError,
    add_diff_arguments,
    diff_prompt_versions,
    run_diff_command,
)
from assistant_pipelines.llm.extract import run_extraction
from assistant_pipelines.llm.ledger import summarize_calls
from assistant_pipelines.settings import load_settings
from tests.fakes.openai_server import json_reply
from tests.llm.conftest import (
    email,
    extraction_model,
    fast_settings,
    first_user,
    make_backend,
    make_store,
    meeting,
)

WEEK = date(2026, 10, 5)


def _extract(wh, server, docs, run_id):
    with make_store(wh, run_id) as store:
        run = run_extraction(docs, make_backend(server), store, fast_settings())
        store.write_extractions(WEEK, run.prompt_version, "fake-model", run.outcomes)
    return run


def test_a_rerun_over_unchanged_inputs_makes_no_calls(server, wh):
    docs = [meeting(1, lines=40), email(1), meeting(2)]
    first = _extract(wh, server, docs, "run-1")
    calls = len(server.chat_requests())
    assert calls == len(first.outcomes) >= 3
    second = _extract(wh, server, docs, "run-2")
    assert len(server.chat_requests()) == calls
    summary = summarize_calls(second.calls)
    assert summary["model_calls"] == 0 and summary["cache_hits"] == len(first.outcomes)
    assert [o.result for o in second.outcomes] == [o.result for o in first.outcomes]


def test_a_changed_document_title_is_a_new_question(server, wh):
    _extract(wh, server, [meeting(1)], "run-1")
    renamed = meeting(1)
    renamed = type(renamed)(renamed.document_id, renamed.kind, "Kestrel sync (renamed)", renamed.occurred_at,
                            renamed.participants, renamed.lines)
    _extract(wh, server, [renamed], "run-2")
    assert len(server.chat_requests()) == 2


def test_a_new_prompt_version_re_extracts_keeps_both_and_diffs(server, wh, monkeypatch, capsys):
    docs = [meeting(1), meeting(2), email(3)]
    old = _extract(wh, server, docs, "run-1")

    # Version 2 of the "prompt": the model now also sets due dates, drops one item of
    # meeting-1 and finds a new one in the e-mail.
    def version_two(request):
        reply = json.loads(extraction_model(request).content)
        user = first_user(request)
        for item in reply["action_items"]:
            item["due"] = "Friday"
        if '"Kestrel sync 1"' in user:
            reply["action_items"] = reply["action_items"][1:]
        if '"Harbor budget 3"' in user:
            reply["action_items"].append({"task": "book the harbor meeting room", "owner": "Ola", "due": "",
                                          "status": "open", "priority": "high", "confidence": 0.6,
                                          "evidence_lines": [3]})
        return json_reply(reply)

    server.set_responder(version_two)
    monkeypatch.setattr(extract, "prompt_version", lambda: "extract_action_items@v2v2v2v2v2v2")
    new = _extract(wh, server, docs, "run-2")
    assert len(server.chat_requests()) == 2 * len(docs), "a new prompt version must ask the model again"
    assert not any(o.from_cache for o in new.outcomes)

    # Both versions' answers are kept side by side.
    versions = wh.query("SELECT prompt_version, COUNT(*) AS n FROM document_extractions GROUP BY 1 ORDER BY 1")
    assert [(v["prompt_version"], v["n"]) for v in versions] == [
        (old.prompt_version, 3), ("extract_action_items@v2v2v2v2v2v2", 3)]
    assert wh.scalar("SELECT COUNT(DISTINCT prompt_version) FROM llm_cache") == 2

    diff = diff_prompt_versions(wh, old.prompt_version, "v2v2")
    totals = diff.totals()
    assert totals["documents_compared"] == 3 and totals["documents_changed"] == 3
    by_doc = {d.document_id: d for d in diff.documents}
    assert [i.task for i in by_doc["meeting-1"].removed] == ["prepare item 1 of the kestrel plan 1"]
    assert [i.task for i in by_doc["email-3"].added] == ["book the harbor meeting room"]
    assert all(c.fields == ("due",) and c.new.due == "Friday" for c in by_doc["meeting-2"].changed)
    assert totals["changed"] == 2 + 3 + 1 and totals["unchanged"] == 0

    # The command the CLI wires up.
    parser = argparse.ArgumentParser()
    add_diff_arguments(parser)
    settings = load_settings({"ASSISTANT_WAREHOUSE_URL": f"duckdb:///{_path(wh)}", "ASSISTANT_HOME": "/tmp"})
    wh.close()  # the command opens the DuckDB file itself
    assert run_diff_command(parser.parse_args(["--from", old.prompt_version.split("@")[1][:6],
                                               "--to", "v2v2v2"]), settings) == 0
    out = capsys.readouterr().out
    assert "documents compared: 3 (3 changed)" in out
    assert "- prepare item 1 of the kestrel plan 1" in out
    assert "+ book the harbor meeting room" in out
    assert re.search(r"~ prepare item 2 of the kestrel plan 2 \(due: ∅ → Friday\)", out)
    assert run_diff_command(parser.parse_args([]), settings) == 0
    assert "extract_action_items@v2v2v2v2v2v2" in capsys.readouterr().out
    assert run_diff_command(parser.parse_args(["--from", "nope", "--to", "v2v2"]), settings) == 2
    assert "no extraction with prompt version 'nope'" in capsys.readouterr().err


def _path(wh) -> str:
    return wh.query("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")[0]["path"]


def test_unknown_or_ambiguous_versions_are_refused(server, wh):
    _extract(wh, server, [meeting(1)], "run-1")
    with pytest.raises(DiffError, match="no extraction"):
        diff_prompt_versions(wh, "missing", "also-missing")
    with pytest.raises(DiffError, match="several"):
        from assistant_pipelines.llm.diff import resolve_version

        wh.execute("UPDATE document_extractions SET prompt_version = 'extract_action_items@aaa111'")
        _extract(wh, server, [meeting(1)], "run-2")
        resolve_version(wh, "extract_action_items@")
