package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/cli"
	"github.com/billrun/billrun/internal/console"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

var ctx = context.Background()

// Passwords of the test users.
const (
	financePassword = "fiona-signs-off"
	viewerPassword  = "victor-only-reads"
)

// users is a users file with a finance user and a viewer.
func users(t testing.TB) *console.Users {
	t.Helper()
	var b strings.Builder
	for _, u := range []struct {
		name     string
		role     console.Role
		password string
	}{{"fiona", console.Finance, financePassword}, {"victor", console.Viewer, viewerPassword}} {
		line, err := console.UserLine(u.name, u.role, u.password)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	us, err := console.ReadUsers("users.txt", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// testNamespace is the console tests' own Temporal namespace: the console
// starts bill runs under their real IDs (bill-run-2026-10), which must not
// meet other tests' runs.
const testNamespace = "billrun-console-test"

// month is the services of a console test: the demo catalogue, October's
// calls in the inbox, a worker, and the console over them.
type month struct {
	store   *postgres.Store
	s3      *s3store.Store
	c       client.Client
	queue   string
	console *console.Server
	url     string
	began   time.Time // the wall clock when the test began
}

func newMonth(t *testing.T) *month {
	t.Helper()
	m := &month{store: pgtest.New(t), began: time.Now()}
	pgtest.ImportDemo(t, m.store)
	m.s3 = s3test.New(t)
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "cdrs-2026-10.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.s3.Put(ctx, billing.InboxKey(cdr.Canonical, "october.csv"), bytes.NewReader(body), "text/csv", nil); err != nil {
		t.Fatal(err)
	}
	m.c = temporaltest.Namespace(t, testNamespace)
	m.queue = fmt.Sprintf("billrun-console-test-%d", time.Now().UnixNano())
	// A run of an earlier test cut short would be joined, not started.
	id := workflows.BillRunWorkflowID("2026-10")
	if d, err := m.c.DescribeWorkflowExecution(ctx, id, ""); err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() == nil {
		_ = m.c.TerminateWorkflow(ctx, id, "", "a new console test starts")
	}
	svc := billing.New(m.store, m.s3)
	w := workerapp.New(m.c, m.queue, activities.New(svc))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	store := m.store
	m.console, err = console.New(console.Deps{Billing: svc, Store: store, Temporal: m.c, TaskQueue: m.queue, Namespace: testNamespace,
		TemporalUI: "http://127.0.0.1:8233",
		Import: func(ctx context.Context, kind, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error) {
			return cli.ImportFile(ctx, store, kind, name, in, o)
		},
		ImportKinds: cli.ImportKinds(), Users: users(t), Now: m.now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.console.Handler())
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

// consoleEpoch is the console's clock at the start of a test: mid-November
// 2026, so October has ended and November has not, whatever today is.
var consoleEpoch = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

// now is the console's clock: consoleEpoch when the test began, running
// on at the wall clock's pace (sessions and throttles need time to pass).
func (m *month) now() time.Time { return consoleEpoch.Add(time.Since(m.began)) }

// thisMonth is the month on the console's clock, which has not ended.
func (m *month) thisMonth() string { return m.now().UTC().Format("2006-01") }
