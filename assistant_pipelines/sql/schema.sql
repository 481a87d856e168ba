-- The warehouse schema (DESIGN.md §4, documented column by column in docs/tables.md).
-- Portable between DuckDB and Postgres: every statement is idempotent, JSON columns hold JSON
-- text, times are TIMESTAMPTZ (UTC). Statements are separated by lines holding only ';'.

CREATE TABLE IF NOT EXISTS ingested_files (
    source_file   TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,          -- transcript | mail | ticket
    file_sha256   TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    records       INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    ingested_at   TIMESTAMPTZ NOT NULL
)
;
CREATE TABLE IF NOT EXISTS ingest_errors (
    error_id      TEXT PRIMARY KEY,       -- hash of file, content hash, position and reason
    source_file   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    position      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    file_sha256   TEXT,
    recorded_at   TIMESTAMPTZ NOT NULL
)
;
CREATE TABLE IF NOT EXISTS raw_transcripts (
    document_id     TEXT PRIMARY KEY,
    source_file     TEXT NOT NULL,
    file_sha256     TEXT NOT NULL,
    format          TEXT NOT NULL,
    title           TEXT NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    date_source     TEXT NOT NULL,          -- sidecar | filename | content | mtime
    attendees       JSON NOT NULL,
    utterance_count INTEGER NOT NULL
)
;
CREATE TABLE IF NOT EXISTS raw_utterances (
    document_id   TEXT NOT NULL,
    line_no       INTEGER NOT NULL,
    speaker       TEXT,
    text          TEXT NOT NULL,
    start_s       DOUBLE PRECISION,
    end_s         DOUBLE PRECISION,
    PRIMARY KEY (document_id, line_no)
)
;
CREATE TABLE IF NOT EXISTS raw_emails (
    document_id   TEXT PRIMARY KEY,       -- derived from the Message-ID
    source_file   TEXT NOT NULL,
    position      TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    in_reply_to   TEXT,
    references_ids JSON NOT NULL,
    thread_id     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    sender_name   TEXT,
    sender_email  TEXT,
    to_addresses  JSON NOT NULL,
    cc_addresses  JSON NOT NULL,
    sent_at       TIMESTAMPTZ,            -- the Date: header (NULL when missing or unreadable)
    occurred_at   TIMESTAMPTZ NOT NULL,   -- sent_at, else the file's modification time
    body_text     TEXT NOT NULL,
    new_text      TEXT NOT NULL,
    quoted_text   TEXT NOT NULL,
    signature     TEXT NOT NULL,
    attachments   JSON NOT NULL,
    charset_note  TEXT
)
;
CREATE TABLE IF NOT EXISTS raw_tickets (
    document_id   TEXT PRIMARY KEY,       -- tracker + key
    source_file   TEXT NOT NULL,
    position      TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    tracker       TEXT NOT NULL,
    ticket_key    TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    state         TEXT NOT NULL,
    raw_state     TEXT NOT NULL,
    assignee      TEXT,
    assignee_email TEXT,
    reporter      TEXT,
    reporter_email TEXT,
    labels        JSON NOT NULL,
    due_date      DATE,
    created_at    TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ,
    closed_at     TIMESTAMPTZ,
    occurred_at   TIMESTAMPTZ NOT NULL,   -- created_at, else the file's modification time
    url           TEXT,
    comments      JSON NOT NULL
)
;
CREATE TABLE IF NOT EXISTS people (
    person_id     TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    emails        JSON NOT NULL,
    aliases       JSON NOT NULL,
    github_login  TEXT,
    jira_name     TEXT,
    origin        TEXT NOT NULL           -- directory (people.yaml) | observed (seen in sources only)
)
;
CREATE TABLE IF NOT EXISTS person_aliases (
    alias_key     TEXT PRIMARY KEY,       -- normalised spelling: lower case, single spaces
    alias         TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    alias_kind    TEXT NOT NULL           -- email | name | first_name | github | jira | alias
)
;
CREATE TABLE IF NOT EXISTS documents (
    document_id   TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,          -- meeting | email | ticket
    source_file   TEXT NOT NULL,
    title         TEXT NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL,
    week_start    DATE NOT NULL,          -- Monday of occurred_at's week in ASSISTANT_TIMEZONE
    author_person_id TEXT,
    author        TEXT,
    participants  JSON NOT NULL,          -- person ids
    thread_id     TEXT,
    url           TEXT,
    text          TEXT NOT NULL,          -- what extraction reads (new text for e-mail)
    content_hash  TEXT NOT NULL
)
;
CREATE TABLE IF NOT EXISTS llm_cache (
    cache_key     TEXT PRIMARY KEY,       -- hash of input hash, prompt version, model, schema
    model         TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_hash    TEXT NOT NULL,
    response_json TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
)
;
CREATE TABLE IF NOT EXISTS llm_calls (
    call_id       TEXT PRIMARY KEY,
    run_id        TEXT,
    document_id   TEXT,
    chunk_index   INTEGER,
    backend       TEXT NOT NULL,
    model         TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_hash    TEXT NOT NULL,
    tokens_in     INTEGER,
    tokens_out    INTEGER,
    latency_ms    DOUBLE PRECISION,
    cost_usd      DOUBLE PRECISION,
    attempt       INTEGER NOT NULL,
    outcome       TEXT NOT NULL,          -- ok | cache_hit | invalid_output | truncated | error
    finish_reason TEXT,
    error         TEXT,
    started_at    TIMESTAMPTZ NOT NULL
)
;
CREATE TABLE IF NOT EXISTS action_item_candidates (
    candidate_id  TEXT PRIMARY KEY,
    document_id   TEXT NOT NULL,
    week_start    DATE NOT NULL,
    origin        TEXT NOT NULL,          -- llm | ticket
    chunk_index   INTEGER NOT NULL,
    item_index    INTEGER NOT NULL,
    task          TEXT NOT NULL,
    owner_text    TEXT,
    owner_person_id TEXT,
    due_text      TEXT,
    due_date      DATE,
    status        TEXT NOT NULL,
    priority      TEXT,
    confidence    DOUBLE PRECISION,
    evidence_lines JSON NOT NULL,
    evidence_text TEXT,
    occurred_at   TIMESTAMPTZ NOT NULL,
    model         TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_hash    TEXT NOT NULL,
    quarantine_reason TEXT                -- NULL: accepted; else why it is held back
)
;
CREATE TABLE IF NOT EXISTS action_items (
    action_item_id TEXT PRIMARY KEY,
    task          TEXT NOT NULL,
    owner_person_id TEXT,
    owner_name    TEXT,
    due_date      DATE,
    status        TEXT NOT NULL,          -- open | done | closed
    priority      TEXT,
    confidence    DOUBLE PRECISION,
    source_document_id TEXT NOT NULL,     -- where it was first seen
    last_document_id TEXT NOT NULL,       -- where it was last seen
    ticket_key    TEXT,
    evidence      TEXT,
    mentions      INTEGER NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    first_seen_week DATE NOT NULL,
    model         TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_hash    TEXT NOT NULL
)
;
CREATE TABLE IF NOT EXISTS action_item_events (
    event_id      TEXT PRIMARY KEY,
    action_item_id TEXT NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL,
    event         TEXT NOT NULL,          -- created | mentioned | status_changed | due_changed
    status        TEXT NOT NULL,
    due_date      DATE,
    document_id   TEXT NOT NULL,
    candidate_id  TEXT NOT NULL
)
;
CREATE TABLE IF NOT EXISTS reports (
    report_id     TEXT PRIMARY KEY,       -- kind:week
    kind          TEXT NOT NULL,
    week_start    DATE NOT NULL,
    title         TEXT NOT NULL,
    markdown      TEXT NOT NULL,
    html          TEXT NOT NULL,
    markdown_path TEXT,
    html_path     TEXT,
    new_items     INTEGER NOT NULL,
    open_items    INTEGER NOT NULL,
    overdue_items INTEGER NOT NULL,
    done_items    INTEGER NOT NULL,
    generated_at  TIMESTAMPTZ NOT NULL
)
;
CREATE TABLE IF NOT EXISTS outbound_messages (
    idempotency_key TEXT PRIMARY KEY,     -- kind:week:person: one message per key, ever
    kind          TEXT NOT NULL,          -- digest | reminder
    week_start    DATE,
    recipient_person_id TEXT NOT NULL,
    recipient_email TEXT,
    subject       TEXT NOT NULL,
    body_text     TEXT NOT NULL,
    body_html     TEXT,
    status        TEXT NOT NULL,          -- pending | sent | written | failed | skipped
    transport     TEXT,                   -- smtp | outbox
    attempts      INTEGER NOT NULL,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    sent_at       TIMESTAMPTZ
)
;
CREATE OR REPLACE VIEW open_action_items AS
SELECT a.*, p.display_name AS owner_display_name
FROM action_items a LEFT JOIN people p ON p.person_id = a.owner_person_id
WHERE a.status = 'open'
;
CREATE OR REPLACE VIEW overdue_action_items AS
SELECT a.*, p.display_name AS owner_display_name
FROM action_items a LEFT JOIN people p ON p.person_id = a.owner_person_id
WHERE a.status = 'open' AND a.due_date IS NOT NULL AND a.due_date < CURRENT_DATE
;
CREATE OR REPLACE VIEW owner_load AS
SELECT COALESCE(p.display_name, a.owner_name, '(unassigned)') AS owner,
       a.owner_person_id,
       COUNT(*) FILTER (WHERE a.status = 'open') AS open_items,
       COUNT(*) FILTER (WHERE a.status = 'open' AND a.due_date < CURRENT_DATE) AS overdue_items,
       COUNT(*) FILTER (WHERE a.status <> 'open') AS finished_items
