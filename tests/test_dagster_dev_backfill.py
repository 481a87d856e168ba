"""The real thing a user does: ``dagster dev`` on ``workspace.yaml``, the inbox sensor ingests
the demo team, and a backfill of the weekly assets over the four demo weeks, launched through
the webserver's GraphQL API exactly as the UI's "Launch backfill" button does, succeeds.

Slow (~2 min: the webserver, the daemon and a run per week): the model is the loopback server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant_pipelines.cli import install_demo_inbox, prepare_dagster_home
from assistant_pipelines.settings import load_settings
from assistant_pipelines.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[1]
WEEKS = ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
WEEKLY_ASSETS = ["documents", "action_item_candidates", "action_items", "weekly_status_report", "person_digests"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", json.dumps({"query": query, "variables": variables or {}}).encode(),
        {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=60).read())


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_backfill_of_the_demo_weeks_through_dagster_dev(tmp_path, fake_llm):
    home = tmp_path / "home"
    env = {**os.environ, "ASSISTANT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "ASSISTANT_LLM": "openai", "OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": fake_llm.api_key,
           "ASSISTANT_LLM_MODEL": "fake-model", "ASSISTANT_TIMEZONE": "Europe/Berlin",
           "ASSISTANT_FIRST_WEEK": "2026-10-05"}
    settings = load_settings(env)
    install_demo_inbox(settings.inbox)
    prepare_dagster_home(settings)
    port = _free_port()
    log = (tmp_path / "dagster-dev.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def ready() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).status == 200
            except OSError:
                return False

        _wait(ready, 180, "the webserver")

        def ingested() -> bool:  # the inbox sensor's run (default RUNNING) has filled people
            try:
                with open_warehouse(settings.warehouse_url, read_only=True, lock_timeout_s=1) as wh:
                    return (wh.scalar("SELECT COUNT(*) FROM people") or 0) > 0
            except Exception:  # noqa: BLE001 - locked or not created yet: not ready
                return False

        _wait(ingested, 480, "the inbox sensor to ingest the demo inbox")
        launched = _graphql(port, """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
            __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
                            {"p": {"partitionNames": WEEKS, "assetSelection": [{"path": [a]} for a in WEEKLY_ASSETS]}})
        result = launched["data"]["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        status: dict = {}

        def finished() -> bool:
            answer = _graphql(port, """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                ... on PartitionBackfill { status assetBackfillData { assetBackfillStatuses {
                ... on AssetPartitionsStatusCounts { assetKey { path } numPartitionsMaterialized numPartitionsFailed } } } } } }""",
                              {"id": result["backfillId"]})
            status.update(answer["data"]["partitionBackfillOrError"])
            return status["status"] not in {"REQUESTED"}

        _wait(finished, 900, "the backfill")
        assert status["status"] == "COMPLETED_SUCCESS", status
        for counts in status["assetBackfillData"]["assetBackfillStatuses"]:
            assert counts["numPartitionsMaterialized"] == len(WEEKS) and counts["numPartitionsFailed"] == 0, counts
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    for week in WEEKS:
        assert (home / "reports" / f"weekly-status-{week}.html").is_file()
