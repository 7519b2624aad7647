-- An issued period is fixed (billing-rules §5): a client has one live
-- invoice per month, keyed by the month rather than by the instant its
-- period starts, which an invoice day or time zone changed after issue
-- would move. Two live invoices of one client and month (left by earlier
-- versions after such a change) stop the upgrade, named: void one of each.
DO $$
DECLARE twice text;
BEGIN
    SELECT string_agg(client || ' ' || period, ', ' ORDER BY client, period) INTO twice FROM (
        SELECT client, period FROM invoices WHERE state <> 'void' AND kind = 'invoice' AND NOT preview
        GROUP BY client, period HAVING count(*) > 1) d;
    IF twice IS NOT NULL THEN
        RAISE EXCEPTION 'clients with two live invoices of one month: %; void one of each (billctl invoice void) and upgrade again', twice;
    END IF;
END $$;

-- Previews are disposable: the newest of a client's month stays.
DELETE FROM invoices i WHERE preview AND EXISTS (
    SELECT 1 FROM invoices n WHERE n.preview AND n.client = i.client AND n.period = i.period AND n.created_at > i.created_at);

DROP INDEX invoices_one_per_period;
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (client, period) WHERE state <> 'void' AND kind = 'invoice' AND NOT preview;
DROP INDEX invoices_one_preview;
CREATE UNIQUE INDEX invoices_one_preview ON invoices (client, period) WHERE preview;

-- One correction at a time (billing-rules §7): a draft note records how many
-- issued notes its invoice had when it was computed, and is issued only
-- while that holds. NULL on notes drafted before: not checked.
ALTER TABLE invoices ADD COLUMN basis_notes integer;
