-- What an invoice shows is kept with it, so that its documents can be
-- rendered again identically after master data changed.
ALTER TABLE invoices
    ADD COLUMN taxes       jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN client_name text NOT NULL DEFAULT '',
    ADD COLUMN address     text NOT NULL DEFAULT '',
    ADD COLUMN email       text NOT NULL DEFAULT '',
    ADD COLUMN period      text NOT NULL DEFAULT '',   -- YYYY-MM
    ADD COLUMN timezone    text NOT NULL DEFAULT 'UTC';
ALTER TABLE invoices DROP COLUMN document;
