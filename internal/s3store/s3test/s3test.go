// Package s3test gives integration tests a bucket of their own on the S3
// server that S3_ENDPOINT names, emptied and removed when the test ends.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/testenv"
)

// New returns a store on a new bucket.
func New(t testing.TB) *s3store.Store {
	t.Helper()
	endpoint := testenv.Require(t, "S3_ENDPOINT")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	s, err := s3store.New(context.Background(), endpoint, "billrun-test-"+hex.EncodeToString(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		objs, _ := s.List(ctx, "")
		for _, o := range objs {
			_ = s.Delete(ctx, o.Key)
		}
		_ = s.DeleteBucket(ctx)
	})
	return s
}
