"""The warehouse: one small interface over a DuckDB file or a Postgres database.

Owns connections, the schema, named-parameter SQL (``:name`` in the ``sql/`` files, bound by
the driver, never formatted in) and the two bulk write paths every asset uses:
``replace_rows`` (upsert on a natural key: delete the keys, insert the rows) and
``replace_where`` (delete a window, insert its rows). Nothing here imports Dagster.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

SQL_PACKAGE = "assistant_pipelines.sql"
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or used: the message says which and why."""


def load_sql(name: str, dialect: str | None = None) -> str:
    """The text of ``sql/<name>.sql``, or of ``sql/<dialect>/<name>.sql`` where one exists."""
    root = resources.files(SQL_PACKAGE)
    if dialect is not None:
        specific = root / dialect / f"{name}.sql"
        if specific.is_file():
            return specific.read_text(encoding="utf-8")
    return (root / f"{name}.sql").read_text(encoding="utf-8")


def split_statements(script: str) -> list[str]:
    """Split a schema script on lines holding only ';' (so ';' inside SQL bodies is safe)."""
    parts = re.split(r"^\s*;\s*$", script, flags=re.MULTILINE)
    return [part.strip() for part in parts if _strip_comments(part).strip()]


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _identifier(name: str) -> str:
    # Table and column names come from our own code, never from input; this guards mistakes.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse lives, parsed from ``ASSISTANT_WAREHOUSE_URL``."""

    dialect: str  # "duckdb" | "postgres"
    location: str  # file path (or ":memory:") for DuckDB, a libpq URL for Postgres

    @classmethod
    def from_url(cls, url: str) -> WarehouseTarget:
        scheme = urlsplit(url).scheme
        if scheme == "duckdb":
            location = url[len("duckdb://") :]
            location = location[1:] if location.startswith("/:memory:") else location
            return cls("duckdb", location or ":memory:")
        if scheme.startswith("postgres"):
            # psycopg wants a plain libpq URL; drop SQLAlchemy-style driver suffixes.
            return cls("postgres", "postgresql://" + url.split("://", 1)[1])
        raise WarehouseError(f"unsupported warehouse URL scheme {scheme!r}")


