package workerapp_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

// TestTheWorkerServesMetricsAndHealth runs the worker as production does
// with BILLRUN_METRICS_ADDR: /readyz answers once it polls, /metrics has the
// SDK's metrics and billrun's own after a file is ingested, and the worker
// stops when asked.
func TestTheWorkerServesMetricsAndHealth(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	s3 := s3test.New(t)
	c, queue := temporaltest.New(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := config.FromEnv()
	cfg.DatabaseURL, cfg.S3Bucket, cfg.TaskQueue, cfg.MetricsAddr, cfg.WorkerStopTimeout = pgtest.URL(t, store), s3.Bucket(), queue, addr, "5s"
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- workerapp.Run(wctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stop()
			<-done
		}
	})

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, _ := get("/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			code, body := get("/readyz")
			t.Fatalf("/readyz: %d %s", code, body)
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}

	upload(t, s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	run, err := start(t, c, queue, newServices(store, s3), workflows.IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.IngestProgress
	if err := run.Get(ctx, &p); err != nil || p.CDRs != 11 {
		t.Fatalf("%+v %v", p, err)
	}
	_, metrics := get("/metrics")
	sample := func(name string) string {
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, name+"{") {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return ""
	}
	revision, err := store.CatalogVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"billrun_cdrs_ingested": "11", "billrun_cdrs_rejected": "1", "temporal_workflow_completed": "1",
		"billrun_catalog_revision": strconv.FormatInt(revision, 10)} {
		if got := sample(name); got != want {
			t.Errorf("/metrics: %s is %q, want %s", name, got, want)
		}
	}

	stop()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("the worker stopped with %v", err)
	}
	if code, _ := get("/healthz"); code != 0 {
		t.Fatalf("the endpoint still answers after the worker stopped: %d", code)
	}
}
