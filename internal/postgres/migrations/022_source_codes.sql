-- Rates for given origins (issue 16): a rate may carry a source code, the
-- digits a call's src_number starts with; '' applies to any origin. A
-- table's code has one version history per source code.
ALTER TABLE rates ADD COLUMN src_code text NOT NULL DEFAULT '' CHECK (src_code ~ '^[0-9]*$');
ALTER TABLE rates DROP CONSTRAINT rates_rate_table_code_effective_from_key;
ALTER TABLE rates ADD CONSTRAINT rates_rate_table_code_src_code_effective_from_key UNIQUE (rate_table, code, src_code, effective_from);
