"""Ingestion benchmarks: throughput and peak memory of parsing and ingesting generated inboxes.

Owns the whole benchmark run behind ``python -m benchmarks``: generating the inputs (with
``generate.py``, into a temporary folder, untimed), measuring every (input, step, warehouse)
combination in a child process of its own, and printing the results as a plain-text table
(also written as JSON to ``benchmarks/out/``).

Steps measured for each input:

- ``parse``: the parser alone (``iter_mail`` / ``parse_transcript`` / ``iter_tickets``), records
  drained and dropped: what reading the files costs;
- ``ingest``: ``ingest_kind`` from ``assistant_pipelines.assets.ingest`` into a fresh warehouse
  (a DuckDB file, or a Postgres schema of its own), exactly as the Dagster assets run it. The
  time spent inside warehouse calls is added up separately (``in warehouse``), so the rest is
  parsing plus building rows.

Why a child process per measurement: peak memory must belong to one case. The child reads its
own high-water mark (``VmHWM`` from ``/proc/self/status``) rather than ``ru_maxrss``: on Linux a
child started by ``subprocess`` (vfork + exec) inherits its parent's ``ru_maxrss``, so a lean
child of a 600 MB parent reports 600 MB (measured here), while ``VmHWM`` starts afresh at exec.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from benchmarks import generate

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
CASES = ("mbox", "transcripts", "tickets")
STEPS = ("parse", "ingest")
WAREHOUSES = ("duckdb", "postgres")
RESULT_MARKER = "BENCH-RESULT "
POSTGRES_ENV = "ASSISTANT_TEST_POSTGRES_DSN"
MB = 1024 * 1024


# --- sizes and inputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much input each case generates. The full run's sizes are the defaults."""

    mbox: tuple[int, ...] = (10_000, 50_000, 100_000)
    transcripts: int = 1_000
    github_issues: int = 20_000
    jira_rows: int = 5_000

    def scaled(self, factor: float) -> Sizes:
        """Every size times ``factor``, with floors so each case keeps all of its shapes
        (four transcript formats, a few malformed records)."""
        if factor == 1:
            return self
        return Sizes(
            mbox=tuple(max(20, round(n * factor)) for n in self.mbox),
            transcripts=max(8, round(self.transcripts * factor)),
            github_issues=max(20, round(self.github_issues * factor)),
            jira_rows=max(10, round(self.jira_rows * factor)),
        )


@dataclass(frozen=True)
class Dataset:
    """One generated input: an inbox folder holding one kind of source."""

    case: str  # mbox | transcripts | tickets
    label: str  # how the table names it, e.g. "mbox 100k"
    kind: str  # mail | transcript | ticket (the ingest SourceKind)
    inbox: Path
    unit: str  # what throughput counts: messages | cues | tickets
    units: int
    input_bytes: int
    malformed: int  # records written to be refused
    generate_s: float
    detail: dict[str, Any] = field(default_factory=dict)


def _short_count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def _counts(stats: Any) -> tuple[int, int]:
    """(input units, records written to be refused) of a generator's stats."""
    if isinstance(stats, generate.MailStats):
        return stats.messages, stats.malformed
    if isinstance(stats, generate.TranscriptStats):
        return stats.cues, stats.broken
    # Bad ticket records are input too: the parser has to get through them.
    return stats.tickets + stats.malformed, stats.malformed


