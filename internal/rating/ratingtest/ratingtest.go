// Package ratingtest generates master data and calls at benchmark scale: a
// 100,000-code rate table under a two-level parent chain, 10,000 accounts.
package ratingtest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/rating"
)

// Start is when the generated rates take effect.
var Start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// Catalog is the benchmark's master data: a 100,000-code base table, a
// 10,000-code parent and a 1,000-code child (a two-level parent chain), and
// 10,000 ip accounts of 1,000 clients, a tenth with a tech prefix.
func Catalog(rng *rand.Rand) (rating.Catalog, []string) {
	c := rating.Catalog{Tables: []rating.Table{{Name: "child", Currency: "USD", Parent: "parent"},
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
		c.Rates = append(c.Rates, rating.Rate{ID: id, Table: table, Code: code, PerMinute: decimal.New(rng.Int64N(1_000_000), -6),
			EffectiveFrom: Start, MinSeconds: 1, IntervalSeconds: 1})
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
		c.Clients = append(c.Clients, rating.Client{ID: fmt.Sprint("client", i), RateTable: "child"})
	}
	for i := range 10_000 {
		a := rating.Account{ID: int64(i + 1), Client: fmt.Sprint("client", i%1000), Kind: rating.KindIP,
			Value: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), Enabled: true}
		if i%10 == 0 {
			a.TechPrefix = "0077"
		}
		c.Accounts = append(c.Accounts, a)
	}
	return c, codes
}

// CDRs makes n calls on c's accounts to numbers under its codes.
func CDRs(rng *rand.Rand, c rating.Catalog, codes []string, n int) []rating.CDR {
	cdrs := make([]rating.CDR, n)
	for i := range cdrs {
		a := c.Accounts[rng.IntN(len(c.Accounts))]
		num := []byte(a.TechPrefix + codes[rng.IntN(len(codes))])
		for len(num) < 11+len(a.TechPrefix) {
			num = append(num, byte('0'+rng.IntN(10)))
		}
		cdrs[i] = rating.CDR{ConnectTime: Start.Add(time.Duration(rng.Int64N(int64(720 * time.Hour)))), Duration: time.Duration(rng.Int64N(int64(600 * time.Second))),
			OrigIP: a.Value, OrigAccount: "", SrcNumber: "4930123456", DstNumber: string(num)}
	}
	return cdrs
}

// WithOrigins adds to c, for every tenth code of the base table, prices for
// calls from three origins (source codes), as origin-based tables have.
func WithOrigins(c rating.Catalog, codes []string) rating.Catalog {
	id := int64(len(c.Rates))
	for i, code := range codes {
		if i%10 != 0 {
			continue
		}
		for _, src := range []string{"49", "4915", "1"} {
			id++
			c.Rates = append(c.Rates, rating.Rate{ID: id, Table: "base", Code: code, SrcCode: src,
				PerMinute: decimal.New(int64(10_000+i), -6), EffectiveFrom: Start, MinSeconds: 1, IntervalSeconds: 1})
		}
	}
	return c
}

// Origins gives the calls origins of several countries, so that rates for
// given origins apply to some and not to others.
func Origins(rng *rand.Rand, cdrs []rating.CDR) {
	for i := range cdrs {
		cdrs[i].SrcNumber = []string{"4930123456", "4915112345678", "12125550100", "442071234567"}[rng.IntN(4)]
	}
}
