-- Duplicate calls (billing-rules §7). The keys (cdr.Key) of each file's
-- stored calls, one set a UTC day: ingestion loads the sets of the days a
-- file touches, under a lock per day, and stores none of its calls whose key
-- is there. No index on cdrs: one would cost ingestion 55–237 %.
ALTER TABLE cdr_files ADD COLUMN duplicates bigint NOT NULL DEFAULT 0;

CREATE TABLE call_keys (
    day     date NOT NULL,
    file_id bigint NOT NULL REFERENCES cdr_files (id) ON DELETE CASCADE,
    keys    bytea NOT NULL,                -- 16 bytes a call, hashes: no compression
    PRIMARY KEY (day, file_id)
);
ALTER TABLE call_keys ALTER COLUMN keys SET STORAGE EXTERNAL;

-- The calls of a file not stored because another call had their key, each
-- with the file that first had it (the file itself for a call repeated
-- within it), as one value a file (cdr.AppendDuplicate): a row a call would
-- cost more to write than the calls it spares (a tenth of a file repeated is
-- 100,000 rows a million calls).
CREATE TABLE file_duplicates (
    file_id bigint PRIMARY KEY REFERENCES cdr_files (id) ON DELETE CASCADE,
    calls   bytea NOT NULL
);
ALTER TABLE file_duplicates ALTER COLUMN calls SET STORAGE EXTERNAL;
