"""How hard to push the endpoint: an adaptive concurrency limit and the retry back-off.

:class:`AdaptiveLimiter` is shared by all worker threads of a run. It starts at the configured
concurrency (``ASSISTANT_LLM_CONCURRENCY``) and works like TCP's AIMD: a 429 halves the limit
(once per round of requests: the 429s of requests that were already in flight when the limit
was cut do not cut it again) and holds every new request until the ``Retry-After`` the server
asked for has passed; each success adds ``1/limit``, so the limit climbs back by one per round
of successful requests. :class:`RetryPolicy` is the one retry policy of the model layer (the
``openai`` client's own retries are off, so every attempt is seen and ledgered).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime


class AdaptiveLimiter:
    """At most ``limit`` requests in flight; the limit adapts to 429s (see module docstring)."""

    def __init__(self, max_limit: int, *, min_limit: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        if max_limit < 1:
            raise ValueError("max_limit must be at least 1")
        self.max_limit = max_limit
        self.min_limit = max(1, min(min_limit, max_limit))
        self._limit = float(max_limit)
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._paused_until = 0.0
        self._last_cut = float("-inf")
        self.cuts = 0
        self.lowest_limit = max_limit
        self.peak_in_flight = 0
        self.paused_s = 0.0  # wall-clock time new requests were held for Retry-After

    @property
    def limit(self) -> int:
        return int(self._limit)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    def acquire(self) -> float:
        """Block until a request may start; returns its start time (pass it to :meth:`release`)."""
        with self._cond:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    self._cond.wait(self._paused_until - now)
                    continue
                if self._in_flight < int(self._limit):
                    self._in_flight += 1
                    self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
                    return now
                self._cond.wait(0.5)

    def release(self, started: float, *, rate_limited: bool = False, retry_after_s: float | None = None,
                success: bool = False) -> None:
        """Report how a request that started at ``started`` ended."""
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            if rate_limited:
                if started >= self._last_cut:  # not a 429 the last cut already answered
                    self._limit = max(float(self.min_limit), self._limit / 2)
                    self._last_cut = now
                    self.cuts += 1
                    self.lowest_limit = min(self.lowest_limit, int(self._limit))
                if retry_after_s and now + retry_after_s > self._paused_until:
                    self.paused_s += now + retry_after_s - max(now, self._paused_until)
                    self._paused_until = now + retry_after_s
            elif success and self._limit < self.max_limit:
                self._limit = min(float(self.max_limit), self._limit + 1.0 / self._limit)
            self._cond.notify_all()


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for failures that trying later may fix (429, 5xx, time-outs, connection errors,
    malformed response bodies). ``max_attempts`` counts every call of one request, the first
    included; the repair retry for bad output is on top (one)."""

    max_attempts: int = 5
    base_s: float = 0.5
    max_s: float = 30.0
    max_retry_after_s: float = 120.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, retry_number: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry).

        A server's ``Retry-After`` is honoured (capped at ``max_retry_after_s``) with a little
        jitter on top so that waiting workers do not return in lockstep; otherwise exponential
        back-off with "equal jitter": half the step fixed, half random."""
        if retry_after_s is not None and retry_after_s >= 0:
            wait = min(retry_after_s, self.max_retry_after_s)
            return wait + self.rng.uniform(0, min(1.0, self.base_s))
        step = min(self.max_s, self.base_s * 2 ** (retry_number - 1))
        return step / 2 + self.rng.uniform(0, step / 2)


def parse_retry_after(headers: object) -> float | None:
    """Seconds from ``retry-after-ms`` (OpenAI) or ``Retry-After`` (seconds or an HTTP date)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
