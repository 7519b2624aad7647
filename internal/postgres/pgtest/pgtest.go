// Package pgtest gives integration tests a fresh, migrated database of their
// own on the PostgreSQL that DATABASE_URL names, dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/rating"

	"github.com/billrun/billrun/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/billrun/billrun/internal/postgres"
)

// New returns a store on a new database with the schema applied.
func New(t testing.TB) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	admin := testenv.Require(t, "DATABASE_URL")
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "billrun_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv("BILLRUN_KEEP_DB") != "" { // to look into a test's or a benchmark's data afterwards
			t.Logf("kept database %s", name)
			return
		}
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		t.Fatalf("DATABASE_URL must be a URL for tests: %v", err)
	}
	u.Path = "/" + name
	s, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	dbs.Store(s, testDB{url: u.String(), pool: pool})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// URL returns DATABASE_URL with the database replaced by s's, for tests that
// run a binary against the same database.
func URL(t testing.TB, s *postgres.Store) string {
	t.Helper()
	return db(s).url
}

// testDB is what New made for a store: its URL, and a pool of its own for
// tests to look into the database with.
type testDB struct {
	url  string
	pool *pgxpool.Pool
}

var dbs sync.Map // *postgres.Store → testDB

func db(s *postgres.Store) testDB {
	d, ok := dbs.Load(s)
	if !ok {
		panic("pgtest: the store was not made by pgtest.New")
	}
	return d.(testDB)
}

// Pool is a connection pool on the database of a store New made, for tests
// that set up or check rows by SQL.
func Pool(s *postgres.Store) *pgxpool.Pool { return db(s).pool }

// ImportDemo imports the sample catalogue of testdata/demo.
func ImportDemo(t testing.TB, s *postgres.Store) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "testdata", "demo")
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	must := func(_ postgres.ImportResult, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	deck, err := catalog.ReadCodeDeck("codedeck.csv", open("codedeck.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportCodeDeck(context.Background(), "codedeck.csv", "world", deck))
	tables, err := catalog.ReadRateTables("ratetables.csv", open("ratetables.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportRateTables(context.Background(), "ratetables.csv", tables))
	for _, tb := range []string{"retail-eur", "acme-special", "wholesale-usd"} {
		name := "rates-" + tb + ".csv"
		rs, err := catalog.ReadRates(name, open(name))
		must(postgres.ImportResult{}, err)
		must(s.ImportRates(context.Background(), name, tb, rs, false))
	}
	taxes, err := catalog.ReadTaxes("taxes.csv", open("taxes.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportTaxes(context.Background(), "taxes.csv", taxes))
	pkgs, err := catalog.ReadPackages("packages.csv", open("packages.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportPackages(context.Background(), "packages.csv", pkgs))
	clients, err := catalog.ReadClients("clients.csv", open("clients.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportClients(context.Background(), "clients.csv", clients))
	accs, err := catalog.ReadAccounts("accounts.csv", open("accounts.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportAccounts(context.Background(), "accounts.csv", accs))
	subs, err := catalog.ReadSubscriptions("subscriptions.csv", open("subscriptions.csv"))
	must(postgres.ImportResult{}, err)
	must(s.ImportSubscriptions(context.Background(), "subscriptions.csv", subs))
}

// LoadCatalog writes a rating catalogue (such as ratingtest's) through the
// importers, with every client in USD and no deck.
func LoadCatalog(b testing.TB, s *postgres.Store, c rating.Catalog) {
	var tables strings.Builder
	tables.WriteString("name,currency,deck,parent,rates_include_taxes\n")
	for _, x := range c.Tables {
		fmt.Fprintf(&tables, "%s,%s,,%s,false\n", x.Name, x.Currency, x.Parent)
	}
	ts, err := catalog.ReadRateTables("t.csv", strings.NewReader(tables.String()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportRateTables(context.Background(), "t.csv", ts); err != nil {
		b.Fatal(err)
	}
	for _, t := range c.Tables {
		var f strings.Builder
		f.WriteString("code,rate,effective_from,end,increment,setup_fee\n")
		for _, r := range c.Rates {
			if r.Table == t.Name {
				fmt.Fprintf(&f, "%s,%s,2026-10-01,,%d/%d,\n", r.Code, r.PerMinute, r.MinSeconds, r.IntervalSeconds)
			}
		}
		rs, err := catalog.ReadRates("r.csv", strings.NewReader(f.String()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ImportRates(context.Background(), "r.csv", t.Name, rs, false); err != nil {
			b.Fatal(err)
		}
	}
	var cl, ac strings.Builder
	cl.WriteString("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n")
	for _, x := range c.Clients {
		fmt.Fprintf(&cl, "%s,%s,USD,UTC,%s,,1,0,default,,,false\n", x.ID, x.ID, x.RateTable)
	}
	ac.WriteString("client,kind,value,tech_prefix,rate_table,enabled\n")
	for _, a := range c.Accounts {
		fmt.Fprintf(&ac, "%s,ip,%s,%s,,true\n", a.Client, a.Value, a.TechPrefix)
	}
	cs, err := catalog.ReadClients("c.csv", strings.NewReader(cl.String()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportClients(context.Background(), "c.csv", cs); err != nil {
		b.Fatal(err)
	}
	as, err := catalog.ReadAccounts("a.csv", strings.NewReader(ac.String()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportAccounts(context.Background(), "a.csv", as); err != nil {
		b.Fatal(err)
	}
}

// repoRoot is the repository's top directory.
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
