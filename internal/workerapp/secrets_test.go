package workerapp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

// lockedBuffer is a log sink that goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestNoSecretReachesALogOrAWorkflowHistory: the worker runs as in
// production (workerapp.Run, debug logging) with a database password and the
// S3 secret key set, through a month's bill run that waits on findings and
// is accepted, and an issue. Neither secret is in any log line or in any
// event of any of its workflows' histories, payloads included.
func TestNoSecretReachesALogOrAWorkflowHistory(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	s3 := s3test.New(t)
	c, queue := temporaltest.New(t)
	const password = "pw-7f3a9c-do-not-leak"
	u, err := url.Parse(pgtest.URL(t, store))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password) // trust auth on the test server: accepted, unused
	secrets := []string{password, os.Getenv("AWS_SECRET_ACCESS_KEY")}
	if secrets[1] == "" {
		t.Fatal("AWS_SECRET_ACCESS_KEY is not set: the S3 secret cannot be looked for")
	}
	cfg := config.FromEnv()
	cfg.DatabaseURL, cfg.S3Bucket, cfg.TaskQueue = u.String(), s3.Bucket(), queue
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- workerapp.Run(wctx, cfg, log) }()
	t.Cleanup(func() { stop(); <-done })

	upload(t, s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	wf := workflows.Client{Client: c, TaskQueue: queue}
	id, run, _ := billRunUntilWaiting(t, c, queue)
	resolve(t, c, id, workflows.ResolveAccept)
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	issue, err := workflows.StartInvoice(ctx, wf, workflows.InvoiceInput{Client: "acme", Period: "2026-10", Issue: true})
	if err == nil {
		err = issue.Get(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}

	var events int
	var runs []string
	var next []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "TaskQueue = '" + queue + "'", NextPageToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			runs = append(runs, e.Execution.WorkflowId)
			it := c.GetWorkflowHistory(ctx, e.Execution.WorkflowId, e.Execution.RunId, false, 0)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				raw, err := proto.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				events++
				for _, s := range secrets {
					if bytes.Contains(raw, []byte(s)) {
						t.Errorf("workflow %s, event %d (%s) holds a secret", e.Execution.WorkflowId, ev.EventId, ev.EventType)
					}
				}
			}
		}
		if next = page.NextPageToken; len(next) == 0 {
			break
		}
	}
	if len(runs) < 4 || events < 50 {
		t.Fatalf("only %d runs (%s) and %d events were searched", len(runs), strings.Join(runs, ", "), events)
	}
	logged := logs.Bytes()
	if len(logged) == 0 {
		t.Fatal("the worker logged nothing")
	}
	for _, s := range secrets {
		if bytes.Contains(logged, []byte(s)) {
			t.Errorf("the worker's log holds a secret")
		}
	}
}
