-- A line's exact amount (before rounding to cents), so that the calls an
-- invoice's documents list can be checked against its lines to the
-- millionth. NULL on lines stored before: their amount stands in.
ALTER TABLE invoice_lines ADD COLUMN exact numeric(24, 8);
