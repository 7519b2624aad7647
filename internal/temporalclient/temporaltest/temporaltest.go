// Package temporaltest connects integration tests to the Temporal server
// that TEMPORAL_ADDRESS names, with billrun's search attributes registered
// and a task queue of the test's own.
package temporaltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/internal/testenv"
	"github.com/billrun/billrun/workflows"
)

// New returns a client of TEMPORAL_NAMESPACE (default "default") and a
// fresh task queue name.
func New(t testing.TB) (client.Client, string) {
	t.Helper()
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	c := dial(t, ns)
	if err := temporalclient.EnsureSearchAttributes(context.Background(), c, ns, workflows.SearchAttributes()); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return c, "billrun-test-" + hex.EncodeToString(b)
}

// Namespace returns a client of namespace ns, registered where it is
// missing, once the server serves it with billrun's search attributes: for
// tests that start runs under their real IDs, which must not meet other
// tests' runs.
func Namespace(t testing.TB, ns string) client.Client {
	t.Helper()
	ctx := context.Background()
	c := dial(t, ns)
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	// A namespace just registered reaches the server's caches within seconds.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		err = temporalclient.EnsureSearchAttributes(ctx, c, ns, workflows.SearchAttributes())
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s: %v", ns, err)
		}
	}
}

func dial(t testing.TB, ns string) client.Client {
	t.Helper()
	opts, err := temporalclient.Resolve(testenv.Require(t, "TEMPORAL_ADDRESS"), ns)
	if err != nil {
		t.Fatal(err)
	}
	c, err := temporalclient.Dial(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
