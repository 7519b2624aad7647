-- Rate-table assignments over time (issue 16): a client's (account_id 0) or
-- an account's rate table from an instant on. Written only by imports with
-- an effective_from column; a client or account without rows rates with
-- its rate_table at any time, and its first row also covers the time
-- before it. clients.rate_table and accounts.rate_table hold the table in
-- force at the last import.
CREATE TABLE rate_table_assignments (
    client         text NOT NULL REFERENCES clients (id),
    account_id     bigint NOT NULL DEFAULT 0,
    effective_from timestamptz NOT NULL,
    rate_table     text REFERENCES rate_tables (name),
    PRIMARY KEY (client, account_id, effective_from)
);

INSERT INTO billrun_writers (relname, role) VALUES ('rate_table_assignments', 'billrun_billctl');
