-- Status and due-date history up to the end of a week, oldest first.
SELECT action_item_id, occurred_at, event, status, due_date, document_id
FROM action_item_events
WHERE occurred_at < :week_end
ORDER BY action_item_id, occurred_at, event_id
