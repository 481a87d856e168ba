-- Cached answers for a list of keys (:cache_keys is bound as a list / array).
SELECT cache_key, response_json FROM llm_cache
WHERE cache_key IN (SELECT unnest(CAST(:cache_keys AS TEXT[])))
