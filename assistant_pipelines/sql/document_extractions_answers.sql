-- One prompt version's answers per document chunk, with the document's title (for diffs).
SELECT e.document_id, e.chunk_index, e.model, e.week_start, e.first_line, e.last_line,
       d.title, d.kind, c.response_json
FROM document_extractions e
JOIN llm_cache c ON c.cache_key = e.cache_key
LEFT JOIN documents d ON d.document_id = e.document_id
WHERE e.prompt_version = :prompt_version AND e.status = 'ok'
ORDER BY e.document_id, e.chunk_index
