-- Call records and the files they came from.

CREATE TABLE cdr_files (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL UNIQUE,          -- S3 key in the inbox
    format      text NOT NULL CHECK (format IN ('canonical', 'asterisk', 'freeswitch')),
    checksum    text NOT NULL DEFAULT '',      -- content the CDRs were taken from
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ingesting', 'ingested', 'failed')),
    cdrs        bigint NOT NULL DEFAULT 0,
    rejected    bigint NOT NULL DEFAULT 0,
    error       text NOT NULL DEFAULT '',
    first_call  timestamptz,                   -- connect_time range of its CDRs, so that
    last_call   timestamptz,                   -- replacing them touches only their partitions
    created_at  timestamptz NOT NULL DEFAULT now(),
    ingested_at timestamptz
);

CREATE TABLE rejected_lines (
    file_id bigint NOT NULL REFERENCES cdr_files (id) ON DELETE CASCADE,
    line    bigint NOT NULL,
    reason  text NOT NULL,
    raw     text NOT NULL,
    PRIMARY KEY (file_id, line)
);

-- Every CDR is stored, rated or not (billing-rules §2). Partitioned by month
-- of connect_time, each month by day: a month is billed and archived as
-- one; a day is the unit rerating rewrites, found without an index.
CREATE TABLE cdrs (
    file_id        bigint NOT NULL,
    line           bigint NOT NULL,
    call_id        text NOT NULL,
    connect_time   timestamptz NOT NULL,
    duration       numeric(16, 6) NOT NULL,   -- seconds, rounded up to the microsecond
    orig_ip        text NOT NULL DEFAULT '',
    orig_account   text NOT NULL DEFAULT '',
    src_number     text NOT NULL DEFAULT '',
    dst_number     text NOT NULL DEFAULT '',
    disposition    text NOT NULL DEFAULT '',
    status         text NOT NULL,              -- rated, or the mismatch category
    client         text,
    account_id     bigint,
    rate_table     text,
    rate_id        bigint,
    code           text,
    billed_seconds bigint NOT NULL DEFAULT 0,
    cost           numeric(20, 6) NOT NULL DEFAULT 0,
    currency       char(3)
) PARTITION BY RANGE (connect_time);

-- ensure_cdr_partition creates and attaches the month partition and the day
-- partition holding ts. It creates each table apart and attaches it, which
-- locks the parent only in SHARE UPDATE EXCLUSIVE mode: ingestions copying
-- into cdrs meanwhile are not blocked. Run it in its own transaction.
CREATE FUNCTION ensure_cdr_partition(ts timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
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
    RETURN day;
END $$;
