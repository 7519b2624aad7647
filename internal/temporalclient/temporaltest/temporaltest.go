// Package temporaltest connects integration tests to the Temporal server
// that TEMPORAL_ADDRESS names, with billrun's search attributes registered
// and a task queue of the test's own.
package temporaltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/internal/testenv"
	"github.com/billrun/billrun/workflows"
)

// New returns a client and a fresh task queue name.
func New(t testing.TB) (client.Client, string) {
	t.Helper()
	addr := testenv.Require(t, "TEMPORAL_ADDRESS")
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	ctx := context.Background()
	opts, err := temporalclient.Resolve(addr, ns)
	if err != nil {
		t.Fatal(err)
	}
	c, err := temporalclient.Dial(ctx, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := temporalclient.EnsureSearchAttributes(ctx, c, ns, workflows.SearchAttributes()); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return c, "billrun-test-" + hex.EncodeToString(b)
}
