-- The SHA-256 of each document as written, by kind (pdf, json, csv): an
-- issued invoice's documents are written once, and billctl invoice verify
-- compares what the bucket holds with these.
ALTER TABLE invoices ADD COLUMN document_sums jsonb NOT NULL DEFAULT '{}';
