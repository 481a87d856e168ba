"""``docs/tables.md`` against the warehouse it describes, so the analysts' reference cannot drift.

The schema side comes from ``sql/schema.sql`` itself: its tables, views, columns, nullability and
primary keys as DuckDB creates them, and each column's declared type from the file's text. The
doc must name exactly those relations and columns, in the same order, with the same types, keys
and nullability, say what NULL means wherever NULL is allowed, and say which asset writes each
table (an asset that exists) and how. Then every ```sql block in it runs unchanged on an empty
warehouse and on a small fictional one, on DuckDB (read-only, as the doc tells analysts to
connect) and on a real Postgres, and the two engines must return the same rows. The doc's
Python recipes for DuckDB run too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from assistant_pipelines.warehouse import (
    WarehouseTarget,
    load_sql,
    open_warehouse,
    split_statements,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
WRITE_MODES = ("upsert on a key", "replaced per source file", "a week replaced whole", "rebuilt whole",
               "appended")
_HEADING = re.compile(r"^### `(?P<name>\w+)`(?P<view> \(view\))?\s*$")
_SECTION_END = re.compile(r"^#{2,3} ")
_CONSTRAINT_WORDS = r"NOT\s+NULL|NULL|PRIMARY\s+KEY|DEFAULT|REFERENCES|UNIQUE|CHECK|CONSTRAINT|COLLATE"


# -- the schema ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    nullable: bool
    declared_type: str | None = None  # as written in schema.sql; None for view columns


@dataclass
class Relation:
    name: str
    is_view: bool
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _top_level_parts(body: str) -> list[str]:
    """Split a column list on the commas outside parentheses (``NUMERIC(12, 6)`` stays whole)."""
    parts, depth, current = [], 0, []
    for char in body:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def declared_types(schema_sql: str) -> dict[str, dict[str, str]]:
    """``{table: {column: TYPE}}`` as ``schema.sql`` spells the types (upper case, single spaces)."""
    tables: dict[str, dict[str, str]] = {}
    for statement in split_statements(schema_sql):
        added = re.match(r"ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+(.*)$",
                         _strip_comments(statement).strip(), re.IGNORECASE | re.DOTALL)
        if added:
            tables.setdefault(added[1], {})[added[2]] = _type_of(added[3])
            continue
        match = re.match(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*$",
                         _strip_comments(statement).strip(), re.IGNORECASE | re.DOTALL)
        if not match:
            continue
        columns = tables.setdefault(match[1], {})
        for part in _top_level_parts(match[2]):
            name, _, rest = part.partition(" ")
            if name.upper() in {"PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK"}:
                continue
            columns[name] = _type_of(rest)
    return tables


def _type_of(definition: str) -> str:
    """The type at the start of a column definition, before any constraint."""
    match = re.match(rf"\s*(.*?)(?=\s+(?:{_CONSTRAINT_WORDS})\b|\s*$)", definition, re.IGNORECASE | re.DOTALL)
    return " ".join(match[1].upper().split()) if match else ""


@pytest.fixture(scope="module")
def schema() -> dict[str, Relation]:
    """Every relation ``schema.sql`` creates, as DuckDB sees it after running it."""
    with open_warehouse("duckdb:///:memory:") as wh:
        wh.ensure_schema()
        relations = {
            r["table_name"]: Relation(r["table_name"], r["table_type"] == "VIEW")
            for r in wh.query("SELECT table_name, table_type FROM information_schema.tables "
                              "WHERE table_schema = 'main' ORDER BY table_name")
        }
        for r in wh.query("SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                          "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"):
            relations[r["table_name"]].columns.append(Column(r["column_name"], r["is_nullable"] == "YES"))
        for r in wh.query("SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                          "WHERE constraint_type = 'PRIMARY KEY'"):
            relations[r["table_name"]].primary_key = list(r["constraint_column_names"])
    types = declared_types(load_sql("schema"))
    for name, relation in relations.items():
        if not relation.is_view:
            relation.columns = [Column(c.name, c.nullable, types.get(name, {}).get(c.name)) for c in relation.columns]
    return relations


# -- the doc ------------------------------------------------------------------------------
@dataclass
class DocumentedRelation:
    name: str
    is_view: bool
    rows: list[list[str]] = field(default_factory=list)  # table cells, first is the column name
    key: list[str] = field(default_factory=list)
    written_by: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [row[0] for row in self.rows]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_relations(text: str) -> dict[str, DocumentedRelation]:
    relations: dict[str, DocumentedRelation] = {}
    current: DocumentedRelation | None = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            assert heading["name"] not in relations, f"{heading['name']} is documented twice"
            current = relations[heading["name"]] = DocumentedRelation(heading["name"], bool(heading["view"]))
            continue
        if _SECTION_END.match(line):
            current = None
        if current is None:
            continue
        if line.startswith("**Key:**"):
            current.key = re.findall(r"`(\w+)`", line)
        elif line.startswith("**Written by:**"):
            current.written_by = line
        elif line.startswith("| `"):
            cells = _cells(line)
            cells[0] = cells[0].strip("`")
            current.rows.append(cells)
    return relations


def written_by_paragraphs(text: str) -> dict[str, str]:
    """``{table: its whole "Written by" paragraph}`` (it may wrap over several lines)."""
    found: dict[str, str] = {}
    name = None
    for block in re.split(r"\n\s*\n", text):
        heading = next((_HEADING.match(line) for line in block.splitlines() if _HEADING.match(line)), None)
        if heading:
            name = heading["name"]
        if name and block.startswith("**Written by:**"):
            found[name] = " ".join(block.split())
    return found


def sql_examples(text: str) -> list[tuple[str, str]]:
    """``(heading, sql)`` for every ```sql block, in order."""
    examples: list[tuple[str, str]] = []
    heading = ""
    for match in re.finditer(r"^### (?P<h>[^\n]+)$|^```sql\n(?P<sql>.*?)^```", text, re.MULTILINE | re.DOTALL):
        if match["h"]:
            heading = match["h"].strip()
        else:
            examples.append((heading, match["sql"].strip()))
    assert examples, "no ```sql blocks found in docs/tables.md"
    return examples


