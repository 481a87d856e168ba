-- E-mails sent (or, undated, received) in a week window.
SELECT document_id, source_file, subject, occurred_at, sender_name, sender_email,
       to_addresses, cc_addresses, thread_id, new_text, body_text
FROM raw_emails
WHERE occurred_at >= :window_start AND occurred_at < :window_end
ORDER BY occurred_at, document_id
