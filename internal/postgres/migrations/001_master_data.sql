-- Master data (billing-rules §1). Natural keys are the keys users import by.
-- Money is numeric everywhere; rates and fees carry up to 8 decimal places.

CREATE TABLE code_decks (
    name text PRIMARY KEY
);

CREATE TABLE code_deck_entries (
    deck    text NOT NULL REFERENCES code_decks (name) ON DELETE CASCADE,
    code    text NOT NULL CHECK (code ~ '^[0-9]+$'),
    name    text NOT NULL,
    country text NOT NULL DEFAULT '',
    PRIMARY KEY (deck, code)
);

CREATE TABLE rate_tables (
    name                text PRIMARY KEY,
    currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    deck                text REFERENCES code_decks (name),
    parent              text REFERENCES rate_tables (name),
    rates_include_taxes boolean NOT NULL DEFAULT false,
    notes               text NOT NULL DEFAULT '',
    CHECK (parent <> name)
);

CREATE TABLE rates (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rate_table       text NOT NULL REFERENCES rate_tables (name) ON DELETE CASCADE,
    code             text NOT NULL CHECK (code ~ '^[0-9]+$'),
    rate             numeric(20, 8) NOT NULL,
    effective_from   timestamptz NOT NULL,
    end_at           timestamptz CHECK (end_at > effective_from),
    min_seconds      integer NOT NULL CHECK (min_seconds >= 1),
    interval_seconds integer NOT NULL CHECK (interval_seconds >= 1),
    grace_seconds    integer NOT NULL DEFAULT 0 CHECK (grace_seconds >= 0),
    setup_fee        numeric(20, 8) NOT NULL DEFAULT 0,
    -- Rates are deleted softly, so that calls rated by a deleted rate can be
    -- reported (mismatch category deleted_rate).
    deleted_at       timestamptz,
    UNIQUE (rate_table, code, effective_from)
);

CREATE TABLE tax_profiles (
    name text PRIMARY KEY
);

CREATE TABLE taxes (
    profile text NOT NULL REFERENCES tax_profiles (name) ON DELETE CASCADE,
    name    text NOT NULL,
    percent numeric(9, 4) NOT NULL CHECK (percent >= 0),
    PRIMARY KEY (profile, name)
);

CREATE TABLE clients (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    timezone      text NOT NULL DEFAULT 'UTC',
    rate_table    text REFERENCES rate_tables (name),
    tax_profile   text REFERENCES tax_profiles (name),
    invoice_day   smallint NOT NULL DEFAULT 1 CHECK (invoice_day BETWEEN 1 AND 28),
    grace_days    integer NOT NULL DEFAULT 0 CHECK (grace_days >= 0),
    template      text NOT NULL DEFAULT 'default' CHECK (template IN ('default', 'extended')),
    billing_email text NOT NULL DEFAULT '',
    address       text NOT NULL DEFAULT '',
    autoinvoice   boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived'))
);

CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client      text NOT NULL REFERENCES clients (id),
    kind        text NOT NULL CHECK (kind IN ('ip', 'username', 'ani')),
    value       text NOT NULL CHECK (value <> ''),
    tech_prefix text NOT NULL DEFAULT '' CHECK (tech_prefix ~ '^[0-9]*$'),
    rate_table  text REFERENCES rate_tables (name),
    enabled     boolean NOT NULL DEFAULT true,
    UNIQUE (kind, value, tech_prefix)
);
CREATE INDEX accounts_client ON accounts (client);

CREATE TABLE packages (
    name               text PRIMARY KEY,
    currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    monthly_fee        numeric(20, 8) NOT NULL DEFAULT 0,
    activation_fee     numeric(20, 8) NOT NULL DEFAULT 0,
    fees_include_taxes boolean NOT NULL DEFAULT false
);

CREATE TABLE subscriptions (
    client   text NOT NULL REFERENCES clients (id),
    package  text NOT NULL REFERENCES packages (name),
    start_on date NOT NULL,
    end_on   date CHECK (end_on > start_on),
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity >= 1),
    PRIMARY KEY (client, package, start_on)
);
