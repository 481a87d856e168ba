SELECT kind, COUNT(*) AS n FROM documents WHERE week_start = :week GROUP BY kind ORDER BY kind
