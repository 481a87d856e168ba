"""Estimated cost of a call, from a small price table (US$ per million tokens).

Prices change; the table is a best estimate as of November 2026 and can be overridden with
``ASSISTANT_LLM_PRICE_IN`` / ``ASSISTANT_LLM_PRICE_OUT`` (per million tokens). The local model
costs nothing per call. An unknown hosted model is recorded with no cost rather than a guess.
The Batch API costs half the synchronous price (OpenAI's published discount).
"""

from __future__ import annotations

import os

PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}
BATCH_PRICE_FACTOR = 0.5


def _override() -> tuple[float, float] | None:
    price_in, price_out = os.environ.get("ASSISTANT_LLM_PRICE_IN"), os.environ.get("ASSISTANT_LLM_PRICE_OUT")
    if price_in and price_out:
        try:
            return float(price_in), float(price_out)
        except ValueError:
            return None
    return None


def price_for(model: str) -> tuple[float, float] | None:
    override = _override()
    if override:
        return override
    # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
    for name in sorted(PRICES_PER_MILLION, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return PRICES_PER_MILLION[name]
    return None


def estimate_cost_usd(backend: str, model: str, tokens_in: int | None, tokens_out: int | None,
                      *, batch: bool = False) -> float | None:
    """US$ for one call (``batch``: at Batch API prices); ``None`` when it cannot be known."""
    if backend == "local":
        return 0.0
    price = price_for(model)
    if price is None or tokens_in is None or tokens_out is None:
        return None
    factor = BATCH_PRICE_FACTOR if batch else 1.0
    return round((tokens_in * price[0] + tokens_out * price[1]) * factor / 1_000_000, 8)
