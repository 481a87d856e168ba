"""Parsers for inbox files: transcripts, mail and tickets.

Pure Python, no Dagster: each parser turns one file into records (``records.py``) or raises /
yields :class:`~assistant_pipelines.ingest.errors.IngestError` with the file, the position and a
reason a person understands. The ingest assets decide what to store.
"""
