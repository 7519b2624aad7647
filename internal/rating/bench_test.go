package rating_test

import (
	"math/rand/v2"
	"testing"

	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rating/ratingtest"
)

func BenchmarkEngineRate(b *testing.B) { benchRate(b, false) }

// BenchmarkEngineRateWithOrigins: a tenth of the base table's codes have
// prices for given origins (billing-rules §2 as decisions.md extends it).
func BenchmarkEngineRateWithOrigins(b *testing.B) { benchRate(b, true) }

func benchRate(b *testing.B, origins bool) {
	rng := rand.New(rand.NewPCG(7, 7))
	c, codes := ratingtest.Catalog(rng)
	if origins {
		c = ratingtest.WithOrigins(c, codes)
	}
	e, err := rating.NewEngine(c)
	if err != nil {
		b.Fatal(err)
	}
	cdrs := ratingtest.CDRs(rng, c, codes, 1<<20)
	if origins {
		ratingtest.Origins(rng, cdrs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	rated := 0
	for i := 0; i < b.N; i++ {
		if e.Rate(&cdrs[i&(1<<20-1)]).Status == rating.Rated {
			rated++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cdrs/s")
	if rated == 0 {
		b.Fatal("nothing rated")
	}
}

func BenchmarkNewEngine(b *testing.B) {
	c, _ := ratingtest.Catalog(rand.New(rand.NewPCG(7, 7)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := rating.NewEngine(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEngineRateAll(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	c, codes := ratingtest.Catalog(rng)
	e, err := rating.NewEngine(c)
	if err != nil {
		b.Fatal(err)
	}
	cdrs := ratingtest.CDRs(rng, c, codes, 1<<20)
	out := make([]rating.Result, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(out) {
		j := i & (1<<20 - 1)
		n := min(len(out), b.N-i)
		e.RateAll(cdrs[j:j+n], out[:n])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cdrs/s")
}
