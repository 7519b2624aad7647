package workerapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rerate"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

var ctx = context.Background()

func upload(t testing.TB, s3 *s3store.Store, f cdr.Format, name string, body []byte) {
	t.Helper()
	if _, err := s3.Put(ctx, billing.InboxKey(f, name), bytes.NewReader(body), "text/csv", nil); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start starts an ingestion the way billctl does: ID from the listing.
func start(t testing.TB, c client.Client, queue string, acts *services, in workflows.IngestInput) (client.WorkflowRun, error) {
	t.Helper()
	inst, bucket, pending, err := acts.billing.IngestionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return workflows.StartIngest(ctx, workflows.Client{Client: c, TaskQueue: queue}, inst, bucket, pending, in)
}

// services are what a worker of the tests works with.
type services struct {
	store   *postgres.Store
	s3      *s3store.Store
	billing *billing.Service
}

func newServices(store *postgres.Store, s3 *s3store.Store) *services {
	return &services{store: store, s3: s3, billing: billing.New(store, s3)}
}

// inProcess starts a worker in the test process on the real services, with
// the demo catalogue in a database and a bucket of the test's own.
func inProcess(t *testing.T) (client.Client, string, *services) {
	t.Helper()
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	c, queue := temporaltest.New(t)
	acts := newServices(store, s3test.New(t))
	w := workerapp.New(c, queue, activities.New(acts.billing))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, queue, acts
}

// withWorker starts a worker in the test process on the real services over
// store, with interceptors, and billing's clock when clock is not nil.
func withWorker(t *testing.T, store *postgres.Store, clock func() time.Time, icpts ...interceptor.WorkerInterceptor) (client.Client, string, *services) {
	t.Helper()
	c, queue := temporaltest.New(t)
	acts := newServices(store, s3test.New(t))
	acts.billing.Clock = clock
	acts.billing.Workflows = temporalclient.Runs{Client: c}
	wk := worker.New(c, queue, worker.Options{Interceptors: icpts})
	workerapp.Register(wk, activities.New(acts.billing))
	if err := wk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wk.Stop)
	return c, queue, acts
}

// putDemoCurrencyRight puts right the demo's one readiness error (an account
// rating globex in EUR), which makes a bill run wait: that account rates
// with the client's table.
func putDemoCurrencyRight(t *testing.T, store *postgres.Store) {
	t.Helper()
	as, err := catalog.ReadAccounts("accounts.csv", strings.NewReader("client,kind,value,tech_prefix,rate_table,enabled\nglobex,ip,198.51.100.7,0077,,true\n"))
	if err == nil {
		_, err = store.ImportAccounts(ctx, "accounts.csv", as)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// billRunUntilWaiting starts October's bill run on queue and returns once it
// waits on its findings, with its ID, run and status then.
func billRunUntilWaiting(t *testing.T, c client.Client, queue string) (string, client.WorkflowRun, workflows.BillRunStatus) {
	t.Helper()
	id := workflows.BillRunWorkflowID("2026-10") + "-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.BillRun, workflows.BillRunInput{Period: "2026-10"})
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.BillRunStatus
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.BillRunStatusQuery); err == nil && v.Get(&st) == nil && st.Phase == workflows.PhaseWaiting {
			return id, run, st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bill run never waited on its findings: %+v", st)
		}
	}
}

// resolve tells the waiting bill run id how to go on.
func resolve(t *testing.T, c client.Client, id string, action workflows.Resolution) {
	t.Helper()
	if err := c.SignalWorkflow(ctx, id, "", workflows.BillRunResolveSignal, workflows.BillRunResolve{Action: action}); err != nil {
		t.Fatal(err)
	}
}