def python_recipes(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)]


@pytest.fixture(scope="module")
def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc(doc_text: str) -> dict[str, DocumentedRelation]:
    return documented_relations(doc_text)


# -- coverage -----------------------------------------------------------------------------
def test_every_table_and_view_is_documented_and_nothing_else(schema, doc):
    missing = sorted(set(schema) - set(doc))
    unknown = sorted(set(doc) - set(schema))
    assert not missing, f"in schema.sql but not in docs/tables.md: {missing}"
    assert not unknown, f"in docs/tables.md but not in schema.sql: {unknown}"
    wrong_kind = [name for name in schema if schema[name].is_view != doc[name].is_view]
    assert not wrong_kind, f"documented as table/view the wrong way round (views take ' (view)'): {wrong_kind}"


def test_every_column_is_documented_once_in_schema_order(schema, doc):
    for name, relation in schema.items():
        documented = doc[name].column_names
        actual = [c.name for c in relation.columns]
        assert len(set(documented)) == len(documented), f"{name}: a column is documented twice"
        missing = [c for c in actual if c not in documented]
        unknown = [c for c in documented if c not in actual]
        assert not missing, f"{name}: columns not documented: {missing}"
        assert not unknown, f"{name}: documented columns that {name} does not have: {unknown}"
        assert documented == actual, f"{name}: document the columns in the schema's order: {actual}"


def test_documented_types_nullability_and_keys_match_the_schema(schema, doc):
    for name, relation in schema.items():
        documented = doc[name]
        assert documented.key, f"{name}: no **Key:** line"
        if relation.is_view:
            assert all(len(row) == 3 and row[2] for row in documented.rows), \
                f"{name}: view rows are | column | from | meaning |"
            continue
        assert documented.key == relation.primary_key, \
            f"{name}: the key is {relation.primary_key}, the doc says {documented.key}"
        for column, row in zip(relation.columns, documented.rows, strict=True):
            assert len(row) == 4, f"{name}.{column.name}: table rows are | column | type | nullable | meaning |"
            _, doc_type, doc_nullable, meaning = row
            assert column.declared_type, f"{name}.{column.name}: could not read its type from schema.sql"
            assert " ".join(doc_type.upper().split()) == column.declared_type, \
                f"{name}.{column.name}: type is {column.declared_type}, the doc says {doc_type}"
            assert doc_nullable in {"yes", "no"}, f"{name}.{column.name}: nullable must be 'yes' or 'no'"
            assert (doc_nullable == "yes") == column.nullable, \
                f"{name}.{column.name}: nullable is {column.nullable} in the schema, the doc says {doc_nullable}"
            assert len(meaning) >= 10, f"{name}.{column.name}: say what it means"
            if column.nullable:
                assert "NULL" in meaning, f"{name}.{column.name}: may be NULL; say what NULL means"


