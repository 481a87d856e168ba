-- Tickets created, closed, reopened or (Jira Done without a resolution date) finished in a
-- week window: every moment a ticket's status may have changed.
SELECT document_id, tracker, ticket_key, title, state, labels, assignee, assignee_email, due_date,
       created_at, updated_at, closed_at, occurred_at, file_sha256
FROM raw_tickets
WHERE (occurred_at >= :window_start AND occurred_at < :window_end)
   OR (closed_at >= :window_start AND closed_at < :window_end)
   OR (state = 'done' AND closed_at IS NULL AND updated_at >= :window_start AND updated_at < :window_end)
   OR (closed_at IS NOT NULL AND state NOT IN ('done', 'closed')
       AND updated_at >= :window_start AND updated_at < :window_end)
ORDER BY occurred_at, document_id
