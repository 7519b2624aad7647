-- Balances (issue 16): payments finance imports, and a credit limit per
-- client that readiness warns about. A balance is computed, not stored:
-- issued invoices and debit notes add, credit notes and payments take away.
CREATE TABLE payments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client      text NOT NULL REFERENCES clients (id),
    paid_on     date NOT NULL,
    amount      numeric(20, 6) NOT NULL CHECK (amount <> 0),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reference   text NOT NULL UNIQUE,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_client ON payments (client, paid_on);

ALTER TABLE clients ADD COLUMN credit_limit numeric(20, 2) CHECK (credit_limit >= 0);

INSERT INTO billrun_writers (relname, role) VALUES ('payments', 'billrun_billctl');
