package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is billrun's PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// Days whose CDR partition is known to exist (UTC day start, unix
	// seconds): the copy path checks this map instead of the catalog.
	partitions sync.Map
	// keepDuplicates turns duplicate judging off (JudgeDuplicates).
	keepDuplicates bool
}

// JudgeDuplicates turns judging duplicates at ingestion (billing-rules §7)
// on, as it is by default, or off: off is only for measuring what judging
// costs (make bench), as it stores every call of every file.
func (s *Store) JudgeDuplicates(on bool) { s.keepDuplicates = !on }

// Open connects to the database at url (a libpq URL or key=value string).
func Open(ctx context.Context, url string) (*Store, error) {
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	// JIT compiling costs 100–200 ms a query: far more than billrun's
	// queries, which partition pruning keeps small, take to run.
	// A generic plan of a prepared statement cannot prune partitions at
	// plan time, and over a year of day partitions it costs more than a
	// custom plan saves: plan each execution for its parameters.
	// No merge joins: billrun joins a month of calls, which no index orders,
	// with a list of clients or a catalogue table; a merge join sorts the
	// whole month first, on disk (readiness of 3,000,000 calls: 5.9 s,
	// against 1.7 s hashing the list; the invoice lines of a batch of 1,500
	// clients: 7.4 s against 4.9 s; their calls: 8.1 s against 3.9 s).
	for k, v := range map[string]string{"jit": "off", "enable_mergejoin": "off"} {
		if _, set := cfg.ConnConfig.RuntimeParams[k]; !set {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		pgxdecimal.Register(c.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the connections.
func (s *Store) Close() { s.pool.Close() }

// Migrate brings the schema to the newest version. It is idempotent and safe
// to run from several processes at once (the migrator takes an advisory lock).
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), "billrun_schema_version")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// The worker's and billctl's roles get their rights on every table,
	// new ones included (migration 017, deploy/postgres/roles.sql).
	if _, err := conn.Exec(ctx, `SELECT billrun_grant()`); err != nil {
		return fmt.Errorf("migrate: grant the roles their rights: %w", err)
	}
	return nil
}

// MigrateIfOwner migrates the schema when the database role may create
// tables, and otherwise checks that it is up to date: a worker on its
// least-privilege role (deploy/postgres/roles.sql) creates nothing and
// waits for `billctl migrate` to have been run by the schema's owner.
func (s *Store) MigrateIfOwner(ctx context.Context) error {
	var owner bool
	if err := s.pool.QueryRow(ctx, `SELECT has_schema_privilege('public', 'CREATE')`).Scan(&owner); err != nil {
		return err
	}
	if owner {
		return s.Migrate(ctx)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	var version int
	err = s.pool.QueryRow(ctx, `SELECT version FROM billrun_schema_version`).Scan(&version)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42P01" { // undefined_table: never migrated
			return fmt.Errorf("read the schema version: %w", err)
		}
	}
	if version < len(files) {
		return fmt.Errorf("the database schema is at version %d and this billrun needs %d: run `billctl migrate` as the schema's owner", version, len(files))
	}
	return nil
}

// inTx runs fn in a transaction, committed only when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// changeCatalog runs fn in a transaction that also advances the catalog
// version, so that cached rating snapshots are rebuilt.
func (s *Store) changeCatalog(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE catalog_version SET version = version + 1`)
		return err
	})
}

// CatalogVersion is the current master-data version.
func (s *Store) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM catalog_version`).Scan(&v)
	return v, err
}

// InstallationID is this database's random identity.
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id::text FROM installation`).Scan(&id)
	return id, err
}

// ratedByDeletedRate is true for a call (alias c) rated by a rate deleted
// since: such a call is a mismatch (deleted_rate). It looks the call's rate
// up by key; a subquery over all rates would run again for every partition.
func ratedByDeletedRate(c string) string {
	return "EXISTS (SELECT 1 FROM rates r WHERE r.id = " + c + ".rate_id AND r.deleted_at IS NOT NULL)"
}

// tableChain (after WITH) pairs every rate table with itself and each table
// of its parent chain (anc): the tables whose rates its calls may be rated by.
const tableChain = `RECURSIVE table_chain (name, anc) AS (
	SELECT name, name FROM rate_tables
	UNION SELECT c.name, t.parent FROM table_chain c JOIN rate_tables t ON t.name = c.anc WHERE t.parent IS NOT NULL)`

// staleWith (after WITH), staleJoins (after a FROM of cdrs c) and staleCall
// tell whether a call is stale (billing-rules §7): rated before the latest
// change to its client, to any account of its client with its account's
// kind and value, to its rate table or to a table of its parent chain. A
// call whose account is gone is stale too. (A window, not a join to the
// accounts grouped: the planner guesses a grouped join at one row and then
// loops over it for every call.)
const (
	staleWith = tableChain + `,
		stale_tables AS (SELECT c.name, max(t.revision) AS revision FROM table_chain c JOIN rate_tables t ON t.name = c.anc GROUP BY 1),
		stale_accounts AS (SELECT a.id, greatest(cl.revision, max(a.revision) OVER (PARTITION BY a.client, a.kind, a.value)) AS revision
			FROM accounts a JOIN clients cl ON cl.id = a.client)`
	staleJoins = ` LEFT JOIN stale_accounts sa ON sa.id = c.account_id LEFT JOIN stale_tables st ON st.name = c.rate_table`
	staleCall  = `(c.status = 'rated' AND coalesce(c.revision, 0) < greatest(coalesce(sa.revision, 2147483647), coalesce(st.revision, 0)))`
)

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }
