"""The model layer: answer schemas, prompts, chunking and packing, backends, the extraction
loop (cache, retries, adaptive concurrency, budget), the Batch API mode, the ledger, the
prompt-version diff and the local model's throughput check.

No Dagster here: the extraction asset hands documents in and gets validated results out, with
a :class:`~assistant_pipelines.llm.ledger.WarehouseCallStore` for the cache and the ledger.
docs/extraction.md explains the whole for people who run it.
"""
