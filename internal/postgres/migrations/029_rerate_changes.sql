-- What a rerate changed, kept where it grows (docs/scaling.md): each day's
-- cost differences by client and currency, and the differences inside issued
-- invoices' periods (adjustments due), added in the transaction that
-- rewrites the day's calls. A run's figures so survive any failure of the
-- workflow that runs it, and nothing that grows with the month travels
-- through Temporal: the run carries counts.
CREATE TABLE rerate_differences (
    run_id   text NOT NULL,
    client   text NOT NULL,
    currency char(3) NOT NULL,
    amount   numeric(24, 6) NOT NULL,
    PRIMARY KEY (run_id, client, currency)
);

CREATE TABLE rerate_adjustments (
    run_id     text NOT NULL,
    invoice_id uuid NOT NULL,
    number     text NOT NULL,
    client     text NOT NULL,
    currency   char(3) NOT NULL,
    period     text NOT NULL,
    amount     numeric(24, 6) NOT NULL,
    PRIMARY KEY (run_id, invoice_id)
);

INSERT INTO billrun_writers (relname, role) VALUES ('rerate_differences', 'billrun_worker'), ('rerate_adjustments', 'billrun_worker');

-- The run that made a note (an adjust, or a bill run's), so that what it
-- made is read back from here rather than carried through Temporal.
ALTER TABLE invoices ADD COLUMN made_by text;
CREATE INDEX invoices_made_by ON invoices (made_by, id) WHERE made_by IS NOT NULL;
