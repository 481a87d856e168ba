-- The prompt versions the warehouse holds answers for, with how much each covers.
SELECT prompt_version, model, COUNT(DISTINCT document_id) AS documents,
       COUNT(*) FILTER (WHERE status = 'ok') AS chunks_ok,
       COUNT(*) FILTER (WHERE status <> 'ok') AS chunks_not_ok,
       MIN(extracted_at) AS first_extracted, MAX(extracted_at) AS last_extracted
FROM document_extractions
GROUP BY prompt_version, model
ORDER BY MAX(extracted_at) DESC
