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
    """``{relative path: "size:mtime_ns"}`` for every file below the source folders, and for
    ``people.yaml``. Hidden files and folders (editors' swap files, ``.git``) are left out."""
    state: dict[str, str] = {}
    for folder in SOURCE_FOLDERS:
        root = inbox / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(inbox)
            if any(part.startswith(".") for part in relative.parts):
                continue
            try:
                if not path.is_file():
                    continue
                stat = path.stat()
            except OSError:  # moved or deleted while we looked: the next tick sees it
                continue
            state[relative.as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    people = inbox / "people.yaml"
    try:
        if people.is_file():
            stat = people.stat()
            state["people.yaml"] = f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        pass
    return state


def changes(previous: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    """What differs: ``{path: new signature}``, ``"deleted"`` for files that went away."""
    changed = {path: sig for path, sig in current.items() if previous.get(path) != sig}
    changed.update({path: "deleted" for path in previous if path not in current})
    return changed


def read_cursor(cursor: str | None) -> dict[str, str]:
    """The previous scan; an unreadable cursor (another version's, hand-edited) counts as
    none, so the sensor rescans instead of failing on every tick."""
    try:
        previous = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    if not isinstance(previous, dict):
        return {}
    return {str(k): str(v) for k, v in previous.items()}


def run_key_for(previous: dict[str, str], changed: dict[str, str]) -> str:
    """The same tick evaluated twice gives the same key (so Dagster launches one run); the
    previous state is part of it, so a file that returns to an earlier state (deleted, then
    restored with its old size and mtime) is a new run, not a duplicate of an old one."""
    payload = json.dumps([sorted(previous.items()), sorted(changed.items())])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dg.sensor(
    name="inbox_files_sensor",
    minimum_interval_seconds=60,
    asset_selection=dg.AssetSelection.assets(*SOURCE_FOLDERS.values(), "people"),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def inbox_files_sensor(context: SensorEvaluationContext, team: TeamResource) -> dg.SensorResult:
    """Ingests new or changed transcripts, mail and tickets from ``ASSISTANT_INBOX``."""
    previous = read_cursor(context.cursor)
    current = scan_inbox(team.inbox_path)
    changed = changes(previous, current)
    if not changed:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed files in the inbox"))
    folders = {path.split("/", 1)[0] for path in changed}
    assets = [dg.AssetKey(SOURCE_FOLDERS[f]) for f in sorted(folders) if f in SOURCE_FOLDERS]
    assets.append(dg.AssetKey("people"))
    run_key = run_key_for(previous, changed)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=run_key,
            asset_selection=assets,
            tags={"assistant/changed_files": str(len(changed))},
        )],
        cursor=json.dumps(current, sort_keys=True),
    )
