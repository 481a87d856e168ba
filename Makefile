# The two commands of the README. Both install what they need first (scripts/setup.sh).
UV := .tools/bin/uv

.PHONY: demo test lint setup benchmark ui

demo: setup ## ingest the sample team, extract with the embedded model, write reports and digests
	$(UV) run --frozen --no-sync assistant-pipelines demo

test: setup ## the whole test suite (DuckDB and a real Postgres, loopback model and SMTP servers)
	$(UV) run --frozen --no-sync pytest -q

lint: setup ## ruff, with the rules in pyproject.toml
	$(UV) run --frozen --no-sync ruff check .

setup:
	@bash scripts/setup.sh

benchmark: setup ## ingestion and extraction benchmarks, printed as tables
	$(UV) run --frozen --no-sync python -m benchmarks
	$(UV) run --frozen --no-sync python -m benchmarks.extraction

ui: setup ## the Dagster UI on http://127.0.0.1:3000 for the demo's home
	DAGSTER_HOME=$(CURDIR)/var/demo/dagster ASSISTANT_HOME=$(CURDIR)/var/demo \
	ASSISTANT_TIMEZONE=Europe/Berlin ASSISTANT_FIRST_WEEK=2026-10-05 \
	$(UV) run --frozen --no-sync dagster dev -w workspace.yaml