def generate_datasets(
    root: Path,
    cases: Sequence[str],
    sizes: Sizes,
    seed: int,
    log: Callable[[str], None] = lambda _: None,
) -> list[Dataset]:
    """Write every input the selected cases need below ``root``."""
    datasets: list[Dataset] = []

    def add(
        case: str, label: str, kind: str, inbox: Path, unit: str, write: Callable[[], Any]
    ) -> None:
        started = time.perf_counter()
        stats = write()
        seconds = time.perf_counter() - started
        units, malformed = _counts(stats)
        datasets.append(
            Dataset(
                case=case,
                label=label,
                kind=kind,
                inbox=inbox,
                unit=unit,
                units=units,
                input_bytes=stats.bytes,
                malformed=malformed,
                generate_s=seconds,
                detail=asdict(stats),
            )
        )
        log(f"generated {label}: {units:,} {unit}, {stats.bytes / MB:.0f} MB in {seconds:.1f} s")

    if "mbox" in cases:
        for count in sizes.mbox:
            label = f"mbox {_short_count(count)}"
            inbox = root / label.replace(" ", "-") / "inbox"
            (inbox / "mail").mkdir(parents=True)
            mbox = inbox / "mail" / "archive.mbox"
            add(
                "mbox",
                label,
                "mail",
                inbox,
                "messages",
                partial(generate.write_mbox, mbox, count, seed),
            )
    if "transcripts" in cases:
        inbox = root / "transcripts" / "inbox"
        write = partial(generate.write_transcripts, inbox / "transcripts", sizes.transcripts, seed)
        add(
            "transcripts",
            f"transcripts {_short_count(sizes.transcripts)}",
            "transcript",
            inbox,
            "cues",
            write,
        )
    if "tickets" in cases:
        inbox = root / "tickets" / "inbox"
        total = sizes.github_issues + sizes.jira_rows
        write = partial(
            generate.write_tickets, inbox / "tickets", sizes.github_issues, sizes.jira_rows, seed
        )
        add("tickets", f"tickets {_short_count(total)}", "ticket", inbox, "tickets", write)
    return datasets


# --- one measurement ---------------------------------------------------------------------------


@dataclass
class Measurement:
    """What one (dataset, step, warehouse) run gave. ``status`` is "ok", "failed: …" or
    "skipped: …"; the numbers are meaningful only when it is "ok"."""

    dataset: str
    case: str
    step: str  # parse | ingest
    warehouse: str  # "-" for parse
    unit: str
    units: int
    status: str = "ok"
    seconds: float = 0.0  # wall time
    cpu_s: float = 0.0  # CPU time of the process, all threads
    records: int = 0  # records parsed (parse) or rows written (ingest)
    errors: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    warehouse_s: float | None = None
    warehouse_breakdown: dict[str, dict[str, float]] = field(default_factory=dict)
    base_rss_mb: float | None = None  # after imports, before the work
    peak_rss_mb: float | None = None
    end_rss_mb: float | None = None
    isolated: bool = True
    database_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    @property
    def growth_mb(self) -> float | None:
        if self.peak_rss_mb is None or self.base_rss_mb is None:
            return None
        return self.peak_rss_mb - self.base_rss_mb


def _memory_kb() -> dict[str, int]:
    """VmRSS and VmHWM of this process in KB (Linux); ru_maxrss as the peak elsewhere."""
    values: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    values[name] = int(rest.split()[0])
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        values = {"VmRSS": peak, "VmHWM": peak}  # macOS reports bytes; good enough there
    return values


