-- Reports, readiness and invoices ask "was this call rated by a deleted
-- rate?": a small partial index answers without scanning every rate.
CREATE INDEX rates_deleted ON rates (id) WHERE deleted_at IS NOT NULL;
