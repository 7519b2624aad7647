package workerapp_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/workflows"
)

// workerBinary builds the worker once for the tests that run it as a
// process.
var workerBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "billrun-worker-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "billrun-worker")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/billrun/billrun/worker").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build worker: %v\n%s", err, out)
	}
	return bin, nil
})

// workerProcess is a worker started as its own process.
type workerProcess struct {
	cmd     *exec.Cmd
	metrics string // its ops address
	log     *bytes.Buffer
}

// startWorkerProcess starts a worker process with env, serving metrics on a
// port of its own; it is killed when the test ends.
func startWorkerProcess(t *testing.T, env []string) *workerProcess {
	t.Helper()
	bin, err := workerBinary()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{metrics: l.Addr().String(), log: &bytes.Buffer{}}
	l.Close()
	w.cmd = exec.Command(bin)
	w.cmd.Env = append(env, "BILLRUN_METRICS_ADDR="+w.metrics)
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.cmd.Process.Kill(); _ = w.cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); w.metric("billrun_catalog_revision", "") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("worker never ready:\n%s", w.log)
		}
	}
	return w
}

// metric sums the samples of the worker's metrics whose name starts with
// prefix and ends with suffix ("" for any); 0 when it does not answer.
func (w *workerProcess) metric(prefix, suffix string) float64 {
	resp, err := http.Get("http://" + w.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		series, value, ok := strings.Cut(line, " ")
		name, _, _ := strings.Cut(series, "{")
		if ok && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			v, _ := strconv.ParseFloat(value, 64)
			sum += v
		}
	}
	return sum
}

// activities is how many activities the worker has run: the count of the
// SDK's latency histogram, whatever unit its name ends in.
func (w *workerProcess) activities() float64 {
	return w.metric("temporal_activity_execution_latency", "_count")
}

// TestTwoWorkersShareAMonthAndOneMayDie: two worker processes poll one task
// queue through a month's bill run (twenty files, then issued invoices);
// both do work, one is killed mid-run, and the month ends with every call
// stored once and every invoice issued once.
func TestTwoWorkersShareAMonthAndOneMayDie(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills worker processes")
	}
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	putDemoCurrencyRight(t, store)
	s3 := s3test.New(t)
	c, queue := temporaltest.New(t)

	const files, perFile = 20, 20_000
	for f := range files { // in time order over October, as a switch writes them
		var body bytes.Buffer
		body.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
		for i := range perFile {
			n := f*perFile + i
			at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * (31 * 24 * time.Hour / (files * perFile)))
			fmt.Fprintf(&body, "w%d,%s,%d,192.0.2.10,,4930111111,49301%06d,ANSWERED\n", n, at.Format(time.DateTime), 1+n%600, n%1_000_000)
		}
		upload(t, s3, cdr.Canonical, fmt.Sprintf("switch-%02d.csv", f), body.Bytes())
	}
	env := append(os.Environ(), "DATABASE_URL="+pgtest.URL(t, store), "S3_BUCKET="+s3.Bucket(), "TEMPORAL_TASK_QUEUE="+queue)
	first, second := startWorkerProcess(t, env), startWorkerProcess(t, env)

	id := workflows.BillRunWorkflowID("2026-10") + "-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.BillRun,
		workflows.BillRunInput{Period: "2026-10", Issue: true})
	if err != nil {
		t.Fatal(err)
	}
	// Once both have ingested calls, the first dies while the run goes on.
	var firstDid, secondDid float64
	for deadline := time.Now().Add(time.Minute); first.metric("billrun_cdrs_ingested", "") == 0 || second.metric("billrun_cdrs_ingested", "") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the workers never both ingested calls:\n%s\n%s", first.log, second.log)
		}
	}
	firstDid, secondDid = first.activities(), second.activities()
	if firstDid == 0 || secondDid == 0 {
		t.Fatalf("activities run: %v and %v", firstDid, secondDid)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	d, err := c.DescribeWorkflowExecution(ctx, id, run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the run was %s before a worker died: nothing tested", st)
	}
	// The month's findings (clients without calls) may stop the run: finance accepts them.
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, nil) }()
	for accepted := false; ; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the bill run failed: %v\nsurviving worker:\n%s", err, second.log)
			}
		case <-time.After(200 * time.Millisecond):
			var st workflows.BillRunStatus
			if v, err := c.QueryWorkflow(ctx, id, "", workflows.BillRunStatusQuery); !accepted && err == nil && v.Get(&st) == nil && st.Phase == workflows.PhaseWaiting {
				resolve(t, c, id, workflows.ResolveAccept)
				accepted = true
			}
			continue
		}
		break
	}
	t.Logf("activities run: %v by the killed worker before it died (%v then by the other), %v by the other in all", firstDid, secondDid, second.activities())

	var stored, distinct int64
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*), count(DISTINCT call_id) FROM cdrs WHERE call_id LIKE 'w%'`).Scan(&stored, &distinct); err != nil {
		t.Fatal(err)
	}
	if stored != files*perFile || distinct != files*perFile {
		t.Fatalf("%d calls stored, %d distinct, of %d", stored, distinct, files*perFile)
	}
	var issued, numbers, clients, maxPerClient int64
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*), count(DISTINCT number), count(DISTINCT client), coalesce(max(n), 0)
		FROM (SELECT number, client, count(*) OVER (PARTITION BY client) AS n FROM invoices
			WHERE period = '2026-10' AND state = 'issued' AND kind = 'invoice') i`).Scan(&issued, &numbers, &clients, &maxPerClient); err != nil {
		t.Fatal(err)
	}
	if issued == 0 || numbers != issued || maxPerClient != 1 {
		t.Fatalf("%d invoices issued to %d clients with %d distinct numbers, at most %d a client", issued, clients, numbers, maxPerClient)
	}
	// Every call of the files' client's period is on its invoice, once.
	var billed, inPeriod int64
	if err := pgtest.Pool(store).QueryRow(ctx, `WITH i AS (SELECT * FROM invoices WHERE period = '2026-10' AND state = 'issued' AND kind = 'invoice'
			AND client = (SELECT client FROM accounts WHERE value = '192.0.2.10' LIMIT 1))
		SELECT (SELECT coalesce(sum(l.calls), 0) FROM invoice_lines l JOIN i ON i.id = l.invoice_id WHERE l.kind = 'usage'),
			(SELECT count(*) FROM cdrs c JOIN i ON c.connect_time >= i.period_start AND c.connect_time < i.period_end WHERE c.call_id LIKE 'w%')`).
		Scan(&billed, &inPeriod); err != nil {
		t.Fatal(err)
	}
	if billed != inPeriod || inPeriod < files*perFile*9/10 {
		t.Fatalf("the invoice of the files' client bills %d calls; %d of the %d are in its period", billed, inPeriod, files*perFile)
	}
}
