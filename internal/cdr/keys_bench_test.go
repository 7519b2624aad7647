package cdr_test

import (
	"math/rand/v2"
	"testing"

	"github.com/billrun/billrun/internal/cdr"
)

// BenchmarkKeysAdd adds a million distinct keys of 30 days, in random day
// order (the worst case: a file of a month's calls out of time order).
func BenchmarkKeysAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	keys := make([]cdr.Key, 1_000_000)
	days := make([]int64, len(keys))
	for i := range keys {
		keys[i] = cdr.Key{Hi: rng.Uint64(), Lo: rng.Uint64()}
		days[i] = int64(rng.IntN(30))
	}
	hint := len(keys)
	b.ResetTimer()
	for range b.N {
		k := cdr.NewKeys(1, hint)
		for i, key := range keys {
			if _, dup := k.Add(key, days[i]); dup {
				b.Fatal("a new key is a duplicate")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}
