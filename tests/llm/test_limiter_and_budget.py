"""The adaptive concurrency limit, the back-off policy and the per-run budget, on their own."""

from __future__ import annotations

import random
import threading
import time
from email.utils import formatdate

import pytest

from assistant_pipelines.llm.budget import Budget, BudgetError
from assistant_pipelines.llm.limiter import AdaptiveLimiter, RetryPolicy, parse_retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_limit_halves_on_429_once_per_round_and_recovers_slowly():
    clock = Clock()
    limiter = AdaptiveLimiter(8, clock=clock)
    tickets = [limiter.acquire() for _ in range(8)]
    assert limiter.in_flight == 8
    clock.now += 1
    limiter.release(tickets[0], rate_limited=True)
    assert limiter.limit == 4
    # The other requests of the same round were in flight before the cut: no second cut.
    for ticket in tickets[1:]:
        limiter.release(ticket, rate_limited=True)
    assert limiter.limit == 4 and limiter.cuts == 1 and limiter.in_flight == 0
    # A 429 for a request started after the cut cuts again.
    clock.now += 1
    later = limiter.acquire()
    limiter.release(later, rate_limited=True)
    assert limiter.limit == 2 and limiter.lowest_limit == 2 and limiter.cuts == 2
    # Additive increase: +1/limit per success, so about one step per round of successes.
    successes = 0
    while limiter.limit < 8:
        limiter.release(limiter.acquire(), success=True)
        successes += 1
    assert 20 <= successes <= 40  # 2→8 takes ~2+3+…+7 successes, never a jump


def test_limit_never_drops_below_one():
    limiter = AdaptiveLimiter(2)
    for _ in range(5):
        limiter.release(limiter.acquire(), rate_limited=True)
    assert limiter.limit == 1


def test_retry_after_holds_every_new_request():
    limiter = AdaptiveLimiter(4)
    ticket = limiter.acquire()
    limiter.release(ticket, rate_limited=True, retry_after_s=0.3)
    started = time.monotonic()
    limiter.release(limiter.acquire(), success=True)
    assert time.monotonic() - started >= 0.29
    assert limiter.paused_s >= 0.25


def test_acquire_blocks_at_the_limit_until_a_release():
    limiter = AdaptiveLimiter(1)
    first = limiter.acquire()
    got = threading.Event()
    thread = threading.Thread(target=lambda: (limiter.acquire(), got.set()))
    thread.start()
    assert not got.wait(0.1)
    limiter.release(first, success=True)
    assert got.wait(2)
    thread.join()


def test_backoff_grows_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(base_s=1.0, max_s=8.0, rng=random.Random(7))
    delays = [policy.delay(n) for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        step = min(8.0, 2 ** (n - 1))
        assert step / 2 <= delay <= step
    assert len({round(d, 6) for d in [policy.delay(3) for _ in range(5)]}) > 1  # jittered
    assert 5.0 <= policy.delay(1, retry_after_s=5) <= 6.0
    assert policy.delay(1, retry_after_s=9999) <= policy.max_retry_after_s + 1


def test_retry_after_header_forms():
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert 55 <= parse_retry_after({"retry-after": formatdate(time.time() + 60, usegmt=True)}) <= 61
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_budget_reserves_and_settles(monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_IN", "1.0")
    monkeypatch.setenv("ASSISTANT_LLM_PRICE_OUT", "2.0")
    budget = Budget(max_tokens=1000, model="anything")
    first = budget.reserve(300, 200)
    assert first is not None
    assert budget.reserve(300, 200, wait=False) is not None
    assert budget.reserve(1, 1, wait=False) is None  # 1000 reserved
    budget.settle(first, 100, 50)  # used far less than reserved: room again
    assert budget.spent_tokens == 150
    assert budget.reserve(200, 100, wait=False) is not None
    dollars = Budget(max_usd=0.001, model="anything")
    assert dollars.reserve(400, 100) is not None  # $0.0006
    assert dollars.reserve(400, 100, wait=False) is None


@pytest.mark.parametrize(("kind", "spent"), [("server_error", 0), ("rate_limited", 0), ("timeout", 500),
                                             ("connection_error", 500)])
def test_a_failed_call_costs_nothing_unless_the_server_may_have_done_the_work(kind, spent):
    budget = Budget(max_tokens=1000, model="gpt-4o-mini")
    held = budget.reserve(300, 200)
    budget.settle_failed(held, kind)
    assert budget.spent_tokens == spent
    assert budget.reserve(400, 100, wait=False) is not None  # the reservation itself is released


def test_a_waiting_request_gets_room_when_others_settle():
    budget = Budget(max_tokens=1000, model="gpt-4o-mini")
    held = budget.reserve(500, 400)
    result = []
    thread = threading.Thread(target=lambda: result.append(budget.reserve(300, 200)))
    thread.start()
    time.sleep(0.05)
    assert not result  # waiting: the outstanding reservation may cost less than held
    budget.settle(held, 200, 100)
    thread.join(2)
    assert result and result[0] is not None


def test_budget_refuses_when_nothing_is_outstanding_and_it_does_not_fit():
    budget = Budget(max_tokens=100, model="gpt-4o-mini")
    assert budget.reserve(80, 50) is None and budget.refused == 1


def test_dollar_budget_needs_a_price(monkeypatch):
    monkeypatch.delenv("ASSISTANT_LLM_PRICE_IN", raising=False)
    with pytest.raises(BudgetError, match="ASSISTANT_LLM_PRICE_IN"):
        Budget(max_usd=1.0, model="some-unknown-model")
    assert Budget(max_usd=1.0, model="qwen", backend="local").reserve(10_000, 1000) is not None
