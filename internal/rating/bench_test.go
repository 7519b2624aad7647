package rating

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// BenchCatalog is the benchmark's master data: a 100,000-code base table, a
// 10,000-code parent and a 1,000-code child (a two-level parent chain), and
// 10,000 ip accounts of 1,000 clients, a tenth with a tech prefix.
func BenchCatalog(rng *rand.Rand) (Catalog, []string) {
	c := Catalog{Tables: []Table{{Name: "child", Currency: "USD", Parent: "parent"},
		{Name: "parent", Currency: "USD", Parent: "base"}, {Name: "base", Currency: "USD"}}}
	codes := make([]string, 0, 100_000)
	seen := map[string]bool{}
	for len(codes) < 100_000 {
		code := strconv.Itoa(1 + rng.IntN(99)) // country code
		for n := 2 + rng.IntN(6); n > 0; n-- {
			code += strconv.Itoa(rng.IntN(10))
		}
		if !seen[code] {
			seen[code] = true
			codes = append(codes, code)
		}
	}
	id := int64(0)
	add := func(table, code string) {
		id++
		c.Rates = append(c.Rates, Rate{ID: id, Table: table, Code: code, PerMinute: decimal.New(rng.Int64N(1_000_000), -6),
			EffectiveFrom: t0, MinSeconds: 1, IntervalSeconds: 1})
	}
	for _, code := range codes {
		add("base", code)
	}
	for _, code := range codes[:10_000] {
		add("parent", code)
	}
	for _, code := range codes[:1_000] {
		add("child", code)
	}
	for i := range 1000 {
		c.Clients = append(c.Clients, Client{ID: fmt.Sprint("client", i), RateTable: "child"})
	}
	for i := range 10_000 {
		a := Account{ID: int64(i + 1), Client: fmt.Sprint("client", i%1000), Kind: KindIP,
			Value: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), Enabled: true}
		if i%10 == 0 {
			a.TechPrefix = "0077"
		}
		c.Accounts = append(c.Accounts, a)
	}
	return c, codes
}

// BenchCDRs makes n calls on c's accounts to numbers under its codes.
func BenchCDRs(rng *rand.Rand, c Catalog, codes []string, n int) []CDR {
	cdrs := make([]CDR, n)
	for i := range cdrs {
		a := c.Accounts[rng.IntN(len(c.Accounts))]
		num := []byte(a.TechPrefix + codes[rng.IntN(len(codes))])
		for len(num) < 11+len(a.TechPrefix) {
			num = append(num, byte('0'+rng.IntN(10)))
		}
		cdrs[i] = CDR{ConnectTime: t0.Add(time.Duration(rng.Int64N(int64(720 * time.Hour)))), Duration: time.Duration(rng.Int64N(int64(600 * time.Second))),
			OrigIP: a.Value, OrigAccount: "", SrcNumber: "4930123456", DstNumber: string(num)}
	}
	return cdrs
}

func BenchmarkEngineRate(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	c, codes := BenchCatalog(rng)
	e, err := NewEngine(c)
	if err != nil {
		b.Fatal(err)
	}
	cdrs := BenchCDRs(rng, c, codes, 1<<20)
	b.ReportAllocs()
	b.ResetTimer()
	rated := 0
	for i := 0; i < b.N; i++ {
		if e.Rate(&cdrs[i&(1<<20-1)]).Status == Rated {
			rated++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cdrs/s")
	if rated == 0 {
		b.Fatal("nothing rated")
	}
}

func BenchmarkNewEngine(b *testing.B) {
	c, _ := BenchCatalog(rand.New(rand.NewPCG(7, 7)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NewEngine(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEngineRateAll(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	c, codes := BenchCatalog(rng)
	e, err := NewEngine(c)
	if err != nil {
		b.Fatal(err)
	}
	cdrs := BenchCDRs(rng, c, codes, 1<<20)
	out := make([]Result, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(out) {
		j := i & (1<<20 - 1)
		n := min(len(out), b.N-i)
		e.RateAll(cdrs[j:j+n], out[:n])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cdrs/s")
}
