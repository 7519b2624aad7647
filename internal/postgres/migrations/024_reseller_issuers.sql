-- A reseller's invoices go out under its own name and numbers (issue 16):
-- its seller details and number templates, and on each invoice or note the
-- reseller that issues it (NULL: the carrier), set when its draft is made.
ALTER TABLE resellers
    ADD COLUMN address              text NOT NULL DEFAULT '',
    ADD COLUMN tax_id               text NOT NULL DEFAULT '',
    ADD COLUMN email                text NOT NULL DEFAULT '',
    ADD COLUMN invoice_template     text NOT NULL DEFAULT '',
    ADD COLUMN credit_note_template text NOT NULL DEFAULT '',
    ADD COLUMN debit_note_template  text NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN reseller text REFERENCES resellers (id);
