-- The calls that were never rated, in time order: the console pages through
-- a bill run's mismatched calls of one category without reading the month's
-- rated calls. Partial, so ingestion maintains it for those calls only.
CREATE INDEX IF NOT EXISTS cdrs_unrated ON cdrs (connect_time, file_id, line) WHERE status <> 'rated';
