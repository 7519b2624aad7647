package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/blob"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

func TestPutNewWritesAKeyOnceAndNeverOverwritesIt(t *testing.T) {
	ctx := context.Background()
	s := s3test.New(t)
	if _, err := s.PutNew(ctx, "issued/INV-1.json", strings.NewReader("first"), "application/json"); err != nil {
		t.Fatal(err)
	}
	_, err := s.PutNew(ctx, "issued/INV-1.json", strings.NewReader("second"), "application/json")
	if !errors.Is(err, s3store.ErrExists) {
		t.Fatalf("a second write: %v", err)
	}
	body, _, err := s.Open(ctx, "issued/INV-1.json")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if b, _ := io.ReadAll(body); string(b) != "first" {
		t.Fatalf("the object holds %q", b)
	}
}

func TestOpeningAKeyThatHoldsNothingSaysSo(t *testing.T) {
	_, _, err := s3test.New(t).Open(context.Background(), "nothing/here.json")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

// TestALargeFileIsUploadedInPartsAndReadBackWhole: a file of more than one
// part goes up as a multipart upload (its ETag says how many parts) and
// comes back byte for byte; a small one goes up whole.
func TestALargeFileIsUploadedInPartsAndReadBackWhole(t *testing.T) {
	s := s3test.New(t)
	big := make([]byte, 2*s3store.PartSize+12345)
	for i := range big {
		big[i] = byte(rand.IntN(256))
	}
	for _, tc := range []struct {
		name  string
		body  []byte
		parts string
	}{{"big.csv", big, "-3"}, {"small.csv", []byte("call_id\n"), ""}} {
		etag, err := s.Upload(context.Background(), "inbox/canonical/"+tc.name, bytes.NewReader(tc.body), "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		if tc.parts != "" && !strings.HasSuffix(etag, tc.parts) || tc.parts == "" && strings.Contains(etag, "-") {
			t.Errorf("%s: ETag %q, want parts %q", tc.name, etag, tc.parts)
		}
		r, _, err := s.Open(context.Background(), "inbox/canonical/"+tc.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, tc.body) {
			t.Fatalf("%s: read back %d bytes of %d, %v", tc.name, len(got), len(tc.body), err)
		}
	}
}
