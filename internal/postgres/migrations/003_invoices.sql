-- Invoices (billing-rules §5). Numbers are gapless per issuer: a counter row
-- per issuer is locked and advanced in the transaction that issues.

CREATE TABLE invoice_sequences (
    issuer   text PRIMARY KEY,
    template text NOT NULL DEFAULT 'INV-{YYYY}-{SEQ:6}',
    next_seq bigint NOT NULL DEFAULT 1
);

CREATE TABLE invoices (
    id           uuid PRIMARY KEY,
    client       text NOT NULL REFERENCES clients (id),
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    state        text NOT NULL CHECK (state IN ('draft', 'issued', 'void')),
    issuer       text NOT NULL DEFAULT 'default',
    number       text,
    template     text NOT NULL DEFAULT 'default',
    currency     char(3) NOT NULL,
    subtotal     numeric(20, 2) NOT NULL,
    total        numeric(20, 2) NOT NULL,
    issue_date   date,
    due_date     date,
    document     jsonb NOT NULL DEFAULT '{}',   -- the invoice JSON of interfaces.md
    documents    jsonb NOT NULL DEFAULT '{}',   -- S3 URIs of pdf, json, csv
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, number)
);
-- One live invoice per client and period; a void one keeps its number.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (client, period_start) WHERE state <> 'void';

CREATE TABLE invoice_lines (
    invoice_id     uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position       integer NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('usage', 'subscription', 'activation')),
    description    text NOT NULL,
    code           text,
    calls          bigint,
    billed_seconds bigint,
    quantity       integer,
    amount         numeric(20, 2) NOT NULL,
    PRIMARY KEY (invoice_id, position)
);