func TestIngestWorkflowRatesTheInboxOnTheRealServices(t *testing.T) {
	c, queue, acts := inProcess(t)
	store, s3 := acts.store, acts.s3

	upload(t, s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	upload(t, s3, cdr.Asterisk, "Master.csv", read(t, "cdr", "asterisk-Master.csv"))
	upload(t, s3, cdr.FreeSWITCH, "Master.csv", read(t, "cdr", "freeswitch-Master.csv"))
	upload(t, s3, cdr.Canonical, "garbage.csv", []byte("\x00\x01\x02 not a CDR file"))
	run, err := start(t, c, queue, acts, workflows.IngestInput{Concurrency: 2, PageSize: 2}) // continues as new once
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.IngestProgress
	if err := run.Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.FilesDone != 3 || p.FilesFailed != 1 || p.CDRs != 16 || p.Rejected != 1 || len(p.Failures) != 1 ||
		!strings.Contains(p.Failures[0].Reason, "is binary") || strings.Join(period.Strings(p.Months), ",") != "2026-10" {
		t.Fatalf("%+v", p)
	}
	var n int64
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM cdrs`).Scan(&n); err != nil || n != 16 {
		t.Fatalf("%d CDRs, %v", n, err)
	}

	// What is left is the bad file: a run for that listing fails it again,
	// and once that run is done, the same listing starts nothing new.
	second, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	dup, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err != nil || dup.GetRunID() != second.GetRunID() {
		t.Fatalf("a start while the same listing runs: %v, run %s want %s", err, dup.GetRunID(), second.GetRunID())
	}
	if err := second.Get(ctx, &p); err != nil || p.FilesFailed != 1 || p.FilesDone != 0 {
		t.Fatalf("%+v %v", p, err)
	}
	third, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err != nil || third.GetRunID() != second.GetRunID() {
		t.Fatalf("a start after the same listing completed: %v, run %s want %s", err, third.GetRunID(), second.GetRunID())
	}
	keepHistories(t, c, queue, "ingest")
}

// TestAWorkerKilledMidFileLosesAndDoublesNothing kills a real worker process
// while it copies a large file, starts another, and counts the calls.
func TestAWorkerKilledMidFileLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a worker process")
	}
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	s3 := s3test.New(t)
	c, queue := temporaltest.New(t)
	acts := newServices(store, s3)

	const calls = 600_000
	var body bytes.Buffer
	body.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range calls {
		fmt.Fprintf(&body, "k%d,2026-10-%02d %02d:%02d:%02d,%d,192.0.2.10,,4930111111,49301%06d,ANSWERED\n",
			i, 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(600), rng.IntN(1_000_000))
	}
	upload(t, s3, cdr.Canonical, "big.csv", body.Bytes())

	env := append(os.Environ(), "DATABASE_URL="+pgtest.URL(t, store), "S3_BUCKET="+s3.Bucket(), "TEMPORAL_TASK_QUEUE="+queue)
	first := startWorkerProcess(t, env)
	run, err := start(t, c, queue, acts, workflows.IngestInput{HeartbeatTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Kill it once the file is being copied.
	deadline := time.Now().Add(time.Minute)
	for {
		var status string
		_ = pgtest.Pool(store).QueryRow(ctx, `SELECT status FROM cdr_files`).Scan(&status)
		if status == "ingesting" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first worker never started the file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	var mid int64
	_ = pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM cdrs`).Scan(&mid)
	if mid != 0 {
		t.Fatalf("%d CDRs visible after the crash: a half file", mid)
	}

	startWorkerProcess(t, env)
	var p workflows.IngestProgress
	if err := run.Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	var n, lines int64
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*), count(DISTINCT line) FROM cdrs`).Scan(&n, &lines); err != nil {
		t.Fatal(err)
	}
	if p.CDRs != calls || n != calls || lines != calls {
		t.Fatalf("workflow says %d CDRs; stored %d rows, %d distinct lines; want %d", p.CDRs, n, lines, calls)
	}
	if attempts := attempts(t, c, run); attempts < 2 {
		t.Fatalf("the file activity ran %d times: the kill came too late to test anything", attempts)
	}
}

// attempts is the highest attempt of the run's file activity.
func attempts(t *testing.T, c client.Client, run client.WorkflowRun) int32 {
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var max int32
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && a.Attempt > max {
			max = a.Attempt
		}
	}
	return max
}

// TestAnInvoiceRunInvoicesTheAutoinvoiceClientsOnceOnTheRealServices runs
// the month's invoice run twice: the clients with autoinvoice get one issued
// invoice each with its three documents; the second run finds them issued
// and numbers nothing more.
// TestAnInvoiceRunInvoicesTheAutoinvoiceClientsOnceOnTheRealServices, from
// the month's file delivered twice under two names: each call is stored,
// and so billed, once.
func TestAnInvoiceRunInvoicesTheAutoinvoiceClientsOnceOnTheRealServices(t *testing.T) {
	c, queue, acts := inProcess(t)
	store, s3 := acts.store, acts.s3
	upload(t, s3, cdr.Canonical, "cdrs-oct.csv", read(t, "demo", "cdrs-2026-10.csv"))
	upload(t, s3, cdr.Canonical, "cdrs-oct-fixed.csv", read(t, "demo", "cdrs-2026-10.csv"))
	run, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ingested workflows.IngestProgress
	if err := run.Get(ctx, &ingested); err != nil {
		t.Fatal(err)
	}
	var stored int64
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM cdrs`).Scan(&stored); err != nil ||
		ingested.FilesDone != 2 || ingested.CDRs != 11 || ingested.Duplicates != 11 || stored != 11 {
		t.Fatalf("ingested %+v, %d stored, %v", ingested, stored, err)
	}
	for i := range 2 {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.InvoiceRunWorkflowID("2026-10"), TaskQueue: queue},
			workflows.InvoiceRun, workflows.InvoiceRunInput{Period: "2026-10", Issue: true, BatchSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		var p workflows.InvoiceRunProgress
		if err := run.Get(ctx, &p); err != nil {
			t.Fatal(err)
		}
		// acme and globex have autoinvoice; initech has not.
		if p.Clients != 2 || p.Invoiced != 2 || p.Skipped != 0 || p.ConflictCount != 0 {
			t.Fatalf("run %d: %+v", i+1, p)
		}
	}
	invs, err := store.Invoices(ctx, "2026-10", "")
	if err != nil {
		t.Fatal(err)
	}
	var got, numbers []string
	for _, inv := range invs {
		got = append(got, fmt.Sprintf("%s %s %d documents", inv.Client, inv.State, len(inv.Documents)))
		numbers = append(numbers, inv.Number)
	}
	slices.Sort(numbers) // the two batches ran at once: either may come first
	if want := "acme issued 3 documents,globex issued 3 documents"; strings.Join(got, ",") != want ||
		strings.Join(numbers, ",") != "INV-2026-000001,INV-2026-000002" {
		t.Fatalf("invoices %q, numbers %v", strings.Join(got, ","), numbers)
	}
	objs, err := s3.List(ctx, "invoices/")
	if err != nil || len(objs) != 6 {
		t.Fatalf("%d documents, %v", len(objs), err)
	}
	keepHistories(t, c, queue, "invoice-run")
}

