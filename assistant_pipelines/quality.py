"""Great Expectations suites for what the pipeline writes (model output above all).

GE has no maintained Dagster integration for GX 1.x (DESIGN.md §6): the checks call these
functions, which validate a pandas copy of the table in an ephemeral GE context. Imported
lazily: GE costs ~2 s to import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass(frozen=True)
class SuiteOutcome:
    success: bool
    evaluated: int
    failures: list[str]


def _context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _run(frame: pl.DataFrame, name: str, expectations: list[Any]) -> SuiteOutcome:
    import great_expectations as gx

    context = _context()
    source = context.data_sources.add_pandas(f"{name}_source")
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame.to_pandas()}
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    result = batch.validate(suite)
    failures = []
    for item in result.results:
        if not item.success:
            config = item.expectation_config
            detail = item.result.get("partial_unexpected_list") or item.result.get("observed_value")
            failures.append(f"{config.type} {config.kwargs.get('column', '')}: {detail!r}"[:300])
    return SuiteOutcome(bool(result.success), len(result.results), failures)


def validate_action_items(frame: pl.DataFrame) -> SuiteOutcome:
    import great_expectations.expectations as gxe

    if frame.height == 0:
        return SuiteOutcome(True, 0, [])
    return _run(frame, "action_items", [
        gxe.ExpectColumnValuesToBeUnique(column="action_item_id"),
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("task", "status", "source_document_id", "first_seen_at", "model", "prompt_version", "input_hash")],
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["open", "done", "closed"]),
        gxe.ExpectColumnValuesToBeBetween(column="confidence", min_value=0, max_value=1, mostly=1.0),
        gxe.ExpectColumnValueLengthsToBeBetween(column="task", min_value=3, max_value=200),
        gxe.ExpectColumnValuesToBeBetween(column="mentions", min_value=1),
    ])
