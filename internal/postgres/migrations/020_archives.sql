-- Archived months (billctl cdr archive): each day of a month's calls is
-- written to S3 as a gzipped CSV file and read back before the month's
-- partitions are dropped; a row per day says where it is, how many calls it
-- holds and the SHA-256 of the object. A restore puts the calls back and
-- deletes the month's rows (the objects stay).
CREATE TABLE cdr_archives (
    day         date PRIMARY KEY,
    month       text NOT NULL,          -- YYYY-MM
    key         text NOT NULL,          -- S3 key of the day's file
    calls       bigint NOT NULL,
    bytes       bigint NOT NULL,
    sha256      text NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cdr_archives_month ON cdr_archives (month);
INSERT INTO billrun_writers (relname, role) VALUES ('cdr_archives', 'billrun_worker');

-- Dropping a month's partitions needs their owner: the function runs as the
-- schema's owner. It drops a month only when every day of it is archived
-- with as many calls as it holds, so that no caller loses calls by it; it
-- detaches the month from cdrs (its day partitions go with it) and drops
-- it. A month without partitions is left alone.
CREATE FUNCTION drop_cdr_month(m date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month text := 'cdrs_' || to_char(m, 'YYYY_MM');
    part  text;
    d     date;
    want  bigint;
    have  bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(month));
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(month) AND inhparent = 'cdrs'::regclass) THEN
        RETURN false;
    END IF;
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(month) LOOP
        d := to_date(substr(part, 6), 'YYYY_MM_DD');
        SELECT calls INTO want FROM cdr_archives WHERE day = d;
        EXECUTE format('SELECT count(*) FROM %I', part) INTO have;
        IF want IS DISTINCT FROM have THEN
            RAISE EXCEPTION 'the calls of % are not archived as they are (% stored, % archived)', d, have, coalesce(want::text, 'none');
        END IF;
    END LOOP;
    EXECUTE format('ALTER TABLE cdrs DETACH PARTITION %I', month);
    EXECUTE format('DROP TABLE %I', month);
    RETURN true;
END $$;
REVOKE EXECUTE ON FUNCTION drop_cdr_month(date) FROM PUBLIC;

-- As in 017, with the right to drop a month.
CREATE OR REPLACE FUNCTION billrun_grant() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN ('billrun_worker', 'billrun_billctl') LOOP
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), r.rolname);
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', r.rolname);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', r.rolname);
    END LOOP;
    FOR r IN SELECT w.relname, w.role FROM billrun_writers w JOIN pg_roles p ON p.rolname = w.role LOOP
        EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I TO %I', r.relname, r.role);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_worker') THEN
        -- Day and month partitions are written directly by COPY and rerates.
        FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent IN (SELECT oid FROM pg_class WHERE relname = 'cdrs'
                                       UNION SELECT inhrelid FROM pg_inherits WHERE inhparent = 'cdrs'::regclass) LOOP
            PERFORM billrun_grant_partition(r.relname);
        END LOOP;
        GRANT EXECUTE ON FUNCTION ensure_cdr_partition(timestamptz) TO billrun_worker;
        GRANT EXECUTE ON FUNCTION drop_cdr_month(date) TO billrun_worker;
    END IF;
END $$;
