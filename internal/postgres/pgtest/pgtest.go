// Package pgtest gives integration tests a fresh, migrated database of their
// own on the PostgreSQL that DATABASE_URL names, dropped when the test ends.
// Without DATABASE_URL a test skips, unless CI=true, where it fails: CI must
// never pass by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/postgres"
)

// Require skips or fails t when a service's setting is missing.
func Require(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests with `make test`, which starts the local stack", env)
		}
		t.Skipf("%s is not set; `make test` starts the local stack", env)
	}
	return v
}

// New returns a store on a new database with the schema applied.
func New(t testing.TB) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	admin := Require(t, "DATABASE_URL")
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
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// URL returns DATABASE_URL with the database replaced by s's, for tests that
// run a binary against the same database.
func URL(t testing.TB, s *postgres.Store) string {
	t.Helper()
	u, err := url.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + s.Pool().Config().ConnConfig.Database
	return u.String()
}
