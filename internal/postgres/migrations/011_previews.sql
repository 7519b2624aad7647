-- A preview (billing-rules §7) is a draft of a period that has not ended,
-- kept apart from the period's invoice: one per client and period, replaced
-- by the next, dropped when the period's first real draft is made, and never
-- issued.
ALTER TABLE invoices ADD COLUMN preview boolean NOT NULL DEFAULT false;
ALTER TABLE invoices ADD CHECK (NOT preview OR (state = 'draft' AND kind = 'invoice'));
DROP INDEX invoices_one_per_period;
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (client, period_start) WHERE state <> 'void' AND kind = 'invoice' AND NOT preview;
CREATE UNIQUE INDEX invoices_one_preview ON invoices (client, period_start) WHERE preview;
