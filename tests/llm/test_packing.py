"""Packing short e-mails into one request and mapping the answer back to each of them."""

from __future__ import annotations

import json

import pytest

from assistant_pipelines.llm.extract import group_requests, plan_work, run_extraction
from assistant_pipelines.llm.packing import PackError, PackPlan, group, unpack
from assistant_pipelines.llm.schema import PackedExtractionResult
from tests.fakes.openai_server import json_reply
from tests.llm.conftest import (
    email,
    extraction_model,
    fast_settings,
    first_user,
    is_packed,
    ledger,
    make_backend,
    meeting,
    requested_titles,
)


def _entry(doc_id: str, task: str = "do it") -> dict:
    return {"document": doc_id, "action_items": [{"task": task, "owner": "", "due": "", "status": "open",
                                                  "priority": "normal", "confidence": 0.5, "evidence_lines": [1]}],
            "decisions": [], "open_questions": [], "summary": ""}


def test_group_respects_document_and_token_limits():
    plan = PackPlan(max_documents=3, max_source_tokens=100)
    assert group(list("abcdefg"), [10] * 7, plan) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert group(list("abcd"), [60, 60, 30, 90], plan) == [["a"], ["b", "c"], ["d"]]
    with pytest.raises(ValueError):
        PackPlan(max_documents=9)


def test_only_short_single_chunk_emails_are_packed():
    long_mail = email(9)
    long_mail = type(long_mail)(long_mail.document_id, "email", "Long", long_mail.occurred_at, [],
                                [f"Line {i} of a long e-mail about the harbor budget." for i in range(200)])
    settings = fast_settings(pack=PackPlan(max_documents=4))
    items = plan_work([email(1), meeting(1), email(2), long_mail, email(3)], settings)
    assert [i.packable for i in items if i.document.document_id != "email-9"] == [True, False, True, True]
    assert not any(i.packable for i in items if i.document.document_id == "email-9")
    requests = group_requests(items, settings)
    packed = [r for r in requests if r.packed]
    assert len(packed) == 1 and [i.document.document_id for i in packed[0].items] == ["email-1", "email-2", "email-3"]
    assert sum(len(r.items) for r in requests) == len(items)


def test_unpack_maps_entries_in_any_order_and_case():
    answer = PackedExtractionResult.model_validate({"documents": [_entry("d2", "second"), _entry("D1", "first")]})
    mapped = unpack(answer, ["D1", "D2"])
    assert mapped["D1"].action_items[0].task == "first"
    assert mapped["D2"].action_items[0].task == "second"


@pytest.mark.parametrize("entries, problem", [
    (["D1", "D2", "D9"], "not given: D9"),
    (["D1", "D1", "D2"], "more than one entry for D1"),
    (["D1"], "no entry for D2"),
])
def test_unpack_refuses_answers_that_do_not_map_back(entries, problem):
    answer = PackedExtractionResult.model_validate({"documents": [_entry(e) for e in entries]})
    with pytest.raises(PackError, match=problem):
        unpack(answer, ["D1", "D2"])


def test_packed_answers_are_mapped_back_to_their_documents(server, wh, store):
    # The model answers the pack in reverse order: mapping must go by id, not position.
    def reversed_model(request):
        reply = extraction_model(request)
        if is_packed(request):
            body = json.loads(reply.content)
            body["documents"].reverse()
            return json_reply(body)
        return reply

    server.set_responder(reversed_model)
    docs = [email(1), meeting(1), email(2), email(3)]
    run = run_extraction(docs, make_backend(server), store, fast_settings(pack=PackPlan(max_documents=4)))
    assert len(server.chat_requests()) == 2 and run.packed_requests == 1
    by_doc = {o.document_id: o for o in run.outcomes}
    for number in (1, 2, 3):
        outcome = by_doc[f"email-{number}"]
        assert outcome.status == "ok" and outcome.packed
        assert [i.task for i in outcome.result.action_items] == [f"send the harbor budget draft {number} by Friday"]
        assert outcome.result.action_items[0].evidence_lines == [2]
    assert by_doc["meeting-1"].status == "ok" and not by_doc["meeting-1"].packed
    # One ledger row for the pack, naming its three documents.
    rows = [r for r in ledger(wh) if r["document_ids"]]
    assert len(rows) == 1 and json.loads(rows[0]["document_ids"]) == ["email-1", "email-2", "email-3"]
    assert rows[0]["document_id"] is None and rows[0]["outcome"] == "ok"

    # Each e-mail's answer is cached on its own: a re-run, packed or not, makes no call.
    again = run_extraction(docs, make_backend(server), store, fast_settings())
    assert len(server.chat_requests()) == 2
    assert all(o.from_cache for o in again.outcomes)


def test_a_pack_the_model_cannot_map_back_is_asked_one_document_at_a_time(server, store):
    def confused(request):
        if is_packed(request):  # always names a document that was not given
            return json_reply({"documents": [_entry("D1"), _entry("D7")]})
        return extraction_model(request)

    server.set_responder(confused)
    run = run_extraction([email(1), email(2)], make_backend(server), store, fast_settings(pack=PackPlan()))
    requests = server.chat_requests()
    assert [is_packed(r) for r in requests] == [True, True, False, False]
    repair = requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "D7" in repair[-2]["content"]
    assert "not given: D7" in repair[-1]["content"] and "no entry for D2" in repair[-1]["content"]
    assert sorted(requested_titles(server)[2:]) == ["Harbor budget 1", "Harbor budget 2"]
    assert [o.status for o in run.outcomes] == ["ok", "ok"]
    assert not any(o.packed for o in run.outcomes)
    assert "harbor budget draft 2" in run.outcomes[1].result.action_items[0].task
    assert all("<source>" in first_user(r) for r in requests[2:])
