package workerapp_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

// BenchmarkAMonthThroughTheWorker ingests a new file of 100,000 calls and
// makes the month's drafts through a real worker, with the worker's
// metrics (Prometheus, through the SDK's handler) and without: what the
// metrics, activity summaries and phase attribute cost, in one run.
func BenchmarkAMonthThroughTheWorker(b *testing.B) {
	for _, metrics := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%t", metrics), func(b *testing.B) {
			store := pgtest.New(b)
			pgtest.ImportDemo(b, store)
			s3 := s3test.New(b)
			c, queue := temporaltest.New(b)
			if metrics {
				m, err := workerapp.NewMetrics(slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					b.Fatal(err)
				}
				opts, err := temporalclient.Resolve("", "")
				if err != nil {
					b.Fatal(err)
				}
				opts.MetricsHandler = m.Handler
				if c, err = temporalclient.Dial(ctx, opts, nil); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(c.Close)
			}
			acts := newServices(store, s3)
			w := workerapp.New(c, queue, activities.New(acts.billing))
			if err := w.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(w.Stop)
			rng := rand.New(rand.NewPCG(3, 4))
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				var f bytes.Buffer
				f.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
				for j := range 100_000 {
					ip := "192.0.2.10"
					if j%3 == 0 {
						ip = "198.51.100.7"
					}
					fmt.Fprintf(&f, "b%d-%d,2026-10-%02d %02d:%02d:00,%d,%s,,4930111111,49151%07d,ANSWERED\n", i, j, 1+rng.IntN(28),
						rng.IntN(24), rng.IntN(60), 1+rng.IntN(600), ip, rng.IntN(10_000_000))
				}
				upload(b, s3, cdr.Canonical, fmt.Sprintf("f%d.csv", i), f.Bytes())
				b.StartTimer()
				run, err := start(b, c, queue, acts, workflows.IngestInput{})
				if err != nil {
					b.Fatal(err)
				}
				var p workflows.IngestProgress
				if err := run.Get(ctx, &p); err != nil || p.CDRs != 100_000 {
					b.Fatalf("%+v %v", p, err)
				}
				inv, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-invoices-%d", queue, i), TaskQueue: queue},
					workflows.InvoiceRun, workflows.InvoiceRunInput{Period: "2026-10"})
				if err != nil {
					b.Fatal(err)
				}
				var ip workflows.InvoiceRunProgress
				if err := inv.Get(ctx, &ip); err != nil || ip.Invoiced == 0 {
					b.Fatalf("%+v %v", ip, err)
				}
			}
		})
	}
}
