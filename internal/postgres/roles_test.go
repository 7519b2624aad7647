package postgres_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/testenv"
)

// TestEachRoleHasOnlyTheRightsItNeeds creates the roles of
// deploy/postgres/roles.sql, migrates a database (which grants them their
// rights) and tries, as each role, what it must and must not be able to do.
func TestEachRoleHasOnlyTheRightsItNeeds(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.Require(t, "DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	roles, err := os.ReadFile(filepath.Join("..", "..", "deploy", "postgres", "roles.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, string(roles)); err != nil {
		t.Fatalf("deploy/postgres/roles.sql: %v", err)
	}
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	as := func(role string) *pgx.Conn {
		u, err := url.Parse(pgtest.URL(t, store))
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(role)
		c, err := pgx.Connect(ctx, u.String())
		if err != nil {
			t.Fatalf("connect as %s: %v", role, err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	worker, billctl := as("billrun_worker"), as("billrun_billctl")
	// A partition the worker made, kept: the cases below roll back.
	if _, err := worker.Exec(ctx, `SELECT ensure_cdr_partition('2026-10-05')`); err != nil {
		t.Fatalf("the worker makes a day's partition: %v", err)
	}
	cases := []struct {
		name    string
		conn    *pgx.Conn
		sql     string
		allowed bool
	}{
		{"the worker reads master data", worker, `SELECT count(*) FROM clients`, true},
		{"the worker makes another month's partitions", worker, `SELECT ensure_cdr_partition('2026-11-05')`, true},
		{"the worker writes calls into a day's partition", worker,
			`INSERT INTO cdrs_2026_10_05 (file_id, line, call_id, connect_time, duration, status) VALUES (1, 1, 'x', '2026-10-05 10:00Z', 1, 'rated')`, true},
		{"the worker writes files", worker, `INSERT INTO cdr_files (key, format) VALUES ('inbox/canonical/x.csv', 'canonical')`, true},
		{"the worker numbers invoices", worker, `UPDATE invoice_sequences SET next_seq = next_seq`, true},
		{"the worker keeps the bill runs' audit record", worker,
			`INSERT INTO bill_runs (run_id, workflow_id, period, started_at, phase) VALUES ('r', 'bill-run-2026-10', '2026-10', now(), 'done')`, true},
		{"the worker does not change master data", worker, `UPDATE clients SET name = name`, false},
		{"the worker does not change rates", worker, `DELETE FROM rates`, false},
		{"the worker creates no table", worker, `CREATE TABLE evil (x int)`, false},
		{"the worker does not drop a partition", worker, `DROP TABLE cdrs_2026_10_05`, false},
		{"billctl imports master data", billctl, `UPDATE clients SET name = name`, true},
		{"billctl imports through a temporary table", billctl, `CREATE TEMP TABLE stage (x int)`, true},
		{"billctl reads calls", billctl, `SELECT count(*) FROM cdrs`, true},
		{"billctl does not change calls", billctl, `DELETE FROM cdrs`, false},
		{"billctl does not change invoices", billctl, `UPDATE invoices SET total = 0`, false},
		{"billctl does not rewrite the audit record", billctl, `UPDATE bill_runs SET phase = 'done'`, false},
		{"billctl does not number invoices", billctl, `UPDATE invoice_sequences SET next_seq = 1`, false},
		{"billctl does not make partitions", billctl, `SELECT ensure_cdr_partition('2026-10-06')`, false},
		{"the worker gives fresh calls statistics before invoicing", worker, `SELECT analyze_cdrs('2026-10-01', '2026-11-01')`, true},
		{"billctl gives fresh calls statistics before readiness", billctl, `SELECT analyze_cdrs('2026-10-01', '2026-11-01')`, true},
		{"the worker drops archived months", worker, `SELECT drop_cdr_month('2026-01-01')`, true},
		{"the worker records archives", worker, `INSERT INTO cdr_archives (day, month, key, calls, bytes, sha256) VALUES ('2026-09-01', '2026-09', 'k', 1, 1, 's')`, true},
		{"billctl does not drop months of calls", billctl, `SELECT drop_cdr_month('2026-10-01')`, false},
		{"billctl creates no table", billctl, `CREATE TABLE evil (x int)`, false},
		{"the console records who changed what", billctl, `INSERT INTO audit_events (actor, action, subject) VALUES ('fiona', 'invoice.void', 'x')`, true},
		{"the console does not rewrite what was recorded", billctl, `UPDATE audit_events SET actor = 'someone else'`, false},
		{"nor delete it", billctl, `DELETE FROM audit_events`, false},
		{"the worker does not write the console's audit", worker, `INSERT INTO audit_events (actor, action, subject) VALUES ('w', 'x', 'y')`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each statement runs in a transaction rolled back after.
			tx, err := c.conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			_, err = tx.Exec(ctx, c.sql)
			switch {
			case c.allowed && err != nil:
				t.Fatalf("%s: %v", c.sql, err)
			case !c.allowed && err == nil:
				t.Fatalf("%s was allowed", c.sql)
			case !c.allowed && !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner"):
				t.Fatalf("%s: %v, want permission denied", c.sql, err)
			}
		})
	}

	// billctl's importers of resellers, payments and dated rate tables run
	// on its role (they write no sequence, no invoice).
	t.Run("billctl imports resellers, payments and rate tables over time", func(t *testing.T) {
		u, _ := url.Parse(pgtest.URL(t, store))
		u.User = url.User("billrun_billctl")
		as, err := postgres.Open(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer as.Close()
		must := func(_ postgres.ImportResult, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		resellers, _ := catalog.ReadResellers("r.csv", strings.NewReader("id,name,invoice_template\nalbion,Albion,ALB-{SEQ:4}\n"))
		must(as.ImportResellers(ctx, "r.csv", resellers))
		payments, _ := catalog.ReadPayments("p.csv", strings.NewReader("client,date,amount,currency,reference\nacme,2026-11-01,1.00,EUR,R-1\n"))
		must(as.ImportPayments(ctx, "p.csv", payments))
		clients, err := catalog.ReadClients("c.csv", strings.NewReader("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,"+
			"template,billing_email,address,autoinvoice,effective_from,reseller\nacme,Acme,EUR,UTC,retail-eur,,1,0,default,,,true,2026-10-15,albion\n"))
		if err != nil {
			t.Fatal(err)
		}
		must(as.ImportClients(ctx, "c.csv", clients))
	})

	// The worker on its role does not migrate: it checks the schema is
	// up to date, as the schema's owner left it.
	u, _ := url.Parse(pgtest.URL(t, store))
	u.User = url.User("billrun_worker")
	ws, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.MigrateIfOwner(ctx); err != nil {
		t.Fatalf("a migrated schema, as the worker: %v", err)
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{dbName(u) + "_new"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{dbName(u) + "_new"}.Sanitize()+` WITH (FORCE)`)
	u.Path = "/" + dbName(u) + "_new"
	fresh, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.MigrateIfOwner(ctx); err == nil || !strings.Contains(err.Error(), "billctl migrate") {
		t.Fatalf("an empty database, as the worker: %v, want an error that says to run billctl migrate", err)
	}
}

func dbName(u *url.URL) string { return strings.TrimPrefix(u.Path, "/") }
