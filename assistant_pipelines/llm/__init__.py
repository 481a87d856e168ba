"""The model layer: output schema, prompts, chunking, backends and the extraction loop.

No Dagster here: the extraction asset hands documents in and gets validated items out, with a
:class:`~assistant_pipelines.llm.extract.CallStore` for the cache and the ledger.
"""
