-- Tickets created (or, undated, exported) in a week window.
SELECT document_id, source_file, tracker, ticket_key, title, body, state, assignee, assignee_email,
       reporter, reporter_email, occurred_at, url, comments
FROM raw_tickets
WHERE occurred_at >= :window_start AND occurred_at < :window_end
ORDER BY occurred_at, document_id
