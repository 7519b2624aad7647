package s3store_test

import (
	"context"
	"errors"
	"io"
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
