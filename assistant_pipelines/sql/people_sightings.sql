-- Every (name, e-mail) the sources mention, in a fixed order (directory ids must not depend
-- on row order): ticket people first (they carry logins and e-mails), then mail, then speakers.
WITH sightings AS (
    SELECT 1 AS source_rank, assignee AS name, assignee_email AS email,
           CASE WHEN tracker = 'github' THEN 'github' ELSE 'jira' END AS kind
    FROM raw_tickets WHERE assignee IS NOT NULL OR assignee_email IS NOT NULL
    UNION ALL
    SELECT 1, reporter, reporter_email, CASE WHEN tracker = 'github' THEN 'github' ELSE 'jira' END
    FROM raw_tickets WHERE reporter IS NOT NULL OR reporter_email IS NOT NULL
    UNION ALL
    SELECT 2, sender_name, sender_email, 'name' FROM raw_emails
    WHERE sender_name IS NOT NULL OR sender_email IS NOT NULL
    UNION ALL
    SELECT 3, speaker, NULL, 'name' FROM raw_utterances WHERE speaker IS NOT NULL
)
SELECT source_rank, name, email, kind, COUNT(*) AS times
FROM sightings
GROUP BY source_rank, name, email, kind
ORDER BY source_rank, times DESC, name NULLS LAST, email NULLS LAST
