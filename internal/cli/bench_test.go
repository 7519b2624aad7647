package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cli"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

// BenchmarkInvoiceListAtAMonthOf20000 times `billctl invoice list --period
// 2026-10` over a month of 20,000 issued invoices (acme's, copied to
// 20,000 clients), as a user waits for it in-process: connect, read, print.
func BenchmarkInvoiceListAtAMonthOf20000(b *testing.B) {
	ctx := context.Background()
	store := pgtest.New(b)
	pgtest.ImportDemo(b, store)
	svc := billing.New(store, s3test.New(b))
	c, err := svc.CreateInvoice(ctx, "acme", billing.InvoiceOptions{Period: "2026-10", Issue: true, AllowEmpty: true,
		Now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	pool := pgtest.Pool(store)
	copyRow := func(table, key, value string) {
		b.Helper()
		var cols string
		if err := pool.QueryRow(ctx, `SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM information_schema.columns
			WHERE table_name = $1 AND column_name NOT IN ('id', 'client', 'number')`, table).Scan(&cols); err != nil {
			b.Fatal(err)
		}
		var sql string
		switch table {
		case "clients":
			sql = `INSERT INTO clients (id, ` + cols + `) SELECT 'b' || lpad(i::text, 6, '0'), ` + cols + ` FROM clients, generate_series(1, 20000) i WHERE ` + key + ` = $1`
		case "invoices":
			sql = `INSERT INTO invoices (id, client, number, ` + cols + `) SELECT gen_random_uuid(), 'b' || lpad(i::text, 6, '0'), 'B-' || i, ` + cols +
				` FROM invoices, generate_series(1, 20000) i WHERE ` + key + ` = $1::uuid`
		}
		if _, err := pool.Exec(ctx, sql, value); err != nil {
			b.Fatal(err)
		}
	}
	copyRow("clients", "id", "acme")
	copyRow("invoices", "id", c.ID)
	b.Setenv("DATABASE_URL", pgtest.URL(b, store))
	for b.Loop() {
		var out, errOut bytes.Buffer
		if code := cli.Main(ctx, []string{"invoice", "list", "--period", "2026-10"}, &out, &errOut); code != 0 {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
		if n := strings.Count(out.String(), "\n"); n < 20001 {
			b.Fatalf("%d lines", n)
		}
	}
}
