-- Resellers, source code decks and the rate-table list (issue 16, first step).
-- A reseller sells the carrier's services under its own name; rate tables
-- and clients may belong to one. A rate table names a source deck beside
-- its destination deck, and gets a stable number for lists.
CREATE TABLE resellers (
    id   text PRIMARY KEY,
    name text NOT NULL
);

ALTER TABLE rate_tables
    ADD COLUMN id       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    ADD COLUMN src_deck text REFERENCES code_decks (name),
    ADD COLUMN reseller text REFERENCES resellers (id);

ALTER TABLE clients ADD COLUMN reseller text REFERENCES resellers (id);

-- Finance imports them (billrun_grant, run after migrations, grants the rest).
INSERT INTO billrun_writers (relname, role) VALUES ('resellers', 'billrun_billctl');
