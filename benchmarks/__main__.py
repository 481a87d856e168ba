"""``python -m benchmarks``: the ingestion benchmark (options: ``--help``)."""

from benchmarks.ingest import main

raise SystemExit(main())
