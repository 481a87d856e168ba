-- The chunks of one batch, grouped by request line in member order.
SELECT custom_id, member_index, cache_key, document_id, chunk_index, input_hash, week_start, packed,
       attempt, status
FROM llm_batch_items
WHERE batch_id = :batch_id
ORDER BY custom_id, member_index
