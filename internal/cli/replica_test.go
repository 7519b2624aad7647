package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

// TestReportsReadTheReplicaAndThePrimaryWhenItDoesNotAnswer runs a primary
// and a hot standby of the test's own. With replay paused on the standby,
// calls ingested on the primary are in billctl's summary without
// BILLRUN_REPLICA_DATABASE_URL and not with it; with a replica that does
// not answer, billctl warns and reads the primary.
func TestReportsReadTheReplicaAndThePrimaryWhenItDoesNotAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL servers")
	}
	bucket := s3test.New(t) // S3 first: without it, under CI=true, this fails before starting servers
	ctx := context.Background()
	db := pgtest.NewReplicated(t)
	store, url := db.Store, db.URL
	svc := billing.New(store, bucket)
	ingest := func(name, body string) {
		t.Helper()
		key := billing.InboxKey(cdr.Canonical, name)
		if _, err := svc.Objects.Put(ctx, key, bytes.NewReader([]byte(body)), "text/csv", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Ingest(ctx, key, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	october, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "cdrs-2026-10.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ingest("october.csv", string(october))
	db.Replayed(t)

	calls := func(replica string) (int64, string) {
		t.Helper()
		t.Setenv("BILLRUN_REPLICA_DATABASE_URL", replica)
		code, out, errOut := run(t, url, "--format", "json", "report", "summary", "--from", "2026-10-01", "--to", "2026-11-01", "--group-by", "month")
		var rows []struct{ Calls int64 }
		if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
			t.Fatalf("exit %d: %v\n%s%s", code, err, out, errOut)
		}
		var n int64
		for _, r := range rows {
			n += r.Calls
		}
		return n, errOut
	}
	before, _ := calls("")
	if before == 0 {
		t.Fatal("no rated calls in October")
	}
	db.Pause(t)
	var more strings.Builder
	more.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i := range 3 {
		fmt.Fprintf(&more, "replica-%d,2026-10-20 10:00:0%d,60,192.0.2.10,,4930111111,4930123456,ANSWERED\n", i, i)
	}
	ingest("more.csv", more.String())

	tests := []struct {
		name, replica string
		want          int64
		warns         bool
	}{
		{"the primary without a replica", "", before + 3, false},
		{"the replica, which has not replayed the new calls", db.StandbyURL(), before, false},
		{"the primary when the replica does not answer", fmt.Sprintf("postgres://billrun@127.0.0.1:%d/billrun", closedPort(t)), before + 3, true},
		{"the primary when the replica is no replica", url, before + 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errOut := calls(tt.replica)
			if got != tt.want {
				t.Errorf("%d calls, want %d", got, tt.want)
			}
			if warned := strings.Contains(errOut, "warning"); warned != tt.warns {
				t.Errorf("warned %v, want %v: %q", warned, tt.warns, errOut)
			}
		})
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
