package s3store_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/billrun/billrun/internal/s3store/s3test"
)

// BenchmarkPut stores 4 KiB objects under per-client keys, four at a time,
// as invoice documents are written.
func BenchmarkPut(b *testing.B) {
	s := s3test.New(b)
	body := bytes.Repeat([]byte("x"), 4096)
	var n atomic.Int64
	b.SetParallelism(2) // 2 × GOMAXPROCS (2) = 4 at a time
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			key := fmt.Sprintf("invoices/client%d/2026-10/%d.pdf", i%10_000, i)
			if _, err := s.Put(context.Background(), key, bytes.NewReader(body), "application/pdf", nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
