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

-- The worker writes the record; billctl reads it (migration 017's rights).
CREATE OR REPLACE FUNCTION billrun_grant() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    master text[] := ARRAY['code_decks', 'code_deck_entries', 'rate_tables', 'rates', 'tax_profiles', 'taxes',
                           'clients', 'accounts', 'packages', 'subscriptions', 'catalog_version'];
    calls  text[] := ARRAY['cdr_files', 'rejected_lines', 'cdrs', 'call_keys', 'file_duplicates', 'rerate_runs',
                           'invoice_sequences', 'invoices', 'invoice_lines', 'bill_runs'];
    t      text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_worker') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO billrun_worker', current_database());
        GRANT USAGE ON SCHEMA public TO billrun_worker;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO billrun_worker;
        FOREACH t IN ARRAY calls LOOP
            EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I TO billrun_worker', t);
        END LOOP;
        FOR t IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent IN (SELECT oid FROM pg_class WHERE relname = 'cdrs'
                                       UNION SELECT inhrelid FROM pg_inherits WHERE inhparent = 'cdrs'::regclass) LOOP
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO billrun_worker', t);
        END LOOP;
        GRANT EXECUTE ON FUNCTION ensure_cdr_partition(timestamptz) TO billrun_worker;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_billctl') THEN
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO billrun_billctl', current_database());
        GRANT USAGE ON SCHEMA public TO billrun_billctl;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO billrun_billctl;
        FOREACH t IN ARRAY master LOOP
            EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I TO billrun_billctl', t);
        END LOOP;
    END IF;
END $$;
