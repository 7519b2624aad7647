-- Least privilege (deploy/postgres/roles.sql): billrun_grant gives the
-- worker's and billctl's roles, where they exist, exactly their rights on
-- every table; Store.Migrate calls it after every migration, so that a new
-- table is granted in the migration that makes it.
-- Which role writes which table: a migration that makes a table says who
-- writes it here (one row), and billrun_grant does the rest. Every table is
-- read by both roles.
CREATE TABLE billrun_writers (
    relname text NOT NULL,
    role    text NOT NULL CHECK (role IN ('billrun_worker', 'billrun_billctl')),
    PRIMARY KEY (relname, role)
);
INSERT INTO billrun_writers (relname, role)
SELECT t, 'billrun_billctl' FROM unnest(ARRAY['code_decks', 'code_deck_entries', 'rate_tables', 'rates', 'tax_profiles', 'taxes',
    'clients', 'accounts', 'packages', 'subscriptions', 'catalog_version']) t
UNION ALL
SELECT t, 'billrun_worker' FROM unnest(ARRAY['cdr_files', 'rejected_lines', 'cdrs', 'call_keys', 'file_duplicates', 'rerate_runs',
    'invoice_sequences', 'invoices', 'invoice_lines']) t;

CREATE FUNCTION billrun_grant() RETURNS void LANGUAGE plpgsql AS $$
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
    END IF;
END $$;

CREATE FUNCTION billrun_grant_partition(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_worker') THEN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO billrun_worker', name);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_billctl') THEN
        EXECUTE format('GRANT SELECT ON %I TO billrun_billctl', name);
    END IF;
END $$;

-- Partitions are made at run time by whoever ingests: the function runs
-- as the schema's owner (so the worker needs no right to create tables),
-- and grants what it makes. As in 002, with the grants.
CREATE OR REPLACE FUNCTION ensure_cdr_partition(ts timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m     timestamptz := date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    d     timestamptz := date_trunc('day', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month text := 'cdrs_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM');
    day   text := 'cdrs_' || to_char(d AT TIME ZONE 'UTC', 'YYYY_MM_DD');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(day));
    IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(day)) THEN
        RETURN day;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(month));
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(month)) THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I (LIKE cdrs INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (connect_time)', month);
        EXECUTE format('ALTER TABLE cdrs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', month, m, m + interval '1 month');
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I (LIKE cdrs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', day);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (connect_time >= %L AND connect_time < %L)',
                   day, day || '_range', d, d + interval '1 day');
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', month, day, d, d + interval '1 day');
    PERFORM billrun_grant_partition(month);
    PERFORM billrun_grant_partition(day);
    RETURN day;
END $$;
REVOKE EXECUTE ON FUNCTION ensure_cdr_partition(timestamptz) FROM PUBLIC;
