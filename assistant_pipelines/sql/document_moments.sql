-- When every ingested document happened: the weeks `assistant-pipelines run` processes.
SELECT occurred_at FROM raw_transcripts
UNION ALL SELECT occurred_at FROM raw_emails
UNION ALL SELECT occurred_at FROM raw_tickets
UNION ALL SELECT closed_at FROM raw_tickets WHERE closed_at IS NOT NULL
