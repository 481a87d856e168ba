SELECT person_id, display_name, emails, aliases, github_login, jira_name, origin
FROM people
ORDER BY person_id
