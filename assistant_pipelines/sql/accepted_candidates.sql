-- Every accepted candidate of every week: the input of the action item fold.
SELECT candidate_id, document_id, week_start, origin, chunk_index, item_index, task, owner_text,
       owner_person_id, due_date, status, priority, confidence, evidence_text, occurred_at,
       model, prompt_version, input_hash, quarantine_reason
FROM action_item_candidates
WHERE quarantine_reason IS NULL
ORDER BY occurred_at, document_id, chunk_index, item_index, candidate_id
