"""``llm_batch_sensor``: collects OpenAI Batch API results (``ASSISTANT_LLM_MODE=batch``).

Each tick polls the batches recorded in ``llm_batches`` that are still open. When one has
ended, its answers go into the cache and its failures into ``llm_batch_items`` (all in
:mod:`assistant_pipelines.llm.batch`), and a run is requested for every week the batch touched,
from ``action_item_candidates`` down: that run finds the answers in the cache and submits the
failed chunks in a new batch. Run keys name the batch and the week, so a tick evaluated twice
launches nothing twice; the warehouse, not the cursor, says which batches are open.
"""


from datetime import date

import dagster as dg
from dagster import SensorEvaluationContext

from assistant_pipelines.assets.extraction import BATCH_RUN_TAG
from assistant_pipelines.llm.batch import poll_open_batches
from assistant_pipelines.llm.ledger import WarehouseCallStore
from assistant_pipelines.resources import LLMResource, WarehouseResource
from assistant_pipelines.warehouse import WarehouseError, open_warehouse

# The week's extraction and everything built from it.
REMATERIALIZED = dg.AssetSelection.assets("action_item_candidates").downstream()
# A sensor tick must not wait long for a DuckDB file another run is writing: try next tick.
_LOCK_WAIT_S = 20.0


def week_run_requests(batch_id: str, weeks: list[date]) -> list[dg.RunRequest]:
    return [
        dg.RunRequest(
            run_key=f"llm-batch:{batch_id}:{week.isoformat()}",
            partition_key=week.isoformat(),
            tags={BATCH_RUN_TAG: batch_id},
        )
        for week in weeks
    ]


@dg.sensor(
    name="llm_batch_sensor",
    minimum_interval_seconds=300,
    asset_selection=REMATERIALIZED,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Collects finished OpenAI batches and re-materializes the weeks they answered.",
)
def llm_batch_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource,
                     llm: LLMResource) -> dg.SensorResult:
    """Polls open Batch API jobs; when one ends, stores its answers and re-runs its weeks."""
    if llm.mode != "batch":
        return dg.SensorResult(skip_reason=dg.SkipReason("ASSISTANT_LLM_MODE is not 'batch'"))
    try:
        with open_warehouse(warehouse.url, lock_timeout_s=_LOCK_WAIT_S) as wh:
            wh.ensure_schema()
            with WarehouseCallStore(wh) as store:
                results = poll_open_batches(llm.get_batch_backend(), store)
    except WarehouseError as exc:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"the warehouse is busy or unreachable: {exc}"))
    if not results:
        return dg.SensorResult(skip_reason=dg.SkipReason("no open batches"))
    requests: list[dg.RunRequest] = []
    for result in results:
        if result.finished:
            context.log.info(f"batch {result.batch_id} {result.status}: {result.answered_chunks} chunks answered, "
                             f"{result.failed_chunks} failed, ${result.cost_usd:.4f} at batch prices")
            requests += week_run_requests(result.batch_id, result.weeks)
    if not requests:
        still = ", ".join(f"{r.batch_id} ({r.status})" for r in results)
        return dg.SensorResult(skip_reason=dg.SkipReason(f"batches still running: {still}"))
    return dg.SensorResult(run_requests=requests)