class Warehouse:
    """An open connection. Use :func:`open_warehouse`; methods run in autocommit unless inside
    :meth:`transaction`."""

    dialect: str

    def __init__(self, dialect: str, connection: Any) -> None:
        self.dialect = dialect
        self._con = connection
        self._in_transaction = False

    # -- statements -----------------------------------------------------------------------
    def _bind(self, sql: str) -> str:
        if self.dialect == "duckdb":
            return _PARAM.sub(r"$\1", sql)
        return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))

    @staticmethod
    def _duckdb_params(sql: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        # DuckDB rejects parameters the statement does not use; Postgres ignores them. Pass
        # only the used ones so one call works on both engines.
        used = set(_PARAM.findall(sql))
        return {k: v for k, v in (params or {}).items() if k in used}

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        if self.dialect == "duckdb":
            self._con.execute(self._bind(sql), self._duckdb_params(sql, params))
        else:
            with self._con.cursor() as cur:
                cur.execute(self._bind(sql) if params else sql, dict(params or {}) or None)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts, for small results and for code that walks them one by one."""
        if self.dialect == "duckdb":
            cur = self._con.execute(self._bind(sql), self._duckdb_params(sql, params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        with self._con.cursor() as cur:
            cur.execute(self._bind(sql) if params else sql, dict(params or {}) or None)
            if cur.description is None:
                return []
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """A result as a polars DataFrame (DuckDB hands it over through Arrow)."""
        if self.dialect == "duckdb":
            return self._con.sql(self._bind(sql), params=self._duckdb_params(sql, params)).pl()
        with self._con.cursor() as cur:
            cur.execute(self._bind(sql) if params else sql, dict(params or {}) or None)
            names = [d.name for d in cur.description or []]
            rows = cur.fetchall()
        return pl.DataFrame(
            {name: [row[i] for row in rows] for i, name in enumerate(names)}, strict=False
        )

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def run_file(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql/<name>.sql`` (dialect override first) and return its rows, if any."""
        return self.query(load_sql(name, self.dialect), params)

    def query_file_df(self, name: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        return self.query_df(load_sql(name, self.dialect), params)

    def ensure_schema(self) -> None:
        """Create every table and view that does not exist yet (safe to run every time)."""
        with self.transaction():
            for statement in split_statements(load_sql("schema", self.dialect)):
                self.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All or nothing. Nested use joins the outer transaction."""
        if self._in_transaction:
            yield self
            return
        self._in_transaction = True
        try:
            if self.dialect == "duckdb":
                self._con.execute("BEGIN TRANSACTION")
                try:
                    yield self
                except BaseException:
                    self._con.execute("ROLLBACK")
                    raise
                self._con.execute("COMMIT")
            else:
                with self._con.transaction():
                    yield self
        finally:
            self._in_transaction = False

    # -- bulk writes ----------------------------------------------------------------------
    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> int:
        """Append rows fast: Arrow for DuckDB, COPY for Postgres. Returns the row count."""
        if not rows:
            return 0
        table = _identifier(table)
        cols = [_identifier(c) for c in columns]
        if self.dialect == "duckdb":
            staged = self._arrow(cols, rows)
            self._con.register("_staged_rows", staged)
            try:
                col_list = ", ".join(cols)
                self._con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _staged_rows")
            finally:
                self._con.unregister("_staged_rows")
        else:
            with self._con.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in cols])
        return len(rows)

    def replace_rows(
        self,
        table: str,
        key_columns: Sequence[str],
        columns: Sequence[str],
        rows: Sequence[Mapping[str, Any]],
    ) -> int:
        """Upsert on a natural key: delete rows whose key is among ``rows``, insert ``rows``.

        Last row wins when ``rows`` repeats a key, so callers may pass raw observations."""
        if not rows:
            return 0
        keys = [_identifier(k) for k in key_columns]
        unique: dict[tuple[Any, ...], Mapping[str, Any]] = {}
        for row in rows:
            unique[tuple(row[k] for k in keys)] = row
        deduped = list(unique.values())
        with self.transaction():
            self._delete_keys(table, keys, deduped)
            return self.insert_rows(table, columns, deduped)

    def replace_where(
        self,
        table: str,
        where_sql: str,
        params: Mapping[str, Any],
        columns: Sequence[str],
        rows: Sequence[Mapping[str, Any]],
    ) -> int:
        """Delete a window (``where_sql`` with ``:params``), insert its rows, atomically."""
        with self.transaction():
            self.execute(f"DELETE FROM {_identifier(table)} WHERE {where_sql}", params)
            return self.insert_rows(table, columns, rows)

    def _delete_keys(self, table: str, keys: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
        table = _identifier(table)
        match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        if self.dialect == "duckdb":
            self._con.register("_staged_keys", self._arrow(keys, rows))
            try:
                self._con.execute(
                    f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM _staged_keys s WHERE {match})"
                )
            finally:
                self._con.unregister("_staged_keys")
            return
        with self._con.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS _staged_keys_{table} AS "
                f"SELECT {', '.join(keys)} FROM {table} WHERE false"
            )
            cur.execute(f"TRUNCATE _staged_keys_{table}")
            with cur.copy(f"COPY _staged_keys_{table} ({', '.join(keys)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[k] for k in keys])
            cur.execute(
                f"DELETE FROM {table} t USING _staged_keys_{table} s WHERE {match}"
            )

    @staticmethod
    def _arrow(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> Any:
        import pyarrow as pa

        return pa.table({c: [_utc(row.get(c)) for row in rows] for c in columns})

    def close(self) -> None:
        self._con.close()


def _utc(value: Any) -> Any:
    """Datetimes as aware UTC. Arrow types a column by its first value (after a naive one,
    aware values become naive UTC wall times, right only while the session zone is UTC), so
    state the rule once instead: naive means UTC, as it does for Postgres in a UTC session."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _connect_duckdb(location: str, *, read_only: bool, lock_timeout_s: float) -> Any:
    import duckdb

    if location != ":memory:":
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(location, read_only=read_only)
            con.execute("SET TimeZone = 'UTC'")
            return con
        except duckdb.Error as exc:
            # Only one process may write a DuckDB file (DESIGN.md §6): wait our turn.
            locked = isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()
            if not locked:
                raise WarehouseError(f"cannot open the DuckDB file {location}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"the DuckDB file {location} is held by another process (a Dagster run or a "
                    f"SQL client) and was still locked after {lock_timeout_s:g} s of waiting; "
                    f"close that process or retry later ({exc})"
                ) from exc
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)


def _connect_postgres(location: str) -> Any:
    import psycopg

    try:
        con = psycopg.connect(location, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        safe = str(exc).split("\n", 1)[0]
        raise WarehouseError(f"cannot connect to Postgres: {safe}") from None
    con.execute("SET TIME ZONE 'UTC'")
    # JSON columns come back as JSON text from both engines, so callers see one shape.
    from psycopg.types.string import TextLoader

    for json_type in ("json", "jsonb"):
        con.adapters.register_loader(json_type, TextLoader)
    return con


@contextmanager
def open_warehouse(
    url: str, *, read_only: bool = False, lock_timeout_s: float = 600.0
) -> Iterator[Warehouse]:
    """Open the warehouse at ``url`` for one unit of work and close it afterwards.

    Connections are short-lived on purpose: a DuckDB file admits one writing process, so
    holding a connection across a whole Dagster run would block every other run."""
    target = WarehouseTarget.from_url(url)
    if target.dialect == "duckdb":
        wh = Warehouse("duckdb", _connect_duckdb(target.location, read_only=read_only,
                                                 lock_timeout_s=lock_timeout_s))
    else:
        wh = Warehouse("postgres", _connect_postgres(target.location))
    try:
        yield wh
    finally:
        wh.close()
