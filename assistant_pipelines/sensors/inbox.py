"""``inbox_files_sensor``: launches ingestion when files appear or change in the inbox.

The cursor holds each source file's size and modification time; a run is requested for the
kinds of source that changed, keyed by exactly what changed, so a tick that is evaluated twice
never launches two runs. The ingest assets compare content hashes, so a file that was only
touched changes nothing.
"""


import hashlib
import json
from pathlib import Path

import dagster as dg
from dagster import SensorEvaluationContext

from assistant_pipelines.resources import TeamResource

SOURCE_FOLDERS = {"transcripts": "raw_transcripts", "mail": "raw_emails", "tickets": "raw_tickets"}


def scan_inbox(inbox: Path) -> dict[str, str]:
    """``{relative path: "size:mtime_ns"}`` for every file below the source folders."""
    state: dict[str, str] = {}
    for folder in SOURCE_FOLDERS:
        root = inbox / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(inbox).parts):
                stat = path.stat()
                state[path.relative_to(inbox).as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    people = inbox / "people.yaml"
    if people.is_file():
        stat = people.stat()
        state["people.yaml"] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return state


def changes(previous: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    changed = {path: sig for path, sig in current.items() if previous.get(path) != sig}
    changed.update({path: "deleted" for path in previous if path not in current})
    return changed


@dg.sensor(
    name="inbox_files_sensor",
    minimum_interval_seconds=60,
    asset_selection=dg.AssetSelection.assets(*SOURCE_FOLDERS.values(), "people"),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def inbox_files_sensor(context: SensorEvaluationContext, team: TeamResource) -> dg.SensorResult:
    """Ingests new or changed transcripts, mail and tickets from ``ASSISTANT_INBOX``."""
    previous = json.loads(context.cursor) if context.cursor else {}
    current = scan_inbox(team.inbox_path)
    changed = changes(previous, current)
    if not changed:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed files in the inbox"))
    folders = {path.split("/", 1)[0] for path in changed}
    assets = [dg.AssetKey(SOURCE_FOLDERS[f]) for f in sorted(folders) if f in SOURCE_FOLDERS]
    assets.append(dg.AssetKey("people"))
    run_key = hashlib.sha256(json.dumps(sorted(changed.items())).encode()).hexdigest()[:32]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=run_key,
            asset_selection=assets,
            tags={"assistant/changed_files": str(len(changed))},
        )],
        cursor=json.dumps(current, sort_keys=True),
    )
