-- Chunks waiting in a batch that is still open: not to be submitted again.
SELECT i.cache_key
FROM llm_batch_items i JOIN llm_batches b ON b.batch_id = i.batch_id
WHERE i.status = 'pending' AND b.ingested_at IS NULL
