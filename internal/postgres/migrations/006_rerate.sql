-- Rerate runs (billing-rules §4). The exclusion constraint refuses a second
-- run over an overlapping period while one is running.
CREATE TABLE rerate_runs (
    id          text PRIMARY KEY,             -- the workflow ID
    period      tstzrange NOT NULL,
    client      text,
    match       text NOT NULL CHECK (match IN ('all', 'matched', 'mismatched')),
    state       text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    result      jsonb,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    EXCLUDE USING gist (period WITH &&) WHERE (state = 'running')
);
