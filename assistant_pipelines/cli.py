"""``assistant-pipelines``: the command for people.

``demo`` runs the whole pipeline on the bundled sample team; ``run`` on the files in
``ASSISTANT_INBOX`` for every week with data (or ``--weeks FROM..TO``); ``doctor`` checks the
settings, the warehouse, the model and the mail server; ``eval`` measures extraction quality
on labelled data. Runs go through the Dagster instance in ``DAGSTER_HOME``, so they show up in
the Dagster UI like any other run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from assistant_pipelines.llm.local_model import ModelUnavailable
from assistant_pipelines.settings import Settings, SettingsError, load_settings
from assistant_pipelines.warehouse import WarehouseError

DEMO_TIMEZONE = "Europe/Berlin"
DEMO_FIRST_WEEK = "2026-10-05"
DAGSTER_YAML = """\
# Written by assistant-pipelines when DAGSTER_HOME had no dagster.yaml; edit freely.
# One run at a time: a DuckDB warehouse admits a single writing process.
run_queue:
  max_concurrent_runs: 1
telemetry:
  enabled: false
"""


class CommandError(RuntimeError):
    """A problem the user can fix: printed as one sentence, exit status 2."""


def say(message: str = "") -> None:
    print(message, flush=True)


def prepare_dagster_home(settings: Settings) -> None:
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)


# -- run ----------------------------------------------------------------------------------
def parse_weeks(text: str) -> tuple[date, date]:
    """``2026-10-05..2026-10-26`` (either side may be any day of its week) or one date."""
    first, _, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError:
        raise CommandError(f"--weeks must look like 2026-10-05..2026-10-26, not {text!r}") from None
    if end < start:
        raise CommandError(f"--weeks {text!r} ends before it starts")
    return start - timedelta(days=start.weekday()), end - timedelta(days=end.weekday())


def weeks_with_data(settings: Settings) -> list[date]:
    from assistant_pipelines.ingest.rows import week_start
    from assistant_pipelines.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_url) as wh:
        moments = wh.run_file("document_moments")
    return sorted({week_start(row["occurred_at"], settings.tz) for row in moments})


def run_pipeline(settings: Settings, weeks: tuple[date, date] | None = None) -> list[date]:
    """Ingest the inbox, then process each week; returns the weeks processed."""
    import dagster as dg

    from assistant_pipelines.definitions import WEEKLY_ASSET_NAMES, build_definitions

    prepare_dagster_home(settings)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    say(f"▶ ingesting {settings.inbox}")
    started = time.monotonic()
    result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    if not result.success:
        raise CommandError("ingestion failed: see the messages above (or the run in the Dagster UI)")
    say(f"  done in {time.monotonic() - started:.0f} s")
    available = weeks_with_data(settings)
    if weeks is not None:
        first, last = weeks
        selected = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    else:
        selected = available
    partitions = defs.resolve_job_def("weekly_job").partitions_def
    assert partitions is not None
    valid = set(partitions.get_partition_keys(dynamic_partitions_store=instance))
    weekly_job = defs.resolve_job_def("weekly_job")
    if not selected:
        say("no documents with dates were found: nothing to process (is the inbox empty?)")
    for index, monday in enumerate(selected, start=1):
        key = monday.isoformat()
        if key not in valid:
            raise CommandError(
                f"week {key} is outside the partitions (first week {partitions.start:%Y-%m-%d}): "
                "set ASSISTANT_FIRST_WEEK earlier to process older history")
        say(f"▶ week {key} ({index}/{len(selected)}): {' → '.join(WEEKLY_ASSET_NAMES)}")
        started = time.monotonic()
        result = weekly_job.execute_in_process(instance=instance, partition_key=key, run_config=run_config,
                                               raise_on_error=False)
        if not result.success:
            raise CommandError(f"week {key} failed: see the messages above (or the run in the Dagster UI)")
        say(f"  done in {time.monotonic() - started:.0f} s")
    return selected


# -- demo ---------------------------------------------------------------------------------
def install_demo_inbox(inbox: Path) -> None:
    """Copy the bundled sample team's files into ``inbox`` (replacing earlier demo copies)."""
    source = resources.files("assistant_pipelines") / "demo"
    with resources.as_file(source) as demo_dir:
        for folder in ("transcripts", "mail", "tickets"):
            target = inbox / folder
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(demo_dir / "inbox" / folder, target)
        shutil.copy2(demo_dir / "people.yaml", inbox / "people.yaml")