def test_every_table_says_which_asset_writes_it_and_how(schema, doc_text):
    """Every "Written by" names an asset (or sensor) that exists and one of the write modes."""
    import importlib
    import pkgutil

    import dagster as dg

    import assistant_pipelines.sensors
    from assistant_pipelines.definitions import build_definitions
    from assistant_pipelines.settings import load_settings

    definitions = build_definitions(load_settings({}), resources={})
    writers = {key.to_user_string() for asset in definitions.assets for key in asset.keys}
    # Sensors that write tables (the Batch API collector): every sensor the package defines.
    for module in pkgutil.iter_modules(assistant_pipelines.sensors.__path__):
        namespace = vars(importlib.import_module(f"assistant_pipelines.sensors.{module.name}"))
        writers |= {value.name for value in namespace.values() if isinstance(value, dg.SensorDefinition)}
    paragraphs = written_by_paragraphs(doc_text)
    for name, relation in schema.items():
        if relation.is_view:
            continue
        paragraph = paragraphs.get(name)
        assert paragraph, f"{name}: no **Written by:** paragraph"
        assert any(mode in paragraph for mode in WRITE_MODES), \
            f"{name}: say how it is written, one of {WRITE_MODES}"
        named = set(re.findall(r"`(\w+)`", paragraph))
        assert named & writers, f"{name}: name the asset that writes it (one of {sorted(writers)})"
        unknown = named - writers - set(schema)
        assert not unknown, f"{name}: {sorted(unknown)} are neither assets, sensors nor tables"


# -- the example queries ------------------------------------------------------------------
def test_there_are_eight_to_twelve_titled_example_queries(doc_text):
    examples = sql_examples(doc_text)
    assert 8 <= len(examples) <= 12, f"{len(examples)} SQL examples"
    assert all(heading and sql for heading, sql in examples)
    assert len({heading for heading, _ in examples}) == len(examples), "give each example its own heading"
    for heading, sql in examples:
        assert ":" not in re.sub(r"'[^']*'", "", sql).replace("::", ""), \
            f"{heading}: no ':name' parameters; examples must run as they are"


def _normal(value: Any) -> Any:
    """One spelling for what the two drivers return differently (decimals, zones, JSON)."""
    if isinstance(value, Decimal):
        return round(float(value), 6)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


