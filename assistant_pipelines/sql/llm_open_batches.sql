-- Batches submitted and not yet ingested, oldest first.
SELECT batch_id, status, model, prompt_version, input_file_id, output_file_id, error_file_id,
       request_count, completed_count, failed_count, weeks, run_id, created_at, checked_at,
       ingested_at, error
FROM llm_batches
WHERE ingested_at IS NULL
ORDER BY created_at, batch_id