def command_demo(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    env.setdefault("ASSISTANT_HOME", str(Path(args.home).resolve()))
    env.setdefault("ASSISTANT_TIMEZONE", DEMO_TIMEZONE)
    env.setdefault("ASSISTANT_FIRST_WEEK", DEMO_FIRST_WEEK)
    if args.home:
        env["ASSISTANT_HOME"] = str(Path(args.home).resolve())
    env.pop("ASSISTANT_INBOX", None)  # the demo never touches a real inbox
    settings = load_settings(env)
    os.environ.update({k: v for k, v in env.items() if k.startswith("ASSISTANT_")})
    if args.fresh and settings.home.exists():
        shutil.rmtree(settings.home)
    settings.inbox.mkdir(parents=True, exist_ok=True)
    install_demo_inbox(settings.inbox)
    say(f"Demo: the Northwind Labs team, four weeks of meetings, mail and tickets → {settings.home}")
    say(f"Model: {describe_model(settings)}")
    started = time.monotonic()
    weeks = run_pipeline(settings)
    say()
    say(f"Finished in {(time.monotonic() - started) / 60:.1f} min. Where everything is:")
    print_locations(settings, weeks)
    return 0


def describe_model(settings: Settings) -> str:
    if settings.llm_backend == "openai":
        return f"{settings.llm_model} at {settings.openai_base_url or 'api.openai.com'}"
    return (str(settings.local_model_path) if settings.local_model_path
            else "embedded Qwen2.5-Coder-1.5B-Instruct (local, on the CPU: the demo takes ~16 min)")


def print_locations(settings: Settings, weeks: Sequence[date]) -> None:
    from assistant_pipelines.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_url, read_only=settings.warehouse_url.startswith("duckdb")) as wh:
        counts = {t: wh.scalar(f"SELECT COUNT(*) FROM {t}") for t in
                  ("documents", "people", "action_items", "action_item_candidates", "llm_calls",
                   "ingest_errors", "reports", "outbound_messages")}
    say(f"  warehouse      {settings.warehouse_url}")
    for table, n in counts.items():
        say(f"    {table:<24}{n:>6} rows")
    for monday in weeks:
        say(f"  report         {settings.reports_dir / f'weekly-status-{monday.isoformat()}.html'}")
    say(f"  digests        {settings.outbox if not settings.smtp_url else 'sent over SMTP'}")
    say(f"  Dagster home   {settings.dagster_home}  (open the UI: DAGSTER_HOME={settings.dagster_home} "
        f"ASSISTANT_HOME={settings.home} uv run dagster dev -w workspace.yaml)")
    if settings.warehouse_url.startswith("duckdb"):
        say(f"  query          uv run python -c \"import duckdb; print(duckdb.connect('{settings.home / 'warehouse.duckdb'}', "
            "read_only=True).sql('select * from open_action_items'))\"")


def command_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.inbox.is_dir():
        raise CommandError(f"the inbox {settings.inbox} does not exist: set ASSISTANT_INBOX or create it "
                           "with transcripts/, mail/ and tickets/ folders")
    weeks = parse_weeks(args.weeks) if args.weeks else None
    say(f"Model: {describe_model(settings)}")
    processed = run_pipeline(settings, weeks)
    say()
    print_locations(settings, processed)
    return 0


