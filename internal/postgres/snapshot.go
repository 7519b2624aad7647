package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/rating"
)

// Catalog reads the master data the rating engine needs, in one repeatable-read
// transaction so that the snapshot is consistent. Deleted rates are left out.
func (s *Store) Catalog(ctx context.Context) (rating.Catalog, error) {
	c, _, err := s.catalog(ctx)
	return c, err
}

func (s *Store) catalog(ctx context.Context) (rating.Catalog, int64, error) {
	var c rating.Catalog
	var version int64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM catalog_version`).Scan(&version); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, coalesce(rate_table, '') FROM clients`)
		var cl rating.Client
		if _, err := pgx.ForEachRow(rows, []any{&cl.ID, &cl.RateTable}, func() error {
			c.Clients = append(c.Clients, cl)
			return nil
		}); err != nil {
			return fmt.Errorf("read clients: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT id, client, kind, value, tech_prefix, coalesce(rate_table, ''), enabled FROM accounts`)
		var a rating.Account
		var kind string
		if _, err := pgx.ForEachRow(rows, []any{&a.ID, &a.Client, &kind, &a.Value, &a.TechPrefix, &a.RateTable, &a.Enabled}, func() error {
			k, ok := rating.ParseAccountKind(kind)
			if !ok {
				return fmt.Errorf("account %d has kind %q", a.ID, kind)
			}
			a.Kind = k
			c.Accounts = append(c.Accounts, a)
			return nil
		}); err != nil {
			return fmt.Errorf("read accounts: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT name, currency, coalesce(parent, '') FROM rate_tables`)
		var t rating.Table
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
		c.Rates = make([]rating.Rate, 0, n)
		rows, _ = tx.Query(ctx, `SELECT id, rate_table, code, rate, effective_from, end_at, min_seconds, interval_seconds,
			grace_seconds, setup_fee FROM rates WHERE deleted_at IS NULL`)
		var r rating.Rate
		var end *time.Time
		if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Table, &r.Code, &r.PerMinute, &r.EffectiveFrom, &end,
			&r.MinSeconds, &r.IntervalSeconds, &r.GraceSeconds, &r.SetupFee}, func() error {
			r.End = time.Time{}
			if end != nil {
				r.End = *end
			}
			c.Rates = append(c.Rates, r)
			return nil
		}); err != nil {
			return fmt.Errorf("read rates: %w", err)
		}
		return nil
	})
	return c, version, err
}

// Engine builds a rating engine from the current master data.
func (s *Store) Engine(ctx context.Context) (*rating.Engine, error) {
	e, _, err := s.engine(ctx)
	return e, err
}

func (s *Store) engine(ctx context.Context) (*rating.Engine, int64, error) {
	c, v, err := s.catalog(ctx)
	if err != nil {
		return nil, 0, err
	}
	e, err := rating.NewEngine(c)
	return e, v, err
}

// EngineCache keeps one engine per catalog version: building a snapshot
// costs a fraction of a second, checking the version one query.
type EngineCache struct {
	store   *Store
	mu      sync.Mutex
	version int64
	engine  *rating.Engine
}

// NewEngineCache returns an empty cache over s.
func NewEngineCache(s *Store) *EngineCache { return &EngineCache{store: s} }

// Engine returns the engine for the current master data and its version.
func (c *EngineCache) Engine(ctx context.Context) (*rating.Engine, int64, error) {
	v, err := c.store.CatalogVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine != nil && c.version == v {
		return c.engine, v, nil
	}
	e, v, err := c.store.engine(ctx)
	if err != nil {
		return nil, 0, err
	}
	c.engine, c.version = e, v
	return e, v, nil
}
