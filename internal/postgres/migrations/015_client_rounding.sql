-- How a client's invoice subtotal is formed (billing-rules §5): a setting of
-- the client, which invoice create --rounding overrides.
ALTER TABLE clients ADD COLUMN rounding text NOT NULL DEFAULT 'round_then_sum'
    CHECK (rounding IN ('round_then_sum', 'sum_then_round'));
