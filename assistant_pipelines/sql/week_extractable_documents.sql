-- Meetings and e-mails of one week: the documents the model reads.
SELECT document_id, kind, title, occurred_at, week_start, author, participants, text
FROM documents
WHERE week_start = :week AND kind IN ('meeting', 'email') AND text <> ''
ORDER BY occurred_at, document_id
