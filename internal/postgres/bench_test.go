package postgres_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

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
	load(b, s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Engine(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
}

// load writes ratingtest's catalogue through the importers.
func load(b *testing.B, s *postgres.Store) {
	c, _ := ratingtest.Catalog(rand.New(rand.NewPCG(7, 7)))
	var tables strings.Builder
	tables.WriteString("name,currency,deck,parent,rates_include_taxes\n")
	for _, t := range []string{"base", "parent", "child"} { // parents first is not required, but reads well
		for _, x := range c.Tables {
			if x.Name == t {
				fmt.Fprintf(&tables, "%s,%s,,%s,false\n", x.Name, x.Currency, x.Parent)
			}
		}
	}
	ts, err := catalog.ReadRateTables("t.csv", strings.NewReader(tables.String()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportRateTables(ctx, "t.csv", ts); err != nil {
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
		if _, err := s.ImportRates(ctx, "r.csv", t.Name, rs, false); err != nil {
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
	if _, err := s.ImportClients(ctx, "c.csv", cs); err != nil {
		b.Fatal(err)
	}
	as, err := catalog.ReadAccounts("a.csv", strings.NewReader(ac.String()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportAccounts(ctx, "a.csv", as); err != nil {
		b.Fatal(err)
	}
}