def command_doctor(args: argparse.Namespace) -> int:
    from assistant_pipelines.doctor import run_checks

    settings = load_settings()
    say("Settings in force:")
    for name, value in settings.redacted().items():
        say(f"  {name:<26} {value}")
    say()
    problems = 0
    for check in run_checks(settings, deep=args.deep):
        mark = {"ok": "✔", "warn": "!", "fail": "✘"}[check.status]
        say(f"  {mark} {check.name:<12} {check.message}")
        problems += check.status == "fail"
    say()
    say("All checks passed." if not problems else f"{problems} problem(s) found.")
    return 1 if problems else 0


def command_eval(args: argparse.Namespace) -> int:
    from assistant_pipelines.evaluation.command import run_eval_command

    return run_eval_command(args, load_settings())


def command_diff_prompts(args: argparse.Namespace) -> int:
    from assistant_pipelines.llm.diff import run_diff_command

    return run_diff_command(args, load_settings())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant-pipelines", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the whole pipeline on the bundled sample team")
    demo.add_argument("--home", default="var/demo", help="where the demo's warehouse, reports and outbox go")
    demo.add_argument("--fresh", action="store_true", help="delete the demo home first (re-extracts everything)")
    demo.set_defaults(func=command_demo)
    run = sub.add_parser("run", help="ingest ASSISTANT_INBOX and process every week with data")
    run.add_argument("--weeks", help="only these weeks: FROM..TO as dates, e.g. 2026-10-05..2026-10-26")
    run.set_defaults(func=command_run)
    doctor = sub.add_parser("doctor", help="check settings, warehouse, model, endpoint and mail server")
    doctor.add_argument("--deep", action="store_true", help="also load the local model and ask it one question")
    doctor.set_defaults(func=command_doctor)
    evaluate = sub.add_parser("eval", help="measure extraction quality on labelled meetings and e-mails")
    evaluate.add_argument("--data", default="../shared/data", help="folder with ami_meetings.jsonl / bc3_emails.jsonl")
    evaluate.add_argument("--source", choices=["ami", "bc3", "all"], default="all")
    evaluate.add_argument("--limit", type=int, default=None, help="at most this many documents per source")
    evaluate.add_argument("--only", default=None,
                          help="comma-separated document ids (AMI meeting ids, BC3 e-mail ids) to evaluate")
    evaluate.add_argument("--short-meetings", type=int, default=None, metavar="LINES",
                          help="cut the AMI meetings into short ones of LINES non-filler lines around their "
                               "gold (and one without) and evaluate those instead (docs/quality.md, row 30)")
    shape = evaluate.add_mutually_exclusive_group()
    shape.add_argument("--merged-turns", action="store_true",
                       help="show each AMI meeting as a transcript of whole turns (a paragraph per turn): a "
                            "speaker's consecutive utterances joined into one line of up to 500 characters "
                            "(docs/quality.md, row 33)")
    shape.add_argument("--as-cues", action="store_true",
                       help="show each AMI meeting as ingestion reads a WebVTT or SRT export of it: a speaker's "
                            "consecutive utterances joined until a sentence ends (docs/quality.md, row 45)")
    evaluate.add_argument("--match-anywhere", action="store_true",
                          help="match predictions to gold by meaning alone, wherever their evidence lies (how "
                               "docs/quality.md rows 0-34 were measured); by default a match's evidence must lie "
                               "within 10 lines of the gold's (row 35)")
    evaluate.add_argument("--out", default=None, help="per-item JSONL file (default: $ASSISTANT_HOME/eval/…)")
    evaluate.set_defaults(func=command_eval)
    from assistant_pipelines.llm.diff import add_diff_arguments

    diff = sub.add_parser("diff-prompts", help="compare two prompt versions' extractions side by side")
    add_diff_arguments(diff)
    diff.set_defaults(func=command_diff_prompts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (SettingsError, CommandError, WarehouseError, ModelUnavailable) as exc:
        print(f"assistant-pipelines: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assistant-pipelines: interrupted; re-run to finish (answers already paid for are cached)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
