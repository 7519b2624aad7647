-- billrun's database roles, least privilege (docs/reliability.md, "Security").
-- Run once per cluster by an administrator, before or after `billctl migrate`:
--   psql "$ADMIN_DATABASE_URL" -f deploy/postgres/roles.sql
-- then give each role a password (ALTER ROLE … PASSWORD …) unless the
-- cluster trusts its clients, as the local stack's does.
--
-- * The schema's owner (whoever runs `billctl migrate`: the administrator,
--   or a role that owns the database) creates and alters tables; migrations
--   grant the two roles below their rights (billrun_grant, migration 017),
--   so a new table never widens or narrows them by accident.
-- * billrun_worker: the worker. Reads master data; writes calls, files,
--   rejected lines, rerate runs and invoices; creates no table (day
--   partitions are made by ensure_cdr_partition, which runs as the owner).
-- * billrun_billctl: finance's tool. Writes master data (imports); reads the
--   rest; cannot change a call, a file or an invoice: those go through the
--   worker's workflows.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_worker') THEN
        CREATE ROLE billrun_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_billctl') THEN
        CREATE ROLE billrun_billctl LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END $$;
-- On a database already migrated, grant now; later migrations grant anew.
DO $$
BEGIN
    IF to_regproc('billrun_grant') IS NOT NULL THEN
        PERFORM billrun_grant();
    END IF;
END $$;
