"""``warehouse``: the DuckDB file or Postgres database every asset reads and writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource

from assistant_pipelines.warehouse import Warehouse, WarehouseTarget, open_warehouse

_SCHEMA_READY: set[str] = set()
_SCHEMA_LOCK = threading.Lock()


class WarehouseResource(ConfigurableResource):
    """``url``: ``duckdb:///path/file.duckdb`` or ``postgresql://user:pass@host/db``."""

    url: str

    @property
    def dialect(self) -> str:
        return WarehouseTarget.from_url(self.url).dialect

    @contextmanager
    def open(self, *, read_only: bool = False) -> Iterator[Warehouse]:
        """A connection for one unit of work, with the schema in place (created once per
        process and URL)."""
        with open_warehouse(self.url, read_only=read_only) as wh:
            if not read_only:
                with _SCHEMA_LOCK:
                    if self.url not in _SCHEMA_READY:
                        wh.ensure_schema()
                        _SCHEMA_READY.add(self.url)
            yield wh