FROM action_items a LEFT JOIN people p ON p.person_id = a.owner_person_id
GROUP BY 1, 2
;
CREATE OR REPLACE VIEW quarantined_action_items AS
SELECT * FROM action_item_candidates WHERE quarantine_reason IS NOT NULL
;
-- The extraction engine (docs/extraction.md). The ledger gains four columns: ALTER … IF NOT
-- EXISTS so that warehouses created before them are brought up to date too.
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS request_id TEXT     -- the request (batch custom_id)
;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS mode TEXT           -- sync | batch
;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS document_ids JSON   -- documents of a packed request
;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS http_status INTEGER
;
CREATE TABLE IF NOT EXISTS document_extractions (
    document_id   TEXT NOT NULL,
    chunk_index   INTEGER NOT NULL,
    prompt_version TEXT NOT NULL,
    model         TEXT NOT NULL,
    week_start    DATE NOT NULL,
    chunk_count   INTEGER NOT NULL,
    first_line    INTEGER NOT NULL,
    last_line     INTEGER NOT NULL,
    input_hash    TEXT NOT NULL,          -- sha256 of everything the model is shown of the chunk
    cache_key     TEXT,                   -- the llm_cache entry holding the answer (status ok)
    status        TEXT NOT NULL,          -- ok | failed | skipped_budget | pending_batch
    error         TEXT,                   -- why it failed or was skipped
    from_cache    BOOLEAN NOT NULL,
    packed        BOOLEAN NOT NULL,       -- asked together with other short documents
    action_item_count INTEGER,
    summary       TEXT,
    decisions     JSON,
    open_questions JSON,
    run_id        TEXT,
    extracted_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (document_id, chunk_index, prompt_version, model)
)
;
CREATE TABLE IF NOT EXISTS llm_batches (
    batch_id      TEXT PRIMARY KEY,       -- the provider's batch id
    status        TEXT NOT NULL,          -- the provider's: validating | in_progress | finalizing | completed | failed | expired | cancelled
    model         TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    output_file_id TEXT,
    error_file_id TEXT,
    request_count INTEGER NOT NULL,
    completed_count INTEGER,
    failed_count  INTEGER,
    weeks         JSON NOT NULL,          -- week partitions re-materialized when it is ingested
    run_id        TEXT,                   -- the run that submitted it
    created_at    TIMESTAMPTZ NOT NULL,
    checked_at    TIMESTAMPTZ,
    ingested_at   TIMESTAMPTZ,            -- NULL while the batch is open
    error         TEXT
)
;
CREATE TABLE IF NOT EXISTS llm_batch_items (
    batch_id      TEXT NOT NULL,
    custom_id     TEXT NOT NULL,          -- the request line; packed chunks share one
    member_index  INTEGER NOT NULL,       -- position in a packed request (its id is D<n+1>)
    cache_key     TEXT NOT NULL,          -- where the chunk's answer is stored
    document_id   TEXT NOT NULL,
    chunk_index   INTEGER NOT NULL,
    input_hash    TEXT NOT NULL,
    week_start    DATE NOT NULL,
    packed        BOOLEAN NOT NULL,
    attempt       INTEGER NOT NULL,       -- 1 for the first batch this chunk was in
    status        TEXT NOT NULL,          -- pending | ok | failed
    outcome       TEXT,                   -- as llm_calls.outcome
    error         TEXT,
    bad_answer    TEXT,                   -- an unusable answer, shown to the model in the next batch
    PRIMARY KEY (batch_id, cache_key)
)
