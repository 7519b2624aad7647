-- What an invoice's documents list beyond its lines, kept when it is issued
-- (billing-rules §7): its calls as the CSV shows them (gzip) and the extended
-- template's detail. Issued documents are rendered from these, never from
-- the calls as they are later.
ALTER TABLE invoices ADD COLUMN snapshot_calls bytea, ADD COLUMN snapshot_detail jsonb;
