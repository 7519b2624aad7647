package postgres_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rating/ratingtest"
)

// BenchmarkImportRates100k: parse and import a 100,000-line rate file into
// an empty table (the first iteration) and over itself (upserts).
func BenchmarkImportRates100k(b *testing.B) {
	s := pgtest.New(b)
	c, _ := ratingtest.Catalog(rand.New(rand.NewPCG(7, 7)))
	var file bytes.Buffer
	file.WriteString("code,rate,effective_from,end,increment,setup_fee\n")
	for _, r := range c.Rates {
		if r.Table == "base" {
			fmt.Fprintf(&file, "%s,%s,2026-10-01,,%d/%d,\n", r.Code, r.PerMinute, r.MinSeconds, r.IntervalSeconds)
		}
	}
	ts, _ := catalog.ReadRateTables("t.csv", strings.NewReader("name,currency,deck,parent,rates_include_taxes\nbase,USD,,,false\n"))
	if _, err := s.ImportRateTables(ctx, "t.csv", ts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := catalog.ReadRates("rates.csv", bytes.NewReader(file.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		res, err := s.ImportRates(ctx, "rates.csv", "base", rs, false)
		if err != nil || res.Inserted+res.Updated != 100_000 {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/file")
}

// BenchmarkSnapshot: build the rating engine from PostgreSQL holding the
// benchmark catalogue (111,000 rates in a two-level chain, 10,000 accounts).
func BenchmarkSnapshot(b *testing.B) {
	s := pgtest.New(b)
	c, _ := ratingtest.Catalog(rand.New(rand.NewPCG(7, 7)))
	pgtest.LoadCatalog(b, s, c)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := billing.NewEngines(s).Engine(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
}

// BenchmarkRateTables times the rate-table list with the rates in force
// counted, over the benchmark catalogue's 111,000 rates: the console's
// Master data page after an import.
func BenchmarkRateTables(b *testing.B) {
	s := pgtest.New(b)
	c, _ := ratingtest.Catalog(rand.New(rand.NewPCG(7, 7)))
	pgtest.LoadCatalog(b, s, c)
	if _, err := pgtest.Pool(s).Exec(ctx, `ANALYZE rates`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts, err := s.RateTables(ctx, postgres.RateTableFilter{}, time.Now())
		if err != nil || len(ts) != 3 {
			b.Fatal(ts, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/list")
}
