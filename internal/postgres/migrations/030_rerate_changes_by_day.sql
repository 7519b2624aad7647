-- A rerate's days run at once, and each added its differences to the run's
-- one row a client in its transaction: a day waited for the row locks of
-- every other day that touched the same clients until that day committed.
-- Each day now keeps rows of its own, summed when read. Rows from before
-- are the day of '-infinity'.
ALTER TABLE rerate_differences ADD COLUMN day date NOT NULL DEFAULT '-infinity';
ALTER TABLE rerate_differences DROP CONSTRAINT rerate_differences_pkey;
ALTER TABLE rerate_differences ADD PRIMARY KEY (run_id, day, client, currency);
ALTER TABLE rerate_differences ALTER COLUMN day DROP DEFAULT;

ALTER TABLE rerate_adjustments ADD COLUMN day date NOT NULL DEFAULT '-infinity';
ALTER TABLE rerate_adjustments DROP CONSTRAINT rerate_adjustments_pkey;
ALTER TABLE rerate_adjustments ADD PRIMARY KEY (run_id, day, invoice_id);
ALTER TABLE rerate_adjustments ALTER COLUMN day DROP DEFAULT;