class Probe:
    """Wall time, CPU time (all threads: DuckDB works in threads of its own) and memory of
    this process from :meth:`start` to :meth:`stop`."""

    def start(self) -> Probe:
        self.base = _memory_kb()
        self._cpu = _cpu_seconds()
        self._wall = time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        cpu = _cpu_seconds() - self._cpu
        end = _memory_kb()
        return {
            "seconds": wall,
            "cpu_s": cpu,
            "base_rss_mb": self.base["VmRSS"] / 1024,
            "peak_rss_mb": end["VmHWM"] / 1024,
            "end_rss_mb": end["VmRSS"] / 1024,
        }


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_step(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Do one measurement in this process and return its numbers (the child's job).

    ``spec``: ``step`` (parse | ingest), ``kind`` (mail | transcript | ticket), ``inbox`` and,
    for ingest, ``warehouse_url``. Imports happen before the baseline memory reading, so the
    growth column shows what the work itself costs.
    """
    inbox = Path(spec["inbox"])
    if spec["step"] != "parse":
        return _ingest(spec["kind"], inbox, spec["warehouse_url"])
    lister, parse = _parser_for(spec["kind"])
    folder = inbox / _FOLDERS[spec["kind"]]
    probe = Probe().start()
    records, errors, rows = 0, 0, 0
    for path in lister(folder):
        r, e, u = parse(path, path.relative_to(inbox).as_posix())
        records, errors, rows = records + r, errors + e, rows + u
    measured = probe.stop()
    return {
        "records": records,
        "errors": errors,
        "rows": {"utterances": rows} if rows else {},
        **measured,
    }


_FOLDERS = {"mail": "mail", "transcript": "transcripts", "ticket": "tickets"}
ParseOne = Callable[[Path, str], tuple[int, int, int]]  # → (records, errors, utterances)


def _parser_for(kind: str) -> tuple[Callable[[Path], list[Path]], ParseOne]:
    """The lister and a drain-the-parser function for ``kind``, importing only the parser
    module (no Dagster, no warehouse), so the parse step measures the parser alone."""
    from assistant_pipelines.ingest.errors import IngestError

    def drain(items: Iterator[Any]) -> tuple[int, int, int]:
        records = errors = 0
        try:
            for item in items:
                if isinstance(item, IngestError):
                    errors += 1
                else:
                    records += 1
        except IngestError:
            errors += 1
        return records, errors, 0

    if kind == "mail":
        from assistant_pipelines.ingest.mail import iter_mail, list_mail_sources

        return list_mail_sources, lambda p, d: drain(iter_mail(p, display_path=d))
    if kind == "ticket":
        from assistant_pipelines.ingest.tickets import iter_tickets, list_ticket_files

        return list_ticket_files, lambda p, d: drain(iter_tickets(p, display_path=d))
    from assistant_pipelines.ingest.transcripts import list_transcript_files, parse_transcript

    def one_transcript(path: Path, display: str) -> tuple[int, int, int]:
        try:
            return 1, 0, len(parse_transcript(path, display_path=display).utterances)
        except IngestError:
            return 0, 1, 0

    return list_transcript_files, one_transcript


def _ingest(kind: str, inbox: Path, url: str) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    # DuckDB's client imports pandas (~2 s, ~60 MB) the first time a table is registered, i.e.
    # at the first write of every process. Paid here, before the baseline, so the numbers
    # describe ingestion; the README states that one-off cost separately.
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    from assistant_pipelines.assets.ingest import MAIL, TICKETS, TRANSCRIPTS, ingest_kind
    from assistant_pipelines.warehouse import open_warehouse

    source_kind = {"mail": MAIL, "transcript": TRANSCRIPTS, "ticket": TICKETS}[kind]
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        timed = timed_warehouse(wh)
        probe = Probe().start()
        summary = ingest_kind(timed, source_kind, inbox, ZoneInfo("UTC"))
        measured = probe.stop()
        written = {t: int(wh.scalar(f"SELECT count(*) FROM {t}")) for t in source_kind.tables}
    if summary.sources_ingested != summary.sources_seen:
        raise RuntimeError(
            f"only {summary.sources_ingested} of {summary.sources_seen} sources ingested"
        )
    return {
        "records": sum(summary.records.values()),
        "errors": summary.errors,
        "rows": {**summary.records, **{f"{t} (in table)": n for t, n in written.items()}},
        "warehouse_s": timed.seconds,
        "warehouse_breakdown": {
            label: {"calls": int(calls), "seconds": round(seconds, 3)}
            for label, (calls, seconds) in sorted(timed.breakdown.items(), key=lambda kv: -kv[1][1])
        },
        **measured,
    }


def timed_warehouse(wh: Any) -> Any:
    """``wh`` wrapped so that it adds up the time spent in warehouse calls (``.seconds``).
    Built here, not at import: the warehouse module pulls in polars, which the parse step
    must not pay for."""
    from assistant_pipelines.warehouse import Warehouse

    class _TimedWarehouse(Warehouse):
        """A Warehouse on the same connection that adds up the wall time spent in its calls
        (outermost call only: ``replace_rows`` calling ``insert_rows`` counts once), so the
        ingest time splits into writing and everything else. BEGIN and COMMIT are counted;
        the body of a transaction is not."""

        def __init__(self, inner: Warehouse) -> None:
            # The benchmark shares the open connection rather than opening a second one
            # (a DuckDB file admits one writer).
            super().__init__(inner.dialect, inner._con)
            self.seconds = 0.0
            self.breakdown: dict[str, list[float]] = {}  # label → [calls, seconds]
            self._depth = 0

        def _timed(self, label: str, call: Callable[..., Any], *args: Any) -> Any:
            if self._depth:
                return call(*args)
            self._depth += 1
            started = time.perf_counter()
            try:
                return call(*args)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds += elapsed
                entry = self.breakdown.setdefault(label, [0, 0.0])
                entry[0] += 1
                entry[1] += elapsed
                self._depth -= 1

        def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
            self._timed(_statement_label(sql), super().execute, sql, params)

        def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
            return self._timed(_statement_label(sql), super().query, sql, params)

        def insert_rows(
            self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
        ) -> int:
            return self._timed(f"insert_rows {table}", super().insert_rows, table, columns, rows)

        def replace_rows(
            self,
            table: str,
            key_columns: Sequence[str],
            columns: Sequence[str],
            rows: Sequence[Mapping[str, Any]],
        ) -> int:
            return self._timed(
                f"replace_rows {table}", super().replace_rows, table, key_columns, columns, rows
            )

        @contextmanager
        def transaction(self) -> Iterator[Warehouse]:
            manager = super().transaction()
            self._timed("BEGIN", manager.__enter__)
            try:
                yield self
            except BaseException as exc:
                if not self._timed("ROLLBACK", manager.__exit__, type(exc), exc, exc.__traceback__):
                    raise
            else:
                self._timed("COMMIT", manager.__exit__, None, None, None)

    return _TimedWarehouse(wh)


_STATEMENT = re.compile(
    r"^\s*(SELECT|DELETE|INSERT|UPDATE)\b.*?\b(?:FROM|INTO|UPDATE)\s+(\w+)",
    re.IGNORECASE | re.DOTALL,
)


def _statement_label(sql: str) -> str:
    """What a statement does, and to what: ``DELETE raw_utterances``, ``SELECT ingested_files``."""
    match = _STATEMENT.match(sql)
    if match:
        return f"{match.group(1).upper()} {match.group(2)}"
    return " ".join(sql.split()[:2])


# --- running steps in children -----------------------------------------------------------------


def _measure_in_child(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.ingest", "--child", json.dumps(spec)]
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": f"failed: timed out after {timeout_s:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": f"failed (exit {done.returncode}): {last[:200]}"}


def child_main(spec_json: str) -> int:
    try:
        result = run_step(json.loads(spec_json))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as this case's status
        result = {"status": f"failed: {type(exc).__name__}: {exc}"[:300]}
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


def measure(
    dataset: Dataset,
    step: str,
    warehouse: str,
    warehouse_url: str | None,
    *,
    isolate: bool = True,
    timeout_s: float = 7200.0,
) -> Measurement:
    """One measurement: in a child process (``isolate``), or in this one (for tests, where
    the memory columns then describe the whole test process, not the case)."""
    spec = {
        "step": step,
        "kind": dataset.kind,
        "inbox": str(dataset.inbox),
        "warehouse_url": warehouse_url,
    }
    if isolate:
        result = _measure_in_child(spec, timeout_s)
    else:
        try:
            result = run_step(spec)
        except Exception as exc:  # noqa: BLE001 - a failed case is a row, not a crash
            result = {"status": f"failed: {type(exc).__name__}: {exc}"[:300]}
    known = {f for f in Measurement.__dataclass_fields__}
    measurement = Measurement(
        dataset.label,
        dataset.case,
        step,
        warehouse,
        dataset.unit,
        dataset.units,
        isolated=isolate,
        **{k: v for k, v in result.items() if k in known},
    )
    if isolate is False and measurement.status == "ok":
        measurement.base_rss_mb = None  # a high-water mark of the whole process: not this case's
    if warehouse_url and warehouse_url.startswith("duckdb:///"):
        db_file = Path(warehouse_url[len("duckdb://") :])
        if db_file.exists():
            measurement.database_mb = db_file.stat().st_size / MB
    return measurement


# --- Postgres ----------------------------------------------------------------------------------


def _postgres_schema_url(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` (libpq ``options``), so each case gets
    empty tables of its own without needing CREATE DATABASE rights."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = (query.get("options", "") + f" -csearch_path={schema}").strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextmanager
def postgres_schema(url: str, schema: str) -> Iterator[str]:
    import psycopg

    plain = "postgresql://" + url.split("://", 1)[1]
    with psycopg.connect(plain, autocommit=True, connect_timeout=10) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _postgres_schema_url(url, schema)
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=10) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def check_postgres(url: str | None) -> str | None:
    """None when ``url`` reaches a Postgres server, else why not (one line)."""
    if not url:
        return (
            f"no Postgres URL: pass --postgres-url postgresql://user@host/db or set {POSTGRES_ENV}"
        )
    if not url.startswith("postgres"):
        return f"--postgres-url must be a postgresql:// URL, not {url.split(':', 1)[0]!r}"
    try:
        import psycopg

        with psycopg.connect("postgresql://" + url.split("://", 1)[1], connect_timeout=10) as con:
            con.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: skip, and say why
        return f"cannot connect to Postgres: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return None


# --- the whole run -----------------------------------------------------------------------------


@dataclass
class Options:
    cases: tuple[str, ...] = CASES
    steps: tuple[str, ...] = STEPS
    warehouses: tuple[str, ...] = ("duckdb",)
    scale: float = 1.0
    seed: int = generate.SEED
    postgres_url: str | None = None
    out_dir: Path | None = DEFAULT_OUT
    keep_data: bool = False
    isolate: bool = True
    timeout_s: float = 7200.0
    data_dir: Path | None = None  # default: a fresh folder under the system temp dir
    sizes: Sizes | None = None  # exact sizes instead of the defaults times ``scale``


@dataclass
class Report:
    command: str
    started_at: str
    finished_at: str
    machine: dict[str, Any]
    options: dict[str, Any]
    sizes: dict[str, Any]
    datasets: list[dict[str, Any]]
    measurements: list[Measurement]
    notes: list[str]


def _machine() -> dict[str, Any]:
    import duckdb

    info = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 1024**3, 1)
    except ImportError:
        pass
    return info


def _load() -> float | None:
    """The 1-minute load average: other work on a shared machine skews wall times."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run_benchmark(
    options: Options,
    log: Callable[[str], None] = lambda _: None,
    command: str = "python -m benchmarks",
) -> Report:
    """Generate, measure every step, and return the report (nothing printed here)."""
    started_at = datetime.now(UTC)
    load_start = _load()
    sizes = options.sizes or Sizes().scaled(options.scale)
    root = Path(tempfile.mkdtemp(prefix="assistant-bench-", dir=options.data_dir))
    notes: list[str] = []
    measurements: list[Measurement] = []
    try:
        datasets = generate_datasets(root, options.cases, sizes, options.seed, log)
        warehouses = list(options.warehouses)
        if "postgres" in warehouses:
            problem = check_postgres(options.postgres_url)
            if problem is not None:
                warehouses.remove("postgres")
                notes.append(f"postgres: skipped ({problem})")
                log(notes[-1])
        plan = [(d, "parse", "-") for d in datasets if "parse" in options.steps] + [
            (d, "ingest", w) for d in datasets for w in warehouses if "ingest" in options.steps
        ]
        for number, (dataset, step, warehouse) in enumerate(plan, start=1):
            log(
                f"[{number}/{len(plan)}] {dataset.label}: {step} {warehouse if warehouse != '-' else ''}".rstrip()
            )
            measurement = _measure_one(root, dataset, step, warehouse, options)
            measurements.append(measurement)
            log(
                f"    {measurement.status}, {measurement.seconds:.1f} s, "
                f"{measurement.rate:,.0f} {dataset.unit}/s, peak {measurement.peak_rss_mb or 0:.0f} MB"
            )
        notes += memory_notes(measurements) + warehouse_notes(measurements)
        return Report(
            command=command,
            started_at=started_at.isoformat(timespec="seconds"),
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            machine={**_machine(), "load_start": load_start, "load_end": _load()},
            options={
                **asdict(options),
                "out_dir": str(options.out_dir),
                "data_dir": str(options.data_dir),
                "postgres_url": _redact(options.postgres_url),
            },
            sizes=asdict(sizes),
            datasets=[{**asdict(d), "inbox": str(d.inbox)} for d in datasets],
            measurements=measurements,
            notes=notes,
        )
    finally:
        if options.keep_data:
            log(f"generated data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _measure_one(
    root: Path, dataset: Dataset, step: str, warehouse: str, options: Options
) -> Measurement:
    if step == "parse":
        return measure(
            dataset, step, warehouse, None, isolate=options.isolate, timeout_s=options.timeout_s
        )
    slug = dataset.label.replace(" ", "_").replace(",", "")
    if warehouse == "duckdb":
        url = f"duckdb:///{root / f'{slug}.duckdb'}"
        try:
            return measure(
                dataset, step, warehouse, url, isolate=options.isolate, timeout_s=options.timeout_s
            )
        finally:
            for leftover in root.glob(f"{slug}.duckdb*"):
                leftover.unlink()
    assert options.postgres_url is not None
    try:
        with postgres_schema(options.postgres_url, f"bench_{slug}_{os.getpid()}") as url:
            return measure(
                dataset, step, warehouse, url, isolate=options.isolate, timeout_s=options.timeout_s
            )
    except Exception as exc:  # noqa: BLE001 - the server went away mid-run: a failed row
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return Measurement(
            dataset.label,
            dataset.case,
            step,
            warehouse,
            dataset.unit,
            dataset.units,
            status=f"failed: Postgres: {first_line[:200]}",
        )


def _redact_argv(argv: Sequence[str]) -> list[str]:
    """The command line as printed: a password in ``--postgres-url`` replaced by ``***``."""
    out = []
    for i, arg in enumerate(argv):
        if i and argv[i - 1] == "--postgres-url":
            arg = _redact(arg) or arg
        elif arg.startswith("--postgres-url="):
            arg = "--postgres-url=" + (_redact(arg.split("=", 1)[1]) or "")
        out.append(arg)
    return out


def _redact(url: str | None) -> str | None:
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def memory_notes(measurements: Sequence[Measurement]) -> list[str]:
    """One line per (step, warehouse) of the mbox case: does peak memory follow input size?"""
    notes = []
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in measurements:
        if m.case == "mbox" and m.status == "ok" and m.isolated and m.growth_mb is not None:
            groups.setdefault((m.step, m.warehouse), []).append(m)
    for (step, warehouse), group in groups.items():
        if len(group) < 2:
            continue
        group.sort(key=lambda m: m.units)
        small, large = group[0], group[-1]
        per_10k = (large.growth_mb - small.growth_mb) / max(1, large.units - small.units) * 10_000
        where = f"mbox {step}" + (f" ({warehouse})" if warehouse != "-" else "")
        steps = " → ".join(f"{m.peak_rss_mb:.0f}" for m in group)
        # Below a few thousand messages allocator noise dominates: give numbers, no verdict.
        verdict = (
            ("flat" if abs(per_10k) < 5 else "GROWS with input")
            if small.units >= 5000
            else "too small to tell"
        )
        notes.append(
            f"{where}: peak RSS {steps} MB for {' → '.join(_short_count(m.units) for m in group)}"
            f" messages; {per_10k:+.1f} MB per 10k messages ({verdict})"
        )
    return notes


def warehouse_notes(measurements: Sequence[Measurement], share: float = 0.25) -> list[str]:
    """Where the warehouse time went, for ingest steps that spend a good part of it there."""
    notes = []
    for m in measurements:
        if m.status != "ok" or not m.warehouse_s or m.warehouse_s < share * m.seconds:
            continue
        top = list(m.warehouse_breakdown.items())[:4]
        parts = ", ".join(
            f"{label} {v['seconds']:.1f} s ({int(v['calls']):,} calls)" for label, v in top
        )
        notes.append(f"{m.dataset} ingest ({m.warehouse}), time in the warehouse by call: {parts}")
    return notes


# --- output ------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


LEGEND = (
    "time: wall time; cpu: CPU time of the child, all threads (steadier on a busy machine).",
    "units/s: input units (messages, transcript cues, tickets) per second of wall time.",
    "records: records parsed (parse) or rows written (ingest); errors: ingest errors recorded.",
    "in warehouse: seconds inside warehouse calls (BEGIN/COMMIT included) and their share.",
    "peak RSS: the case's child process high-water mark; growth: peak minus RSS after imports.",
)


def format_table(report: Report) -> str:
    """The report as the plain-text table ``python -m benchmarks`` prints."""
    header = [
        "input",
        "step",
        "warehouse",
        "units",
        "time s",
        "cpu s",
        "units/s",
        "records",
        "errors",
        "in warehouse s",
        "peak RSS MB",
        "growth MB",
        "db MB",
    ]
    rows = []
    for m in report.measurements:
        if m.status != "ok":
            rows.append([m.dataset, m.step, m.warehouse, f"{m.units:,} {m.unit}", m.status])
            continue
        share = ""
        if m.warehouse_s is not None and m.seconds:
            share = f"{m.warehouse_s:,.1f} ({m.warehouse_s / m.seconds:.0%})"
        rows.append(
            [
                m.dataset,
                m.step,
                m.warehouse,
                f"{m.units:,} {m.unit}",
                _num(m.seconds, 1),
                _num(m.cpu_s, 1),
                _num(m.rate),
                f"{m.records:,}",
                f"{m.errors:,}",
                share or "-",
                _num(m.peak_rss_mb),
                _num(m.growth_mb),
                _num(m.database_mb),
            ]
        )
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    numeric = set(range(4, len(header)))

    def line(cells: Sequence[str]) -> str:
        if len(cells) != len(header):  # a failed or skipped case: its reason spans the rest
            fixed = [c.ljust(widths[i]) for i, c in enumerate(cells[:4])]
            return "  ".join([*fixed, cells[4]]).rstrip()
        return "  ".join(
            c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    machine = report.machine
    out = [
        f"Ingestion benchmark, {report.started_at} (UTC): {report.command}",
        (
            f"machine: {machine.get('cpus')} CPUs, {machine.get('memory_gb', '?')} GB, "
            f"{machine.get('platform')}, Python {machine.get('python')}, "
            f"DuckDB {machine.get('duckdb')}; load average {machine.get('load_start')} at the "
            f"start, {machine.get('load_end')} at the end"
        ),
        "",
        line(header),
        line(["-" * w for w in widths]),
        *(line(r) for r in rows),
        "",
        *LEGEND,
    ]
    if report.notes:
        out += ["", *report.notes]
    generated = ", ".join(
        f"{d['label']} {d['input_bytes'] / MB:,.0f} MB in {d['generate_s']:.0f} s"
        for d in report.datasets
    )
    out += ["", f"generated (not timed): {generated}"]
    return "\n".join(out)


def write_json(report: Report, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "").replace("+0000", "Z")
    path = out_dir / f"ingest-{stamp}.json"
    payload = {
        **asdict(report),
        "measurements": [
            {**asdict(m), "rate": m.rate, "growth_mb": m.growth_mb} for m in report.measurements
        ],
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


# --- command line ------------------------------------------------------------------------------


def _csv_choices(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        chosen = tuple(v.strip() for v in value.split(",") if v.strip())
        unknown = [v for v in chosen if v not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"{value!r}: choose from {', '.join(allowed)} (comma-separated)"
            )
        return chosen

    return parse


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Ingestion throughput and peak memory on generated inboxes (mbox, "
        "transcripts, tickets), parse-only and into a warehouse.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="10x smaller inputs (minutes, not half an hour)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="multiply every input size by this (overrides --quick; e.g. 0.01)",
    )
    parser.add_argument(
        "--cases",
        type=_csv_choices(CASES),
        default=CASES,
        help="comma-separated subset of: " + ",".join(CASES),
    )
    parser.add_argument(
        "--steps",
        type=_csv_choices(STEPS),
        default=STEPS,
        help="parse (parser alone), ingest (into the warehouse), or both (default)",
    )
    parser.add_argument(
        "--warehouse",
        type=_csv_choices(WAREHOUSES),
        default=("duckdb",),
        help="duckdb (default), postgres, or both: duckdb,postgres",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV),
        help=f"a postgresql:// URL for --warehouse postgres (default: ${POSTGRES_ENV})",
    )
    parser.add_argument("--seed", type=int, default=generate.SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="parent folder for the generated inputs (default: the system temp dir)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the generated inputs")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="no child processes (faster; memory columns then mean nothing per case)",
    )
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds allowed per case")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    if scale <= 0:
        parser.error("--scale must be positive")
    if args.data_dir is not None and _inside(args.data_dir, REPO_ROOT):
        parser.error("--data-dir must be outside the repository")
    return Options(
        cases=args.cases,
        steps=args.steps,
        warehouses=args.warehouse,
        scale=scale,
        seed=args.seed,
        postgres_url=args.postgres_url,
        out_dir=args.out,
        keep_data=args.keep_data,
        isolate=not args.in_process,
        timeout_s=args.timeout,
        data_dir=args.data_dir,
    )


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child_main(argv[1])
    options = parse_args(argv)
    command = "python -m benchmarks" + ("" if not argv else " " + shlex.join(_redact_argv(argv)))
    report = run_benchmark(
        options, log=lambda m: print(m, file=sys.stderr, flush=True), command=command
    )
    print(format_table(report))
    if options.out_dir is not None:
        path = write_json(report, options.out_dir)
        print(f"\n(JSON: {path})")
    failed = [m for m in report.measurements if m.status.startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
