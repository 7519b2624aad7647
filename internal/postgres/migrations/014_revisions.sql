-- Stale ratings (billing-rules §7). Every rated call records the catalogue
-- revision (catalog_version) it was rated at; every client, account, rate
-- table and rate records the revision that last changed it. A call is stale
-- when something its rating depends on changed after it was rated.
ALTER TABLE cdrs ADD COLUMN revision integer;  -- NULL: rated before revisions were kept
ALTER TABLE clients ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE rate_tables ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE rates ADD COLUMN revision integer NOT NULL DEFAULT 0;

-- stamp_revision gives a new or changed row the revision its transaction
-- makes: master data changes in a transaction that ends by advancing
-- catalog_version (Store.changeCatalog). A row written again unchanged keeps
-- its revision; one whose revision is set explicitly keeps that.
CREATE FUNCTION stamp_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.revision <> OLD.revision OR NEW IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
        END IF;
    END IF;
    NEW.revision := (SELECT version + 1 FROM catalog_version);
    RETURN NEW;
END $$;

CREATE TRIGGER clients_revision BEFORE INSERT OR UPDATE ON clients FOR EACH ROW EXECUTE FUNCTION stamp_revision();
CREATE TRIGGER accounts_revision BEFORE INSERT OR UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION stamp_revision();
CREATE TRIGGER rate_tables_revision BEFORE INSERT OR UPDATE ON rate_tables FOR EACH ROW EXECUTE FUNCTION stamp_revision();
CREATE TRIGGER rates_revision BEFORE INSERT OR UPDATE ON rates FOR EACH ROW EXECUTE FUNCTION stamp_revision();

-- A table changes when its rates do: its revision is carried up once a
-- statement, so that judging a call needs no scan of the rates.
CREATE FUNCTION carry_rates_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rate_tables t SET revision = x.revision
    FROM (SELECT rate_table, max(revision) AS revision FROM changed_rates GROUP BY 1) x
    WHERE t.name = x.rate_table AND x.revision > t.revision;
    RETURN NULL;
END $$;

CREATE TRIGGER rates_inserted_revision AFTER INSERT ON rates REFERENCING NEW TABLE AS changed_rates
    FOR EACH STATEMENT EXECUTE FUNCTION carry_rates_revision();
CREATE TRIGGER rates_updated_revision AFTER UPDATE ON rates REFERENCING NEW TABLE AS changed_rates
    FOR EACH STATEMENT EXECUTE FUNCTION carry_rates_revision();

ALTER TABLE rerate_runs DROP CONSTRAINT rerate_runs_match_check,
    ADD CONSTRAINT rerate_runs_match_check CHECK (match IN ('all', 'matched', 'mismatched', 'stale', 'mismatched_or_stale'));