// TestARerateTakesOverThePeriodOfARunThatWasTerminated: a rerate recorded as
// running holds its period while its workflow runs; once that workflow is
// terminated (as from the Temporal UI), the next rerate goes ahead without
// a manual release.
func TestARerateTakesOverThePeriodOfARunThatWasTerminated(t *testing.T) {
	c, queue, acts := inProcess(t)
	store := acts.store
	october, november := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// A workflow that stays open: no worker polls its queue.
	held, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rerate-held-" + queue, TaskQueue: queue + "-nobody"}, "Held")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.BeginRerate(ctx, held.GetID(), october, november, "", string(rerate.All)); err != nil {
		t.Fatal(err)
	}
	in := workflows.RerateInput{From: october, To: november, Match: rerate.All}
	rerateRun := func(id string) error {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id + "-" + queue, TaskQueue: queue}, workflows.Rerate, in)
		if err != nil {
			t.Fatal(err)
		}
		return run.Get(ctx, nil)
	}
	var app *temporal.ApplicationError
	if err := rerateRun("while-held"); !errors.As(err, &app) || app.Type() != activities.ErrRerateRunning {
		t.Fatalf("a rerate while the holder runs: %v", err)
	}
	if err := c.TerminateWorkflow(ctx, held.GetID(), "", "stuck"); err != nil {
		t.Fatal(err)
	}
	if err := rerateRun("after-terminate"); err != nil {
		t.Fatalf("a rerate after the holder was terminated: %v", err)
	}
	var state string
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT state FROM rerate_runs WHERE id = $1`, held.GetID()).Scan(&state); err != nil || state != "failed" {
		t.Fatalf("the terminated run is %q, %v", state, err)
	}
}

// TestABillRunWaitsForFinanceThenInvoicesOnTheRealServices: the demo month
// has a readiness error and mismatched calls, so the run waits; an account
// is added for the unknown caller and the run is resolved with a rerate,
// which matches that call and waits again on what is left; accepted, it
// invoices the autoinvoice clients. Finance resolves through a signal
// (what schedules and scripts send) or an update (what billctl run resolve
// sends); both histories are kept.
func TestABillRunWaitsForFinanceThenInvoicesOnTheRealServices(t *testing.T) {
	for _, r := range []struct {
		name, history string
		update        bool
	}{{"resolved by signals", "bill-run", false}, {"resolved by updates", "bill-run-update", true}} {
		t.Run(r.name, func(t *testing.T) { billRunWaitsForFinance(t, r.history, r.update) })
	}
}

func billRunWaitsForFinance(t *testing.T, history string, update bool) {
	c, queue, acts := inProcess(t)
	resolveBy := func(id string, action workflows.Resolution) {
		t.Helper()
		if !update {
			resolve(t, c, id, action)
			return
		}
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.BillRunResolveUpdate,
			Args: []any{workflows.BillRunResolve{Action: action}}, WaitForStage: client.WorkflowUpdateStageAccepted})
		if err != nil {
			t.Fatal(err)
		}
		if action == workflows.ResolveAccept { // answered once the run has moved on
			var st workflows.BillRunStatus
			if err := h.Get(ctx, &st); err != nil {
				t.Fatal(err)
			}
		}
	}
	upload(t, acts.s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	id := workflows.BillRunWorkflowID("2026-10") + "-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.BillRun,
		workflows.BillRunInput{Period: "2026-10"})
	if err != nil {
		t.Fatal(err)
	}
	waiting := func(reratings int) workflows.BillRunStatus {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			v, err := c.QueryWorkflow(ctx, id, "", workflows.BillRunStatusQuery)
			var st workflows.BillRunStatus
			if err == nil && v.Get(&st) == nil && st.Phase == workflows.PhaseWaiting && len(st.Reratings) == reratings {
				return st
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("the bill run never waited")
		return workflows.BillRunStatus{}
	}
	st := waiting(0)
	if st.Ingest.CDRs == 0 || st.Errors != 1 || !st.Mismatched || !strings.Contains(fmt.Sprint(st.Findings), "unknown_account: 1") {
		t.Fatalf("first check: %+v", st)
	}
	as, err := catalog.ReadAccounts("accounts.csv", strings.NewReader("client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,203.0.113.99,,,true\n"))
	if err == nil {
		_, err = acts.store.ImportAccounts(ctx, "accounts.csv", as)
	}
	if err != nil {
		t.Fatal(err)
	}
	resolveBy(id, workflows.ResolveRerate)
	st = waiting(1)
	if r := st.Reratings[0]; r.NewlyMatched != 1 || r.StillMismatched != 1 || strings.Contains(fmt.Sprint(st.Findings), "unknown_account") {
		t.Fatalf("after the rerate: %+v", st)
	}
	resolveBy(id, workflows.ResolveAccept)
	if err := run.Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Phase != workflows.PhaseDone || !st.Accepted || st.Invoices.Invoiced != 2 {
		t.Fatalf("done: %+v", st)
	}
	invs, err := acts.store.Invoices(ctx, "2026-10", "")
	if err != nil || len(invs) != 2 || invs[0].State != "draft" {
		t.Fatalf("%+v %v", invs, err)
	}
	keepHistories(t, c, queue, history)
}

// TestIssuingAndVoidingRunAsWorkflowsOnTheRealServices: billctl's invoice
// issue and void are InvoiceState runs; issuing twice keeps one number, and
// voiding keeps it too. The issued documents are written once, under the
// number, and stay as written: voiding adds a notice beside them.
func TestIssuingAndVoidingRunAsWorkflowsOnTheRealServices(t *testing.T) {
	c, queue, acts := inProcess(t)
	wf := workflows.Client{Client: c, TaskQueue: queue}
	run, err := workflows.StartInvoice(ctx, wf, workflows.InvoiceInput{Client: "acme", Period: "2026-10", AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	var created workflows.InvoiceResult
	if err := run.Get(ctx, &created); err != nil || created.Number != "" {
		t.Fatalf("draft %+v %v", created, err)
	}
	change := func(void bool) workflows.InvoiceStateResult {
		t.Helper()
		run, err := workflows.StartInvoiceState(ctx, wf, workflows.InvoiceStateInput{Invoice: created.ID, Void: void})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.InvoiceStateResult
		if err := run.Get(ctx, &res); err != nil || res.ID != created.ID || res.Documents["pdf"] == "" {
			t.Fatalf("%+v %v", res, err)
		}
		return res
	}
	// Three callers at once (issue 12's sixth finding): one run, joined by
	// the others, and all see it succeed.
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			run, err := workflows.StartInvoiceState(ctx, wf, workflows.InvoiceStateInput{Invoice: created.ID})
			var res workflows.InvoiceStateResult
			if err == nil {
				err = run.Get(ctx, &res)
			}
			if err == nil && res.ID != created.ID {
				err = fmt.Errorf("issued %s, not %s", res.ID, created.ID)
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("a concurrent issue: %v", err)
		}
	}
	issued, err := acts.store.Invoice(ctx, created.ID)
	if err != nil || issued.State != "issued" || issued.Number == "" {
		t.Fatalf("after issue: %+v %v", issued, err)
	}
	change(false) // a second issue is the same invoice with the same number
	if again, _ := acts.store.Invoice(ctx, issued.Number); again.Number != issued.Number || again.ID != created.ID {
		t.Fatalf("issued again: %+v", again)
	}
	if !strings.HasSuffix(issued.Documents["pdf"], "/"+issued.Number+".pdf") || len(issued.Sums) != 3 {
		t.Fatalf("issued documents: %v %v", issued.Documents, issued.Sums)
	}
	change(true)
	voided, err := acts.store.Invoice(ctx, created.ID)
	if err != nil || voided.State != "void" || voided.Number != issued.Number {
		t.Fatalf("after void: %+v %v", voided, err)
	}
	if fmt.Sprint(voided.Documents, voided.Sums) != fmt.Sprint(issued.Documents, issued.Sums) {
		t.Fatalf("voiding changed the issued documents: %v %v", voided.Documents, voided.Sums)
	}
	checks, err := acts.billing.Verify(ctx, []invoice.Stored{voided})
	if err != nil || len(checks) != 3 {
		t.Fatal(checks, err)
	}
	for _, c := range checks {
		if c.Status != "ok" {
			t.Fatalf("the issued %s was rewritten: %+v", c.Document, c)
		}
	}
	body, _, err := acts.s3.Open(ctx, strings.TrimSuffix(strings.TrimPrefix(voided.Documents["json"], "s3://"+acts.s3.Bucket()+"/"), ".json")+".void.json")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	js, _ := io.ReadAll(body)
	if !strings.Contains(string(js), `"void"`) || !strings.Contains(string(js), issued.Number) {
		t.Fatalf("the void notice: %s", js)
	}
	keepHistories(t, c, queue, "invoice-state")
}

// TestIssuedDocumentsNeverChange: after an invoice is issued, its calls are
// rerated and the month invoiced again; the invoice run leaves the issued
// documents as they were written, and verify finds a changed one.
func TestIssuedDocumentsNeverChange(t *testing.T) {
	c, queue, acts := inProcess(t)
	wf := workflows.Client{Client: c, TaskQueue: queue}
	upload(t, acts.s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	run, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err == nil {
		err = run.Get(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	invoiceRun := func() {
		t.Helper()
		run, err := workflows.StartInvoiceRun(ctx, wf, workflows.InvoiceRunInput{Period: "2026-10", Issue: true})
		if err == nil {
			err = run.Get(ctx, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	invoiceRun()
	before, err := acts.store.Invoices(ctx, "2026-10", "acme")
	if err != nil || len(before) != 1 || before[0].Number == "" {
		t.Fatalf("%+v %v", before, err)
	}
	// The rates change and the calls are rerated: the CSV would now differ.
	if _, err := acts.store.DeleteRate(ctx, "retail-eur", "4930", time.Time{}); err != nil {
		t.Fatal(err)
	}
	rerateOctober(t, wf, time.Now())
	invoiceRun()
	after, err := acts.store.Invoice(ctx, before[0].ID)
	if err != nil || fmt.Sprint(after.Documents, after.Sums) != fmt.Sprint(before[0].Documents, before[0].Sums) {
		t.Fatalf("the issued documents were written again: %v %v", after.Documents, after.Sums)
	}
	checks, err := acts.billing.Verify(ctx, []invoice.Stored{after})
	for _, c := range checks {
		if err != nil || c.Status != "ok" {
			t.Fatalf("%+v %v", c, err)
		}
	}
	// Not even a bug can overwrite them; a document changed behind billrun's back is found.
	key := strings.TrimPrefix(after.Documents["csv"], "s3://"+acts.s3.Bucket()+"/")
	if _, err := acts.s3.PutNew(ctx, key, strings.NewReader("forged"), "text/csv"); err == nil {
		t.Fatal("an issued document was overwritten")
	}
	if _, err := acts.s3.Put(ctx, key, strings.NewReader("forged"), "text/csv", nil); err != nil {
		t.Fatal(err)
	}
	checks, _ = acts.billing.Verify(ctx, []invoice.Stored{after})
	if checks[2].Document != "csv" || checks[2].Status != "changed" || checks[0].Status != "ok" {
		t.Fatalf("%+v", checks)
	}
	if err := acts.s3.Delete(ctx, strings.TrimPrefix(after.Documents["pdf"], "s3://"+acts.s3.Bucket()+"/")); err != nil {
		t.Fatal(err)
	}
	if checks, err = acts.billing.Verify(ctx, []invoice.Stored{after}); err != nil || checks[0].Status != "missing" {
		t.Fatalf("a deleted PDF: %+v %v", checks, err)
	}
}

// TestARateFixAfterTheIssueMakesACreditNote: acme's October is issued; its
// mobile rate (0.08) is then corrected to 0.05 and the month rerated. Adjust
// makes a credit note that names the invoice, numbered from its own
// sequence; the invoice and the note then add up to the invoice recomputed,
// so a second adjust makes nothing.
func TestARateFixAfterTheIssueMakesACreditNote(t *testing.T) {
	c, queue, acts := inProcess(t)
	wf := workflows.Client{Client: c, TaskQueue: queue}
	upload(t, acts.s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	if run, err := start(t, c, queue, acts, workflows.IngestInput{}); err != nil || run.Get(ctx, nil) != nil {
		t.Fatal(err)
	}
	issue, err := workflows.StartInvoice(ctx, wf, workflows.InvoiceInput{Client: "acme", Period: "2026-10", Issue: true})
	var issued workflows.InvoiceResult
	if err == nil {
		err = issue.Get(ctx, &issued)
	}
	if err != nil || issued.Number != "INV-2026-000001" {
		t.Fatalf("%+v %v", issued, err)
	}
	adjust := func(client ...string) workflows.AdjustResult {
		t.Helper()
		who := "acme"
		if len(client) > 0 {
			who = client[0]
		}
		run, err := workflows.StartAdjust(ctx, wf, workflows.AdjustInput{Period: "2026-10", Client: who, Issue: true})
		var res workflows.AdjustResult
		if err == nil {
			err = run.Get(ctx, &res)
		}
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := adjust(); res.Invoices != 1 || res.Made != 0 || len(notesOf(t, acts, res)) != 0 {
		t.Fatalf("a note with nothing changed: %+v", res)
	}
	rs, err := catalog.ReadRates("fix.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,0.0500,2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = acts.store.ImportRates(ctx, "fix.csv", "acme-special", rs, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	rerateOctober(t, wf, time.Now())
	// Two mobile calls: 61 s and 60 s at 0.08 = 0.161333 → 0.16; at 0.05 = 0.100833 → 0.10: -0.06, VAT 19 % -0.01.
	res := adjust()
	made := notesOf(t, acts, res)
	if len(made) != 1 || made[0].Kind != "credit_note" || made[0].Number != "CN-2026-000001" || made[0].Total != "-0.07" ||
		made[0].Invoice != issued.Number || res.Made != 1 || res.Rendered != 1 {
		t.Fatalf("%+v %+v", res, made)
	}
	note, err := acts.store.Invoice(ctx, made[0].NoteID)
	if err != nil || note.Kind != "credit_note" || note.Corrects == nil || note.Corrects.Number != issued.Number || note.State != "issued" ||
		len(note.Lines) != 1 || note.Lines[0].Amount.StringFixed(2) != "-0.06" || len(note.Documents) != 3 {
		t.Fatalf("%+v %v", note, err)
	}
	body, _, err := acts.s3.Open(ctx, strings.TrimPrefix(note.Documents["json"], "s3://"+acts.s3.Bucket()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var doc map[string]any
	if err := json.NewDecoder(body).Decode(&doc); err != nil || doc["kind"] != "credit_note" ||
		doc["corrects"].(map[string]any)["number"] != issued.Number || doc["total"] != "-0.07" {
		t.Fatalf("the note's JSON: %v %v", doc, err)
	}
	csv, _, err := acts.s3.Open(ctx, strings.TrimPrefix(note.Documents["csv"], "s3://"+acts.s3.Bucket()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	defer csv.Close()
	changed, _ := io.ReadAll(csv)
	if rows := strings.Split(strings.TrimSpace(string(changed)), "\n"); len(rows) != 3 || !strings.Contains(rows[1], ",0.081333,0.050833,-0.030500,EUR") {
		t.Fatalf("the note's calls:\n%s", changed)
	}
	// Every client's, a range at a time: acme's invoice and note add up.
	if again := adjust(""); again.Made != 0 || again.Invoices != 1 {
		t.Fatalf("the invoice and its note do not add up to the recomputation: %+v %+v", again, notesOf(t, acts, again))
	}
	keepHistories(t, c, queue, "rate-fix")
}

// rerateOctober rerates every call around October, as a run started at.
func rerateOctober(t *testing.T, wf workflows.Client, at time.Time) {
	t.Helper()
	rr, err := workflows.StartRerate(ctx, wf, workflows.RerateInput{From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Match: rerate.All}, at)
	if err == nil {
		err = rr.Get(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestOneStrayDateDoesNotKillTheIngestion: calls of 1970 and 9999 beside
// October's once made the run's list of months (every month between) too
// long for Temporal's search attribute, and the run was terminated. Such
// dates are rejected lines now; calls of 2001 and 2099 are stored, and the
// run lists the months its calls are in (capped: searchMonths).
func TestOneStrayDateDoesNotKillTheIngestion(t *testing.T) {
	c, queue, acts := inProcess(t)
	upload(t, acts.s3, cdr.Canonical, "stray.csv", []byte(`call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition
