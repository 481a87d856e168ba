"""The warehouse layer on both engines (each test using ``warehouse_url`` runs on a DuckDB file
and on a real Postgres): schema, ``:name`` binding, bulk writes, value round trips,
transactions, and two processes sharing one DuckDB file."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from assistant_pipelines.warehouse import (
    Warehouse,
    WarehouseError,
    WarehouseTarget,
    load_sql,
    open_warehouse,
    split_statements,
)

BERLIN = ZoneInfo("Europe/Berlin")
VALUES_TABLE = """CREATE TABLE IF NOT EXISTS sample_values (
    id TEXT PRIMARY KEY, n INTEGER, big BIGINT, x DOUBLE PRECISION, day DATE, at_time TIMESTAMPTZ,
    doc JSON, note TEXT)"""
VALUE_COLUMNS = ["id", "n", "big", "x", "day", "at_time", "doc", "note"]


def tables_and_views(wh: Warehouse) -> set[str]:
    rows = wh.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('main', 'public')"
    )
    return {r["table_name"] for r in rows}


# -- schema -------------------------------------------------------------------------------
def test_schema_is_created_and_creating_it_again_changes_nothing(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        created = tables_and_views(wh)
        wh.insert_rows("people", ["person_id", "display_name", "emails", "aliases", "origin"],
                       [{"person_id": "ann", "display_name": "Ann", "emails": "[]", "aliases": "[]",
                         "origin": "directory"}])
        wh.ensure_schema()
        assert tables_and_views(wh) == created
        assert wh.scalar("SELECT COUNT(*) FROM people") == 1  # nothing dropped or recreated
    # The contract's tables and analyst views (DESIGN.md §4).
    assert {"documents", "people", "person_aliases", "action_items", "action_item_events", "llm_calls",
            "reports", "outbound_messages", "ingest_errors", "open_action_items",
            "overdue_action_items", "owner_load"} <= created
    with open_warehouse(warehouse_url) as wh:  # a second connection, later
        wh.ensure_schema()
        assert wh.scalar("SELECT COUNT(*) FROM people") == 1


def test_split_statements_splits_only_on_lines_holding_a_semicolon() -> None:
    script = "-- header\nCREATE TABLE a (x TEXT DEFAULT ';')\n;\n  ;  \n-- only a comment\n;\nSELECT 1"
    assert split_statements(script) == ["-- header\nCREATE TABLE a (x TEXT DEFAULT ';')", "SELECT 1"]


def test_load_sql_prefers_the_dialect_file(tmp_path: Path) -> None:
    assert "CREATE TABLE IF NOT EXISTS documents" in load_sql("schema")
    assert load_sql("people_all", "postgres") == load_sql("people_all")  # no override: the shared file


@pytest.mark.parametrize(
    ("url", "dialect", "location"),
    [
        ("duckdb:///var/wh.duckdb", "duckdb", "/var/wh.duckdb"),
        ("duckdb:///relative/wh.duckdb", "duckdb", "/relative/wh.duckdb"),
        ("duckdb://:memory:", "duckdb", ":memory:"),
        ("duckdb:///:memory:", "duckdb", ":memory:"),
        ("postgresql://u:p@h:5432/db", "postgres", "postgresql://u:p@h:5432/db"),
        ("postgresql+psycopg2://u:p@h/db", "postgres", "postgresql://u:p@h/db"),
        ("postgres://h/db", "postgres", "postgresql://h/db"),
    ],
)
def test_target_from_url(url: str, dialect: str, location: str) -> None:
    assert WarehouseTarget.from_url(url) == WarehouseTarget(dialect, location)


def test_unsupported_url_is_a_warehouse_error() -> None:
    with pytest.raises(WarehouseError, match="unsupported warehouse URL scheme 'mysql'"):
        WarehouseTarget.from_url("mysql://h/db")


# -- binding ------------------------------------------------------------------------------
def test_named_parameters_casts_and_percent_signs(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        row = wh.query(
            "SELECT CAST(:n AS INTEGER) + 1 AS next_n, :n::text || '%' AS pct, '50%' AS literal, "
            "'a:b' AS colon_text, :n::int * 2 AS doubled",
            {"n": 20},
        )[0]
        assert row == {"next_n": 21, "pct": "20%", "literal": "50%", "colon_text": "a:b", "doubled": 40}
        # The same parameter twice, a LIKE pattern with '%' as a value and in the text.
        wh.execute("CREATE TABLE words (w TEXT)")
        wh.execute("INSERT INTO words VALUES (:a), (:b), ('50% off')", {"a": "alpha", "b": "alphabet"})
        assert wh.scalar("SELECT COUNT(*) FROM words WHERE w LIKE :p AND w <> :a", {"p": "alpha%", "a": "alpha"}) == 1
        assert wh.scalar("SELECT COUNT(*) FROM words WHERE w LIKE '%\\%%' ESCAPE '\\'") == 1
        assert wh.scalar("SELECT COUNT(*) FROM words WHERE w LIKE '%off'", {}) == 1
        # Parameters a statement does not use are ignored on both engines.
        assert wh.scalar("SELECT COUNT(*) FROM words WHERE w = :a", {"a": "alpha", "unused": 1}) == 1
        # Values are bound, never spliced into the text.
        hostile = "x'); DROP TABLE words; --"
        wh.execute("INSERT INTO words VALUES (:w)", {"w": hostile})
        assert wh.scalar("SELECT w FROM words WHERE w = :w", {"w": hostile}) == hostile


def test_query_df_on_an_empty_result_keeps_the_column_names(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        empty = wh.query_df("SELECT person_id, display_name, emails FROM people WHERE person_id = :p", {"p": "nobody"})
        assert empty.columns == ["person_id", "display_name", "emails"]
        assert empty.height == 0
        full = wh.query_df("SELECT 1 AS one, 'x' AS ex, CAST(NULL AS TEXT) AS nothing")
        assert full.to_dicts() == [{"one": 1, "ex": "x", "nothing": None}]
        assert wh.query("SELECT person_id FROM people") == []
        assert wh.scalar("SELECT person_id FROM people") is None


# -- bulk writes --------------------------------------------------------------------------
def _person(pid: str, name: str) -> dict:
    return {"person_id": pid, "display_name": name, "emails": "[]", "aliases": "[]", "github_login": None,
            "jira_name": None, "origin": "directory"}


PERSON_COLUMNS = ["person_id", "display_name", "emails", "aliases", "github_login", "jira_name", "origin"]


def test_replace_rows_upserts_on_the_key_and_the_last_duplicate_wins(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        assert wh.replace_rows("people", ["person_id"], PERSON_COLUMNS, [_person("a", "Ann"), _person("b", "Bo")]) == 2
        written = wh.replace_rows("people", ["person_id"], PERSON_COLUMNS,
                                  [_person("b", "Bo 1"), _person("c", "Cy"), _person("b", "Bo 2")])
        assert written == 2  # one row per key
        rows = wh.query("SELECT person_id, display_name FROM people ORDER BY person_id")
        assert rows == [{"person_id": "a", "display_name": "Ann"}, {"person_id": "b", "display_name": "Bo 2"},
                        {"person_id": "c", "display_name": "Cy"}]
        assert wh.replace_rows("people", ["person_id"], PERSON_COLUMNS, []) == 0
        assert wh.scalar("SELECT COUNT(*) FROM people") == 3


def test_replace_rows_with_a_composite_key(warehouse_url: str) -> None:
    columns = ["document_id", "line_no", "speaker", "text", "start_s", "end_s"]

    def line(doc: str, n: int, text: str) -> dict:
        return {"document_id": doc, "line_no": n, "speaker": "Ann", "text": text, "start_s": None, "end_s": None}

    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        wh.replace_rows("raw_utterances", ["document_id", "line_no"], columns,
                        [line("m1", 1, "a"), line("m1", 2, "b"), line("m2", 1, "c")])
        wh.replace_rows("raw_utterances", ["document_id", "line_no"], columns, [line("m1", 2, "B"), line("m2", 2, "d")])
        rows = wh.query("SELECT document_id, line_no, text FROM raw_utterances ORDER BY document_id, line_no")
        assert [(r["document_id"], r["line_no"], r["text"]) for r in rows] == [
            ("m1", 1, "a"), ("m1", 2, "B"), ("m2", 1, "c"), ("m2", 2, "d")]


def test_replace_where_replaces_one_window_only(warehouse_url: str) -> None:
    week1, week2 = date(2026, 10, 5), date(2026, 10, 12)
    with open_warehouse(warehouse_url) as wh:
        wh.execute("CREATE TABLE weekly (week DATE NOT NULL, k TEXT NOT NULL, v DOUBLE PRECISION)")
        cols = ["week", "k", "v"]
        wh.replace_where("weekly", "week = :week", {"week": week1}, cols,
                         [{"week": week1, "k": "a", "v": 1.0}, {"week": week1, "k": "b", "v": 2.0}])
        wh.replace_where("weekly", "week = :week", {"week": week2}, cols, [{"week": week2, "k": "a", "v": 3.0}])
        # Re-running week 1 with other rows replaces week 1 and leaves week 2 alone.
        wh.replace_where("weekly", "week = :week", {"week": week1}, cols, [{"week": week1, "k": "c", "v": 4.5}])
        rows = wh.query("SELECT week, k, v FROM weekly ORDER BY week, k")
        assert rows == [{"week": week1, "k": "c", "v": 4.5}, {"week": week2, "k": "a", "v": 3.0}]
        # An empty result for a window empties it.
        assert wh.replace_where("weekly", "week = :week", {"week": week2}, cols, []) == 0
        assert wh.query("SELECT k FROM weekly") == [{"k": "c"}]


def test_values_round_trip_identically_on_both_engines(warehouse_url: str) -> None:
    aware_berlin = datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=1)))
    summer = datetime(2026, 7, 1, 9, 15, 30, 123456, tzinfo=BERLIN)
    rows = [
        {"id": "naive-first", "n": 1, "big": 2**40, "x": 0.1, "day": date(2026, 2, 28),
         "at_time": datetime(2026, 1, 1, 12, 0), "doc": json.dumps({"a": [1, 2], "ü": "ß"}, ensure_ascii=False),
         "note": "line1\nline2\ttab 'quote' \"dq\" \\ back"},
        {"id": "aware", "n": -5, "big": None, "x": 1e-300, "day": date(1999, 12, 31), "at_time": summer,
         "doc": "[]", "note": ""},
        {"id": "offset", "n": None, "big": 0, "x": -2.5, "day": None, "at_time": aware_berlin, "doc": "null",
         "note": None},
        {"id": "nulls", "n": None, "big": None, "x": None, "day": None, "at_time": None, "doc": None, "note": None},
    ]
    with open_warehouse(warehouse_url) as wh:
        wh.execute(VALUES_TABLE)
        assert wh.insert_rows("sample_values", VALUE_COLUMNS, rows) == 4
        back = {r["id"]: r for r in wh.query("SELECT * FROM sample_values")}
    assert set(back) == {r["id"] for r in rows}
    for row in rows:
        got = back[row["id"]]
        for column in ("n", "big", "x", "day", "doc", "note"):
            assert got[column] == row[column], (row["id"], column, got[column])
        if row["at_time"] is None:
            assert got["at_time"] is None
        else:
            assert got["at_time"].utcoffset() == timedelta(0)  # aware, in UTC, on both engines
            sent = row["at_time"]
            assert got["at_time"] == (sent if sent.tzinfo else sent.replace(tzinfo=UTC))  # naive means UTC
    assert back["aware"]["at_time"] == datetime(2026, 7, 1, 7, 15, 30, 123456, tzinfo=UTC)
    assert json.loads(back["naive-first"]["doc"]) == {"a": [1, 2], "ü": "ß"}


def test_a_column_mixing_naive_and_aware_datetimes_keeps_every_instant(warehouse_url: str) -> None:
    """Arrow takes one zone per column; an aware value after a naive one must not lose its zone."""
    rows = [{"id": "1", "at_time": datetime(2026, 1, 1, 10, 0)},
            {"id": "2", "at_time": datetime(2026, 1, 1, 10, 0, tzinfo=BERLIN)},
            {"id": "3", "at_time": datetime(2026, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=-5)))}]
    with open_warehouse(warehouse_url) as wh:
        wh.execute(VALUES_TABLE)
        wh.insert_rows("sample_values", ["id", "at_time"], rows)
        got = {r["id"]: r["at_time"] for r in wh.query("SELECT id, at_time FROM sample_values")}
    assert got == {"1": datetime(2026, 1, 1, 10, tzinfo=UTC), "2": datetime(2026, 1, 1, 9, tzinfo=UTC),
                   "3": datetime(2026, 1, 1, 15, tzinfo=UTC)}


def test_query_df_returns_the_same_frame_on_both_engines(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        wh.execute(VALUES_TABLE)
        wh.insert_rows("sample_values", ["id", "n", "x", "day", "at_time"],
                       [{"id": "a", "n": 1, "x": 0.5, "day": date(2026, 1, 2),
                         "at_time": datetime(2026, 1, 2, 3, tzinfo=UTC)}])
        frame = wh.query_df("SELECT id, n, x, day, at_time FROM sample_values WHERE id = :id", {"id": "a"})
    assert frame.columns == ["id", "n", "x", "day", "at_time"]
    assert frame.row(0) == ("a", 1, 0.5, date(2026, 1, 2), datetime(2026, 1, 2, 3, tzinfo=UTC))
    assert frame.schema["at_time"] == pl.Datetime("us", "UTC")


# -- transactions -------------------------------------------------------------------------
def test_a_failing_transaction_leaves_nothing_behind(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        wh.insert_rows("people", PERSON_COLUMNS, [_person("keep", "Keep Me")])
        with pytest.raises(RuntimeError, match="boom"), wh.transaction():
            wh.execute("DELETE FROM people")
            wh.insert_rows("people", PERSON_COLUMNS, [_person("new", "New")])
            with wh.transaction():  # nested: joins the outer one
                wh.insert_rows("people", PERSON_COLUMNS, [_person("inner", "Inner")])
            raise RuntimeError("boom")
        assert wh.query("SELECT person_id FROM people") == [{"person_id": "keep"}]
        # After a rollback the connection works on, and commits.
        with wh.transaction():
            wh.insert_rows("people", PERSON_COLUMNS, [_person("later", "Later")])
        assert wh.scalar("SELECT COUNT(*) FROM people") == 2


def test_a_failing_upsert_rolls_back_its_delete(warehouse_url: str) -> None:
    with open_warehouse(warehouse_url) as wh:
        wh.ensure_schema()
        wh.insert_rows("people", PERSON_COLUMNS, [_person("a", "Ann")])
        broken = {**_person("a", "Ann 2"), "origin": None}  # NOT NULL violated by the insert
        with pytest.raises(Exception):  # noqa: B017 - the driver's own constraint error
            wh.replace_rows("people", ["person_id"], PERSON_COLUMNS, [broken])
        assert wh.query("SELECT display_name FROM people") == [{"display_name": "Ann"}]


# -- two processes, one DuckDB file -------------------------------------------------------
def _hold_the_file(path: str, opened, release, hold_s: float) -> None:
    """Runs in another process: open the file for writing, write a row, hold it."""
    with open_warehouse(f"duckdb:///{path}") as wh:
        wh.execute("CREATE TABLE IF NOT EXISTS writers (who TEXT)")
        wh.execute("INSERT INTO writers VALUES ('first')")
        opened.set()
        release.wait(hold_s)


def _start_holder(path: Path, hold_s: float):
    ctx = multiprocessing.get_context("spawn")
    opened, release = ctx.Event(), ctx.Event()
    process = ctx.Process(target=_hold_the_file, args=(str(path), opened, release, hold_s))
    process.start()
    assert opened.wait(60), "the first process never opened the file"
    return process, release


def test_a_second_writer_waits_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    process, release = _start_holder(path, hold_s=1.0)  # lets go by itself after a second
    try:
        with open_warehouse(f"duckdb:///{path}", lock_timeout_s=60) as wh:
            wh.execute("INSERT INTO writers VALUES ('second')")
            # It only got in after the first process wrote and let go.
            assert [r["who"] for r in wh.query("SELECT who FROM writers")] == ["first", "second"]
    finally:
        release.set()
        process.join(30)
    assert process.exitcode == 0


def test_a_writer_that_waits_too_long_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    process, release = _start_holder(path, hold_s=60)
    try:
        with pytest.raises(WarehouseError) as raised, open_warehouse(f"duckdb:///{path}", lock_timeout_s=0.3):
            pass
    finally:
        release.set()
        process.join(30)
    message = str(raised.value)
    print(message)  # what a person sees (pytest -s shows it)
    assert str(path) in message
    assert "held by another process" in message and "still locked after 0.3 s" in message
    assert "Conflicting lock" in message  # DuckDB's own words, for the details (which process)


def test_an_unreadable_duckdb_file_is_a_warehouse_error(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.duckdb"
    path.write_text("this is not a DuckDB file", encoding="utf-8")
    with pytest.raises(WarehouseError, match="cannot open the DuckDB file"), open_warehouse(
            f"duckdb:///{path}", lock_timeout_s=0.1):
        pass


@pytest.mark.postgres
def test_an_unreachable_postgres_is_a_warehouse_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://app:s3cret-pw@127.0.0.1:1/db?host={tmp_path}"
    with pytest.raises(WarehouseError) as raised, open_warehouse(url):
        pass
    assert "cannot connect to Postgres" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)
