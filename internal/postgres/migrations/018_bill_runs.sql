-- The audit record of every bill run, kept past the Temporal namespace's
-- retention: who started it with which options, every resolution (who,
-- when, the findings as they were), and the figures it ended with. The
-- workflow keeps it through the RecordBillRun activity.
CREATE TABLE bill_runs (
    run_id      text PRIMARY KEY,             -- Temporal's run ID
    workflow_id text NOT NULL,
    period      text NOT NULL,
    started_by  text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    phase       text NOT NULL,
    options     jsonb NOT NULL DEFAULT '{}',
    resolutions jsonb NOT NULL DEFAULT '[]',  -- [{action, actor, at, errors, warnings, mismatched, findings}]
    status      jsonb NOT NULL DEFAULT '{}',  -- the run's status as it last recorded it
    finished_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bill_runs_period ON bill_runs (period, started_at DESC);

-- The worker writes the record; billctl reads it (migration 017).
INSERT INTO billrun_writers (relname, role) VALUES ('bill_runs', 'billrun_worker');
