-- Credit and debit notes (billing-rules §7) are kept as invoices of their own
-- kind that name the invoice they correct; their amounts are differences and
-- may be negative. Each kind is numbered from its own sequence (issuer).
ALTER TABLE invoices
    ADD COLUMN kind     text NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice', 'credit_note', 'debit_note')),
    ADD COLUMN corrects uuid REFERENCES invoices (id),
    ADD COLUMN rounding text NOT NULL DEFAULT 'round_then_sum';
ALTER TABLE invoices ADD CHECK ((kind = 'invoice') = (corrects IS NULL));
-- One live invoice per client and period; at most one draft note per invoice.
DROP INDEX invoices_one_per_period;
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (client, period_start) WHERE state <> 'void' AND kind = 'invoice';
CREATE UNIQUE INDEX invoices_one_draft_note ON invoices (corrects) WHERE state = 'draft';