a,2026-10-05 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED
b,2001-01-01 00:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED
c,2099-12-31 23:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED
d,2026-10-05 11:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED
e,2026-10-05 12:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED
f,1970-01-01 00:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED
`))
	run, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.IngestProgress
	if err := run.Get(ctx, &p); err != nil || p.FilesDone != 1 || p.CDRs != 5 || p.Rejected != 1 || len(p.Months) != 3 {
		t.Fatalf("%+v %v", p, err)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	listed := desc.WorkflowExecutionInfo.SearchAttributes.IndexedFields[workflows.PeriodsAttr.GetName()]
	if listed == nil || len(listed.Data) > 2048 || !strings.Contains(string(listed.Data), "2001-01") || !strings.Contains(string(listed.Data), "2099-12") {
		t.Fatalf("the run's months: %v", listed)
	}
}

// notesOf reads back the notes an adjust made, as billctl does.
func notesOf(t *testing.T, acts *services, res workflows.AdjustResult) []billing.Adjusted {
	t.Helper()
	notes, more, err := acts.billing.NotesMadeBy(ctx, res.MadeBy, 0, 10_000)
	if err != nil || more {
		t.Fatalf("the notes of %s: %v (more: %v)", res.MadeBy, err, more)
	}
	return notes
}
