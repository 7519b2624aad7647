package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/catalog"
)

// Snapshot reads the master data rating needs, in one repeatable-read
// transaction so that it is consistent, with its version. Deleted rates are
// left out.
func (s *Store) Snapshot(ctx context.Context) (catalog.Snapshot, error) {
	var c catalog.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM catalog_version`).Scan(&c.Version); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, coalesce(rate_table, '') FROM clients`)
		var cl catalog.Client
		if _, err := pgx.ForEachRow(rows, []any{&cl.ID, &cl.RateTable}, func() error {
			c.Clients = append(c.Clients, cl)
			return nil
		}); err != nil {
			return fmt.Errorf("read clients: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT id, client, kind, value, tech_prefix, coalesce(rate_table, ''), enabled FROM accounts`)
		var a catalog.Account
		if _, err := pgx.ForEachRow(rows, []any{&a.ID, &a.Client, &a.Kind, &a.Value, &a.TechPrefix, &a.RateTable, &a.Enabled}, func() error {
			c.Accounts = append(c.Accounts, a)
			return nil
		}); err != nil {
			return fmt.Errorf("read accounts: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT client, account_id, coalesce(rate_table, ''), effective_from FROM rate_table_assignments`)
		var as catalog.Assignment
		if _, err := pgx.ForEachRow(rows, []any{&as.Client, &as.Account, &as.RateTable, &as.From}, func() error {
			c.Assignments = append(c.Assignments, as)
			return nil
		}); err != nil {
			return fmt.Errorf("read rate-table assignments: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT name, currency, coalesce(parent, '') FROM rate_tables`)
		var t catalog.RateTable
		if _, err := pgx.ForEachRow(rows, []any{&t.Name, &t.Currency, &t.Parent}, func() error {
			c.Tables = append(c.Tables, t)
			return nil
		}); err != nil {
			return fmt.Errorf("read rate tables: %w", err)
		}

		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM rates WHERE deleted_at IS NULL`).Scan(&n); err != nil {
			return err
		}
		c.Rates = make([]catalog.Rate, 0, n)
		rows, _ = tx.Query(ctx, `SELECT id, rate_table, code, src_code, rate, effective_from, end_at, min_seconds, interval_seconds,
			grace_seconds, setup_fee FROM rates WHERE deleted_at IS NULL`)
		var r catalog.Rate
		var end *time.Time
		// Numerics decoded from the binary protocol: a snapshot reads every
		// rate in force, and decoding them through text costs a third of it.
		var rate, setup pgtype.Numeric
		if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Table, &r.Code, &r.SrcCode, &rate, &r.EffectiveFrom, &end,
			&r.Min, &r.Interval, &r.Grace, &setup}, func() error {
			r.End = time.Time{}
			if end != nil {
				r.End = *end
			}
			var err error
			if r.PerMinute, err = numericDecimal(rate); err != nil {
				return fmt.Errorf("rate %d: %w", r.ID, err)
			}
			if r.SetupFee, err = numericDecimal(setup); err != nil {
				return fmt.Errorf("rate %d: setup fee: %w", r.ID, err)
			}
			c.Rates = append(c.Rates, r)
			return nil
		}); err != nil {
			return fmt.Errorf("read rates: %w", err)
		}
		return nil
	})
	return c, err
}

// numericDecimal converts a non-NULL, finite numeric.
func numericDecimal(n pgtype.Numeric) (decimal.Decimal, error) {
	if !n.Valid || n.NaN || n.InfinityModifier != pgtype.Finite {
		return decimal.Decimal{}, fmt.Errorf("numeric %v is not a finite amount", n)
	}
	return decimal.NewFromBigInt(n.Int, n.Exp), nil
}
