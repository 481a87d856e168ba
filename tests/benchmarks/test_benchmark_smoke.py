"""Smoke test of the ingestion benchmark machinery (``python -m benchmarks``) at toy size.

Checks that every case produces its rows, that the counts agree with what the generator
wrote, that a child process measures its own memory, and that the command line and the
Postgres skip behave. No timing assertions: this machine is shared and timings are noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import generate
from benchmarks.ingest import (
    Options,
    Sizes,
    _redact_argv,
    format_table,
    generate_datasets,
    measure,
    parse_args,
    run_benchmark,
    write_json,
)

# Smallest sizes that still hold every shape (four transcript formats, a malformed message).
TOY = Sizes(mbox=(20, 40, 60), transcripts=8, github_issues=20, jira_rows=10)


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory: pytest.TempPathFactory):
    """One toy run of every case, in process (child processes would import Dagster once per
    case, ~5 s each), with the generated data under pytest's temp dir."""
    data = tmp_path_factory.mktemp("bench-data")
    options = Options(sizes=TOY, isolate=False, out_dir=None, data_dir=data)
    report = run_benchmark(options)
    assert list(data.iterdir()) == [], "generated data must be removed after the run"
    return report


def test_every_case_has_a_parse_and_an_ingest_row(toy_report) -> None:
    seen = {(m.dataset, m.step, m.warehouse) for m in toy_report.measurements}
    labels = [d["label"] for d in toy_report.datasets]
    assert labels == ["mbox 20", "mbox 40", "mbox 60", "transcripts 8", "tickets 30"]
    assert seen == {
        (label, step, wh) for label in labels for step, wh in (("parse", "-"), ("ingest", "duckdb"))
    }
    for m in toy_report.measurements:
        assert m.status == "ok", (m.dataset, m.step, m.status)
        assert m.records > 0 and m.seconds > 0 and m.units > 0


def test_counts_match_what_was_generated(toy_report) -> None:
    datasets = {d["label"]: d for d in toy_report.datasets}
    for m in toy_report.measurements:
        dataset = datasets[m.dataset]
        # Every deliberately malformed message, record or file is reported, and nothing else.
        assert m.errors == dataset["malformed"], (m.dataset, m.step)
        if m.case == "mbox" and m.step == "parse":
            assert m.records + m.errors == dataset["units"]
        if m.case == "tickets":
            assert m.records == dataset["units"] - dataset["malformed"]
        if m.step == "ingest":
            assert m.warehouse_s is not None and 0 < m.warehouse_s <= m.seconds
            assert all(n > 0 for n in m.rows.values()), m.rows
    transcripts = next(
        m for m in toy_report.measurements if m.case == "transcripts" and m.step == "ingest"
    )
    assert (
        transcripts.rows["raw_transcripts (in table)"] == 8 - datasets["transcripts 8"]["malformed"]
    )
    # Each generated sentence is one utterance: the two cues Teams splits a sentence into join
    # again, and a cue that ends a sentence ends its line (docs/quality.md, row 45).
    assert transcripts.rows["raw_utterances (in table)"] == transcripts.units


def test_table_and_json_hold_every_row(toy_report, tmp_path: Path) -> None:
    table = format_table(toy_report)
    for m in toy_report.measurements:
        assert any(
            line.startswith(m.dataset) and f" {m.step} " in line for line in table.splitlines()
        ), (m.dataset, m.step)
    assert "peak RSS MB" in table
    # In process, memory is the whole test process's: no per-size memory verdict is drawn.
    assert "mbox ingest (duckdb): peak RSS" not in table
    saved = json.loads(write_json(toy_report, tmp_path).read_text(encoding="utf-8"))
    assert len(saved["measurements"]) == len(toy_report.measurements)
    assert saved["machine"]["cpus"] >= 1


def test_a_child_process_reports_its_own_peak_memory(tmp_path: Path) -> None:
    """The parent (pytest with Dagster imported) is far larger than a parse child; a child
    reporting the inherited ``ru_maxrss`` would show the parent's size instead of its own."""
    (dataset,) = generate_datasets(tmp_path, ["mbox"], Sizes(mbox=(30,)), seed=7)
    m = measure(dataset, "parse", "-", None, isolate=True, timeout_s=120)
    assert m.status == "ok", m.status
    assert m.records + m.errors == 30
    assert m.base_rss_mb is not None and m.peak_rss_mb is not None
    assert 0 < m.base_rss_mb <= m.peak_rss_mb < 150
    assert m.cpu_s > 0


def test_postgres_without_a_url_is_skipped_with_the_reason(tmp_path: Path) -> None:
    options = Options(
        cases=("tickets",),
        warehouses=("duckdb", "postgres"),
        sizes=TOY,
        postgres_url=None,
        isolate=False,
        out_dir=None,
        data_dir=tmp_path,
    )
    report = run_benchmark(options)
    assert {m.warehouse for m in report.measurements} == {"-", "duckdb"}
    assert any(n.startswith("postgres: skipped (no Postgres URL") for n in report.notes)
    assert "postgres: skipped" in format_table(report)


def test_command_line_options() -> None:
    assert parse_args([]).scale == 1.0
    assert parse_args(["--quick"]).scale == 0.1
    quick = parse_args(
        [
            "--quick",
            "--cases",
            "mbox,tickets",
            "--warehouse",
            "postgres",
            "--postgres-url",
            "postgresql://u@h/db",
        ]
    )
    assert quick.cases == ("mbox", "tickets") and quick.warehouses == ("postgres",)
    assert quick.postgres_url == "postgresql://u@h/db"
    assert parse_args(["--steps", "ingest"]).steps == ("ingest",)
    shown = " ".join(_redact_argv(["--postgres-url", "postgresql://u:secret@h/db", "--quick"]))
    assert "secret" not in shown and "postgresql://u:***@h/db" in shown
    for bad in (
        ["--cases", "mbox,faxes"],
        ["--warehouse", "sqlite"],
        ["--scale", "0"],
        ["--data-dir", str(Path(__file__).parent)],
    ):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_generation_is_deterministic_and_smaller_runs_are_prefixes(tmp_path: Path) -> None:
    """The 10k mbox is the first 10k messages of the 100k one: the size series compares the
    same mail, only more of it."""
    small, large, again = tmp_path / "small.mbox", tmp_path / "large.mbox", tmp_path / "again.mbox"
    generate.write_mbox(small, 40, seed=3)
    generate.write_mbox(large, 90, seed=3)
    generate.write_mbox(again, 90, seed=3)
    assert large.read_bytes() == again.read_bytes()
    assert large.read_bytes().startswith(small.read_bytes())
    generate.write_mbox(again, 90, seed=4)
    assert large.read_bytes() != again.read_bytes()