def run_examples(url: str, examples: list[tuple[str, str]]) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each example's (column names, rows), through a plain driver connection as an analyst would
    have one: DuckDB opened read-only, Postgres through psycopg. Sessions in UTC."""
    target = WarehouseTarget.from_url(url)
    results = {}
    if target.dialect == "duckdb":
        import duckdb

        con = duckdb.connect(target.location, read_only=True)
        try:
            con.execute("SET TimeZone = 'UTC'")
            for heading, sql in examples:
                cursor = con.execute(sql)
                results[heading] = ([d[0] for d in cursor.description], cursor.fetchall())
        finally:
            con.close()
        return results
    import psycopg

    with psycopg.connect(target.location, autocommit=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        for heading, sql in examples:
            cursor = con.execute(sql)
            results[heading] = ([d.name for d in cursor.description or []], cursor.fetchall())
    return results


def test_example_queries_run_on_an_empty_warehouse(warehouse_url, doc_text):
    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
    results = run_examples(warehouse_url, sql_examples(doc_text))
    assert len(results) == len(sql_examples(doc_text)), "two examples share a heading"
    for heading, (columns, rows) in results.items():
        assert rows == [], f"{heading}: rows from an empty warehouse"
        unnamed = [name for name in columns if not re.fullmatch(r"[a-z_][a-z0-9_]*", name)]
        assert not unnamed, f"{heading}: name computed columns (AS …), engines name them differently: {unnamed}"


# -- a small fictional warehouse ----------------------------------------------------------
_DEFAULTS = {"TEXT": "x", "INTEGER": 0, "BIGINT": 0, "DOUBLE PRECISION": 0.0, "JSON": "[]", "BOOLEAN": False}


def sample_rows(schema_types: dict[str, dict[str, str]], not_null: dict[str, set[str]]) -> dict[str, list[dict]]:
    """A week-old team of two: one stalled item, one overdue, one ticket done this week, a
    quarantined candidate, three model calls, two broken inbox files, two digests (one failed).
    Dates are relative to today so the time-based examples find them whenever the test runs."""
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    then = now - timedelta(days=20)
    then_monday = then.date() - timedelta(days=then.date().weekday())

    def row(table: str, **values: Any) -> dict[str, Any]:
        filled = {}
        for column, kind in schema_types[table].items():
            if column in values:
                filled[column] = values[column]
            elif column in not_null[table]:
                filled[column] = {"DATE": today, "TIMESTAMPTZ": now}.get(kind, _DEFAULTS.get(kind, f"{column}-x"))
            else:
                filled[column] = None
        unknown = set(values) - set(filled)
        assert not unknown, f"{table} has no {unknown}"
        return filled

    nora, tomas = "nora.quill", "tomas.berg"
    candidate = {"origin": "llm", "chunk_index": 0, "item_index": 0, "status": "open", "priority": "normal",
                 "confidence": 0.8, "evidence_lines": "[2]", "model": "fake-model",
                 "prompt_version": "extract_action_items@000000000000", "input_hash": "h1"}
    return {
        "people": [
            row("people", person_id=nora, display_name="Nora Quill", emails='["nora@example.test"]',
                aliases="[]", origin="directory"),
            row("people", person_id=tomas, display_name="Tomas Berg", emails='["tomas@example.test"]',
                aliases="[]", origin="directory"),
        ],
        "documents": [
            row("documents", document_id="meeting:m1", kind="meeting", source_file="transcripts/plan.vtt",
                title="Planning", occurred_at=then, week_start=then_monday, participants=f'["{nora}"]',
                text="Nora Quill: I'll draft the rollout plan."),
            row("documents", document_id="email:e1", kind="email", source_file="mail/team.mbox",
                title="Budget", occurred_at=now - timedelta(days=2), week_start=monday,
                author_person_id=tomas, author="Tomas Berg", participants=f'["{tomas}"]',
                text="I will send the budget by Friday."),
            row("documents", document_id="ticket:jira:ABC-1", kind="ticket", source_file="tickets/jira.csv",
                title="ABC-1: Renew the certificate", occurred_at=then, week_start=then_monday,
                participants=f'["{nora}"]', text="Renew the certificate"),
        ],
        "action_item_candidates": [
            row("action_item_candidates", **candidate, candidate_id="c1", document_id="meeting:m1",
                week_start=then_monday, task="Draft the rollout plan", owner_text="Nora Quill",
                owner_person_id=nora, occurred_at=then),
            row("action_item_candidates", **candidate, candidate_id="c4", document_id="email:e1",
                week_start=monday, task="Send the budget", owner_text="Tomas Berg", owner_person_id=tomas,
                due_text="Friday", due_date=today - timedelta(days=3), occurred_at=now - timedelta(days=2)),
            row("action_item_candidates", **{**candidate, "item_index": 1}, candidate_id="c3",
                document_id="email:e1", week_start=monday, task="Enjoy the weekend",
                occurred_at=now - timedelta(days=2),
                quarantine_reason="task is not grounded: none of its words appear in lines [2]"),
            row("action_item_candidates", **{**candidate, "origin": "ticket", "confidence": 1.0, "priority": None},
                candidate_id="c5", document_id="ticket:jira:ABC-1", week_start=then_monday,
                task="Renew the certificate", owner_text="Nora Quill", owner_person_id=nora, occurred_at=then),
            row("action_item_candidates", **{**candidate, "origin": "ticket", "confidence": 1.0, "priority": None,
                                              "item_index": 1, "status": "done"},
                candidate_id="c2", document_id="ticket:jira:ABC-1", week_start=monday,
                task="Renew the certificate", owner_text="Nora Quill", owner_person_id=nora,
                occurred_at=now - timedelta(days=1)),
        ],
        "action_items": [
            row("action_items", action_item_id="ai_1", task="Draft the rollout plan", owner_person_id=nora,
                owner_name="Nora Quill", status="open", source_document_id="meeting:m1",
                last_document_id="meeting:m1", mentions=1, first_seen_at=then, last_seen_at=then,
                first_seen_week=then_monday, model="fake-model", prompt_version="p", input_hash="h1"),
            row("action_items", action_item_id="ai_2", task="Send the budget", owner_person_id=tomas,
                owner_name="Tomas Berg", status="open", due_date=today - timedelta(days=3),
                source_document_id="email:e1", last_document_id="email:e1", mentions=1,
                first_seen_at=now - timedelta(days=2), last_seen_at=now - timedelta(days=2),
                first_seen_week=monday, model="fake-model", prompt_version="p", input_hash="h2"),
            row("action_items", action_item_id="ai_3", task="Renew the certificate", owner_person_id=nora,
                owner_name="Nora Quill", status="done", ticket_key="ABC-1",
                source_document_id="ticket:jira:ABC-1", last_document_id="ticket:jira:ABC-1", mentions=2,
                first_seen_at=then, last_seen_at=now - timedelta(days=1), first_seen_week=then_monday,
                model="ticket", prompt_version="ticket:jira", input_hash="h3"),
            row("action_items", action_item_id="ai_4", task="Tidy the wiki", status="open",
                source_document_id="meeting:m1", last_document_id="meeting:m1", mentions=1,
                first_seen_at=then, last_seen_at=then, first_seen_week=then_monday, model="fake-model",
                prompt_version="p", input_hash="h1"),
        ],
        "action_item_events": [
            row("action_item_events", event_id="e1", action_item_id="ai_1", occurred_at=then, event="created",
                status="open", document_id="meeting:m1", candidate_id="c1"),
            row("action_item_events", event_id="e2", action_item_id="ai_2", occurred_at=now - timedelta(days=2),
                event="created", status="open", due_date=today - timedelta(days=3), document_id="email:e1",
                candidate_id="c4"),
            row("action_item_events", event_id="e3", action_item_id="ai_3", occurred_at=then, event="created",
                status="open", document_id="ticket:jira:ABC-1", candidate_id="c5"),
            row("action_item_events", event_id="e4", action_item_id="ai_3", occurred_at=now - timedelta(days=1),
                event="status_changed", status="done", document_id="ticket:jira:ABC-1", candidate_id="c2"),
        ],
        "llm_calls": [
            row("llm_calls", call_id=f"call{i}", document_id="email:e1", chunk_index=0, backend="openai",
                model="gpt-4o-mini", prompt_version="p", input_hash="h2", attempt=attempt, outcome=outcome,
                tokens_in=tokens, tokens_out=tokens and 50, latency_ms=latency, cost_usd=cost,
                started_at=now - timedelta(days=2, minutes=i))
            for i, (attempt, outcome, tokens, latency, cost) in enumerate([
                (1, "invalid_output", 900, 4100.0, 0.000165), (2, "ok", 1000, 3900.0, 0.00018),
                (0, "cache_hit", 0, 0.0, 0.0), (1, "error", None, None, None)])
        ],
        "ingested_files": [
            row("ingested_files", source_file="transcripts/broken.vtt", kind="transcript", records=0, errors=1),
            row("ingested_files", source_file="mail/Maildir", kind="mail", records=3, errors=1),
            row("ingested_files", source_file="tickets/fine.json", kind="ticket", records=4, errors=0),
        ],
        "ingest_errors": [
            row("ingest_errors", error_id="x1", source_file="transcripts/broken.vtt", kind="transcript",
                position="line 16", reason="bad cue timing"),
            row("ingest_errors", error_id="x2", source_file="mail/Maildir/cur/17.eml", kind="mail",
                position="file", reason="empty file"),
        ],
        "outbound_messages": [
            row("outbound_messages", idempotency_key=f"digest:{monday}:{nora}", kind="digest", week_start=monday,
                recipient_person_id=nora, recipient_email="nora@example.test", subject="Your items",
                body_text="…", status="written", transport="outbox", attempts=1, sent_at=now),
            row("outbound_messages", idempotency_key=f"digest:{monday}:{tomas}", kind="digest", week_start=monday,
                recipient_person_id=tomas, recipient_email="tomas@example.test", subject="Your items",
                body_text="…", status="failed", transport="smtp", attempts=2,
                last_error="SMTP server refused the connection"),
        ],
    }


def sample_for(schema: dict[str, Relation]) -> dict[str, list[dict]]:
    not_null = {name: {c.name for c in r.columns if not c.nullable} for name, r in schema.items()}
    return sample_rows(declared_types(load_sql("schema")), not_null)


def fill_sample_warehouse(url: str, sample: dict[str, list[dict]]) -> None:
    with open_warehouse(url) as wh:
        wh.ensure_schema()
        with wh.transaction():  # one commit: a DuckDB file syncs on each
            for table, rows in sample.items():
                wh.insert_rows(table, list(rows[0]), rows)


def test_example_queries_find_the_sample_rows(warehouse_url, schema, doc_text):
    fill_sample_warehouse(warehouse_url, sample_for(schema))
    results = run_examples(warehouse_url, sql_examples(doc_text))
    empty = [heading for heading, (_, rows) in results.items() if not rows]
    assert not empty, f"examples that find nothing in the sample warehouse: {empty}"
    # A few answers the sample was built to give.
    (_, overdue), = [results[h] for h in results if h.lower().startswith("overdue")]
    assert [r[1] for r in overdue] == ["Send the budget"]
    (_, stalled), = [results[h] for h in results if h.lower().startswith("stalled")]
    assert sorted(r[1] for r in stalled) == ["Draft the rollout plan", "Tidy the wiki"]
    (columns, changed), = [results[h] for h in results if h.lower().startswith("what changed")]
    assert sorted(r[columns.index("event")] for r in changed) == ["created", "status_changed"]
    (columns, errors), = [results[h] for h in results if h.lower().startswith("ingest errors")]
    assert sorted(r[columns.index("source_file")] for r in errors) == ["mail/Maildir", "transcripts/broken.vtt"]


@pytest.mark.postgres
def test_duckdb_and_postgres_give_the_same_answers(tmp_path, postgres_dsn, schema, doc_text):
    duckdb_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    examples = sql_examples(doc_text)
    answers = {}
    sample = sample_for(schema)  # one sample for both: its times are relative to now
    for url in (duckdb_url, postgres_dsn):
        fill_sample_warehouse(url, sample)
        answers[url] = run_examples(url, examples)
    for heading, _ in examples:
        duck_columns, duck_rows = answers[duckdb_url][heading]
        pg_columns, pg_rows = answers[postgres_dsn][heading]
        assert duck_columns == pg_columns, heading
        # Compared as multisets: text sort order follows each engine's collation.
        duck = sorted((tuple(_normal(v) for v in row) for row in duck_rows), key=repr)
        pg = sorted((tuple(_normal(v) for v in row) for row in pg_rows), key=repr)
        assert duck == pg, heading


# -- the Python recipes -------------------------------------------------------------------
def test_duckdb_recipes_in_the_doc_work(tmp_path, monkeypatch, capsys, schema, doc_text):
    recipes = python_recipes(doc_text)
    assert recipes, "the doc shows how to connect from Python"
    monkeypatch.chdir(tmp_path)
    url = f"duckdb:///{tmp_path / 'var' / 'warehouse.duckdb'}"
    fill_sample_warehouse(url, sample_for(schema))
    for recipe in recipes:
        exec(compile(recipe, "docs/tables.md", "exec"), {})  # noqa: S102 - our own doc, our own test
    printed = capsys.readouterr().out
    assert "open_items" in printed
    snapshots = list(tmp_path.glob("*.duckdb"))
    assert len(snapshots) == 1, "the snapshot recipe writes one copy in the working folder"
    import duckdb

    copy = duckdb.connect(str(snapshots[0]), read_only=True)
    try:  # every table and view copied
        assert copy.execute("SELECT COUNT(*) FROM action_items").fetchone()[0] == 4
        assert copy.execute("SELECT COUNT(*) FROM open_action_items").fetchone()[0] == 3
    finally:
        copy.close()
