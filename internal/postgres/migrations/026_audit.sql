-- Who changed what from the finance console (issue 17): every start,
-- resolution, issue, void and import it makes, with the signed-in user.
-- The bill run's own record (bill_runs) keeps its starter and resolutions
-- too; this is the one list of a user's actions across kinds.
CREATE TABLE audit_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    action  text NOT NULL,   -- run.start, run.resolve, invoice.issue, invoice.void, import.KIND
    subject text NOT NULL,   -- the run, invoice or file
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at DESC);

-- Append-only, whoever asks: what was recorded stays as it was recorded.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'permission denied: audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The console runs with billctl's settings and role.
INSERT INTO billrun_writers (relname, role) VALUES ('audit_events', 'billrun_billctl');

-- The console's invoice list pages by month and client.
CREATE INDEX IF NOT EXISTS invoices_period_client ON invoices (period, client, created_at);
CREATE INDEX IF NOT EXISTS invoices_corrects ON invoices (corrects) WHERE corrects IS NOT NULL;
