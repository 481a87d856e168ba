"""The ``action_items`` asset: candidates folded into tracked items with a status history.

Materialized per week, but it recomputes the whole table from every accepted candidate: the
fold is cheap and order-independent, so after re-running any week every item and event is
exactly what it would have been had the weeks run in order.
"""


import dagster as dg
from dagster import AssetExecutionContext

from assistant_pipelines.resources import WarehouseResource
from assistant_pipelines.tracking import EVENT_COLUMNS, ITEM_COLUMNS, track
from assistant_pipelines.warehouse import Warehouse

ALLOWED_STATUS = ["open", "done", "closed"]


def rebuild_action_items(wh: Warehouse) -> tuple[list[dict], list[dict]]:
    items, events = track(wh.run_file("accepted_candidates"))
    with wh.transaction():
        wh.execute("DELETE FROM action_item_events")
        wh.execute("DELETE FROM action_items")
        wh.insert_rows("action_items", ITEM_COLUMNS, items)
        wh.insert_rows("action_item_events", EVENT_COLUMNS, events)
    return items, events


def build_action_items_asset(weeks: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="action_items",
        group_name="action_items",
        partitions_def=weeks,
        deps=["action_item_candidates"],
        kinds={"python", "duckdb"},
    )
    def action_items(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        """Tracked action items (stable id, task, owner, due date, status, where first and last
        seen, provenance) and their history in ``action_item_events``: one item per piece of
        work however often and wherever it was mentioned."""
        with warehouse.open() as wh:
            items, events = rebuild_action_items(wh)
        by_status = {s: sum(1 for i in items if i["status"] == s) for s in ALLOWED_STATUS}
        return dg.MaterializeResult(metadata={
            "action_items": len(items),
            **{f"status_{s}": n for s, n in by_status.items()},
            "events": len(events),
            "unassigned": sum(1 for i in items if not i["owner_person_id"]),
            "with_due_date": sum(1 for i in items if i["due_date"]),
            "preview": dg.MetadataValue.md("\n".join(
                f"- [{i['status']}] {i['task']} — {i['owner_name'] or 'unassigned'}" for i in items[:25]) or "none"),
        })

    return action_items


@dg.asset_check(asset="action_items", blocking=True,
                description="Great Expectations suite: ids unique, required fields present, status and "
                            "confidence in range, every item carries its provenance.")
def action_items_expectations(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from assistant_pipelines.quality import validate_action_items

    with warehouse.open(read_only=False) as wh:
        frame = wh.query_df("SELECT * FROM action_items")
    outcome = validate_action_items(frame)
    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata={"rows": frame.height, "expectations": outcome.evaluated, "failed": dg.MetadataValue.md(
            "\n".join(f"- {f}" for f in outcome.failures) or "none")},
    )
