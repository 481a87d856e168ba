-- For every chunk that failed in a batch and has no answer since: how often, and the last
-- failure (its error and unusable answer, shown to the model when it is submitted again).
SELECT i.cache_key, i.custom_id, i.batch_id, i.packed, i.outcome, i.error, i.bad_answer, i.attempt,
       b.created_at
FROM llm_batch_items i JOIN llm_batches b ON b.batch_id = i.batch_id
WHERE i.status = 'failed'
  AND NOT EXISTS (SELECT 1 FROM llm_cache c WHERE c.cache_key = i.cache_key)
ORDER BY i.cache_key, b.created_at, i.attempt
