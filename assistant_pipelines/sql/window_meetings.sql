-- Meetings that happened in a week window, with their utterances in line order.
SELECT t.document_id, t.source_file, t.title, t.occurred_at, t.attendees,
       u.line_no, u.speaker, u.text
FROM raw_transcripts t
JOIN raw_utterances u ON u.document_id = t.document_id
WHERE t.occurred_at >= :window_start AND t.occurred_at < :window_end
ORDER BY t.document_id, u.line_no
