-- Every action item seen by the end of a week, with its owner and where it came from.
SELECT a.action_item_id, a.task, a.owner_person_id, COALESCE(p.display_name, a.owner_name) AS owner,
       p.emails AS owner_emails, a.due_date, a.priority, a.confidence, a.ticket_key, a.evidence, a.mentions,
       a.first_seen_at, a.last_seen_at, a.first_seen_week,
       a.source_document_id, d.kind AS source_kind, d.title AS source_title, d.source_file,
       d.url AS source_url, d.occurred_at AS source_occurred_at
FROM action_items a
LEFT JOIN people p ON p.person_id = a.owner_person_id
LEFT JOIN documents d ON d.document_id = a.source_document_id
WHERE a.first_seen_at < :week_end
ORDER BY owner NULLS LAST, a.due_date NULLS LAST, a.first_seen_at, a.action_item_id
