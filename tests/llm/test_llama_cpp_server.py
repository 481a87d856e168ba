"""The ``openai`` backend against a real OpenAI-compatible server: llama-cpp-python's own
(``python -m llama_cpp.server``) on loopback, serving the tiny SmolLM2-135M.

This is the path the README offers for a llama.cpp server, and the one the fake server cannot
vouch for: the real server refuses ``response_format`` json_schema (HTTP 500), so the backend
must switch to json_object by itself, and its ``top_logprobs`` must give the focus judge the
same P(yes) the model gives in process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant_pipelines.llm.backends import LocalLlamaBackend, OpenAIBackend
from assistant_pipelines.llm.extract import ExtractionSettings, run_extraction
from assistant_pipelines.llm.focus import FocusSettings, judge_messages
from assistant_pipelines.llm.local_model import ModelUnavailable, smollm2_model_path
from tests.llm.conftest import ledger, meeting
from tests.llm.test_focus import long_meeting

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

pytest.importorskip("llama_cpp.server", reason="llama-cpp-python's server extra is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    try:
        return smollm2_model_path()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def llama_server(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL, once it answers ``GET /v1/models``."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2), "--model_alias", "smollm2",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1",
             "--n_threads_batch", "1"],
            stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:  # not listening yet (URLError and socket errors are OSErrors)
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start in 120 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_extraction_switches_to_json_object_when_the_server_refuses_json_schema(llama_server, wh, store):
    backend = OpenAIBackend(model="smollm2", base_url=llama_server, api_key=None, max_concurrency=1,
                            timeout_s=120)
    run = run_extraction([meeting(1, lines=2)], backend, store, ExtractionSettings(concurrency=1, max_tokens=96))
    [outcome] = run.outcomes
    rows = ledger(wh)
    assert rows[0]["outcome"] == "format_switched" and rows[0]["http_status"] == 500
    assert backend.dialect == "json_object"
    # The request went again in the new dialect and the server took it: whatever SmolLM2 made
    # of it (a valid answer, or one cut off at 96 tokens), it is a model's answer, not an HTTP error.
    assert rows[1]["http_status"] == 200 and rows[1]["outcome"] in {"ok", "invalid_output", "truncated"}
    assert rows[1]["tokens_in"] > 500 and 0 < rows[1]["tokens_out"] <= 96
    assert (outcome.result is not None) == (outcome.status == "ok")


def test_the_servers_top_logprobs_give_the_judge_the_in_process_probability(llama_server, smollm2):
    doc, lines = long_meeting()
    over_http = OpenAIBackend(model="smollm2", base_url=llama_server, api_key=None, timeout_s=120)
    in_process = LocalLlamaBackend(smollm2, n_ctx=2048, n_threads=1)
    remote_p, local_p = {}, {}
    for index in (12, 31, 37):
        messages = judge_messages(doc, lines, index, FocusSettings())
        remote, local = over_http.judge(messages), in_process.judge(messages)
        assert 0.0 < remote.p_yes < 1.0
        # The server sees only its top 10 tokens, the in-process judge every spelling of yes
        # and no; for the same model and prompt the two agree closely.
        assert remote.p_yes == pytest.approx(local.p_yes, abs=0.05), index
        assert remote.tokens_in == local.tokens_in
        remote_p[index], local_p[index] = remote.p_yes, local.p_yes
    # The focus pass keeps lines by rank and threshold: both paths must rank them alike.
    assert sorted(remote_p, key=remote_p.get) == sorted(local_p, key=local_p.get)
