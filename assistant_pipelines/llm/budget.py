"""The per-run spending limit: ``ASSISTANT_LLM_BUDGET_TOKENS`` and ``ASSISTANT_LLM_BUDGET_USD``.

Before a request is sent it reserves what it may cost at most (its estimated input tokens plus
its ``max_tokens``, priced); when the answer is in, the reservation is replaced by what was
really used. A request that does not fit waits while other reservations are outstanding (they
usually cost less than reserved) and is refused once nothing is in flight, so a run never
spends past its budget and stops cleanly: the refused chunks are recorded as skipped for
budget and picked up by the next run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from assistant_pipelines.llm.pricing import price_for


class BudgetError(ValueError):
    """A budget that cannot be enforced (e.g. a dollar limit for a model without a price)."""


@dataclass(frozen=True)
class Reservation:
    tokens: int
    usd: float


class Budget:
    """Thread-safe running totals against optional token and dollar limits."""

    def __init__(self, *, max_tokens: int | None = None, max_usd: float | None = None,
                 model: str = "", backend: str = "openai", price_factor: float = 1.0) -> None:
        if max_tokens is not None and max_tokens <= 0:
            raise BudgetError(f"the token budget must be positive, not {max_tokens}")
        if max_usd is not None and max_usd <= 0:
            raise BudgetError(f"the dollar budget must be positive, not {max_usd}")
        self.max_tokens = max_tokens
        self.max_usd = max_usd
        self._price = (0.0, 0.0) if backend == "local" else price_for(model)
        if max_usd is not None and self._price is None:
            raise BudgetError(
                f"ASSISTANT_LLM_BUDGET_USD is set but the price of model {model!r} is unknown: set "
                "ASSISTANT_LLM_PRICE_IN and ASSISTANT_LLM_PRICE_OUT (US$ per million tokens)."
            )
        self._factor = price_factor  # 0.5 for the Batch API
        self._cond = threading.Condition()
        self.spent_tokens = 0
        self.spent_usd = 0.0
        self._reserved_tokens = 0
        self._reserved_usd = 0.0
        self._outstanding = 0
        self.refused = 0

    @property
    def limited(self) -> bool:
        return self.max_tokens is not None or self.max_usd is not None

    def price(self, tokens_in: int, tokens_out: int, price_factor: float | None = None) -> float:
        """US$ for these tokens; ``price_factor`` overrides the budget's own (0.5 for Batch API
        requests in a run whose other calls are synchronous)."""
        if self._price is None:
            return 0.0
        factor = self._factor if price_factor is None else price_factor
        return (tokens_in * self._price[0] + tokens_out * self._price[1]) * factor / 1_000_000

    def _fits(self, tokens: int, usd: float) -> bool:
        if self.max_tokens is not None and self.spent_tokens + self._reserved_tokens + tokens > self.max_tokens:
            return False
        return self.max_usd is None or self.spent_usd + self._reserved_usd + usd <= self.max_usd + 1e-12

    def reserve(self, tokens_in: int, max_tokens_out: int, *, wait: bool = True,
                price_factor: float | None = None) -> Reservation | None:
        """Hold room for one request, or ``None`` if the budget cannot take it. With ``wait``,
        a request that does not fit now waits for outstanding reservations to settle."""
        reservation = Reservation(tokens_in + max_tokens_out, self.price(tokens_in, max_tokens_out, price_factor))
        with self._cond:
            while not self._fits(reservation.tokens, reservation.usd):
                if self._outstanding == 0 or not wait:
                    self.refused += 1
                    return None
                self._cond.wait()
            self._reserved_tokens += reservation.tokens
            self._reserved_usd += reservation.usd
            self._outstanding += 1
        return reservation

    def settle(self, reservation: Reservation, tokens_in: int | None, tokens_out: int | None,
               usd: float | None = None) -> None:
        """Replace a reservation by what the call really used (unknown usage counts as reserved)."""
        with self._cond:
            self._reserved_tokens -= reservation.tokens
            self._reserved_usd -= reservation.usd
            self._outstanding -= 1
            if tokens_in is None or tokens_out is None:
                self.spent_tokens += reservation.tokens
                self.spent_usd += reservation.usd
            else:
                self.spent_tokens += tokens_in + tokens_out
                self.spent_usd += usd if usd is not None else self.price(tokens_in, tokens_out)
            self._cond.notify_all()

    def settle_failed(self, reservation: Reservation, error_kind: str) -> None:
        """Settle a call that ended in a ``BackendError`` of ``error_kind``: an HTTP error is
        not billed (nothing is spent); a time-out or lost connection may have been, after the
        server did the work, so what was reserved counts as spent."""
        billed = error_kind in {"timeout", "connection_error"}
        self.settle(reservation, None if billed else 0, None if billed else 0, None)

    def describe(self) -> str:
        parts = []
        if self.max_tokens is not None:
            parts.append(f"{self.spent_tokens:,} of {self.max_tokens:,} tokens")
        if self.max_usd is not None:
            parts.append(f"${self.spent_usd:.4f} of ${self.max_usd:.2f}")
        return ", ".join(parts) or "no budget"
