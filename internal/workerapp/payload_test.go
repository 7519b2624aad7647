package workerapp_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

// TestNothingThatTravelsThroughTemporalGrowsWithTheMonth runs the same month
// at 100 and at 2,000 clients through a worker whose data converter measures
// every payload: ingestion, issued invoices, a price change rerated, the
// notes issued, and the bill run of the month again. No payload may pass
// 256 KB, and each kind's largest at 2,000 clients must be at most 1.1 × its
// largest at 100 plus 4 KB: what grows with the month lives in PostgreSQL.
func TestNothingThatTravelsThroughTemporalGrowsWithTheMonth(t *testing.T) {
	if testing.Short() {
		t.Skip("two months through the real services")
	}
	small, large := monthOf(t, 100), monthOf(t, 2000)
	for _, kind := range slices.Sorted(maps.Keys(large)) {
		if large[kind] > small[kind]*11/10+4096 {
			t.Errorf("%s grows with the month: %d bytes at 100 clients, %d at 2,000", kind, small[kind], large[kind])
		}
	}
	t.Logf("largest payloads at 100 and 2,000 clients:")
	for _, kind := range slices.Sorted(maps.Keys(large)) {
		t.Logf("  %-50s %8d %8d", kind, small[kind], large[kind])
	}
}

// monthOf bills October for n clients of the demo's retail table, three
// calls each, and returns the largest payload of each kind.
func monthOf(t *testing.T, n int) map[string]int {
	t.Helper()
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	var cl, ac, calls strings.Builder
	cl.WriteString("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n")
	ac.WriteString("client,kind,value,tech_prefix,rate_table,enabled\n")
	calls.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i := range n {
		id, ip := fmt.Sprintf("p%05d", i), fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250)
		fmt.Fprintf(&cl, "%s,Payload Client %d,EUR,Europe/Berlin,retail-eur,de-vat,1,14,default,,,true\n", id, i)
		fmt.Fprintf(&ac, "%s,ip,%s,,,true\n", id, ip)
		for k, dst := range []string{"4915112345678", "4930987654", "447700900123"} {
			fmt.Fprintf(&calls, "%s-%d,2026-10-%02d 10:%02d:00,%d,%s,,4930111111,%s,ANSWERED\n", id, k, 1+(i+k)%28, i%60, 30+k*45, ip, dst)
		}
	}
	cs, err := catalog.ReadClients("clients.csv", strings.NewReader(cl.String()))
	if err == nil {
		_, err = store.ImportClients(ctx, "clients.csv", cs)
	}
	if err != nil {
		t.Fatal(err)
	}
	as, err := catalog.ReadAccounts("accounts.csv", strings.NewReader(ac.String()))
	if err == nil {
		_, err = store.ImportAccounts(ctx, "accounts.csv", as)
	}
	if err != nil {
		t.Fatal(err)
	}
	sizes := temporaltest.NewSizes()
	c, queue := temporaltest.Measured(t, sizes)
	acts := newServices(store, s3test.New(t))
	w := workerapp.New(c, queue, activities.New(acts.billing))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	wf := workflows.Client{Client: c, TaskQueue: queue}
	upload(t, acts.s3, cdr.Canonical, "payload.csv", []byte(calls.String()))
	wait := func(name string, run client.WorkflowRun, err error, result any) {
		t.Helper()
		if err == nil {
			err = run.Get(ctx, result)
		}
		if err != nil {
			t.Fatalf("%d clients: %s: %v", n, name, err)
		}
	}
	ing, err := start(t, c, queue, acts, workflows.IngestInput{})
	wait("ingest", ing, err, nil)
	// Workflow IDs of the test's own: other packages' tests start the
	// month's runs under their real IDs in the same namespace.
	own := func(name string) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: "payload-" + name + "-" + queue, TaskQueue: queue}
	}
	inv, err := c.ExecuteWorkflow(ctx, own("invoice-run"), workflows.InvoiceRun, workflows.InvoiceRunInput{Period: "2026-10", Issue: true})
	wait("invoice run", inv, err, nil)

	rs, err := catalog.ReadRates("r.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,0.3000,2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = store.ImportRates(ctx, "r.csv", "retail-eur", rs, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	rerateOctober(t, wf, time.Now())
	adj, err := c.ExecuteWorkflow(ctx, own("adjust"), workflows.Adjust, workflows.AdjustInput{Period: "2026-10", Issue: true})
	var made workflows.AdjustResult
	wait("adjust", adj, err, &made)
	if made.Made == 0 {
		t.Fatalf("%d clients: the price change made no note", n)
	}
	// The month's bill run again, under an ID of the test's own: every
	// invoice is there already.
	br, err := c.ExecuteWorkflow(ctx, own("bill-run"), workflows.BillRun,
		workflows.BillRunInput{Period: "2026-10", Issue: true})
	if err != nil {
		t.Fatal(err)
	}
	// The demo's own clients have no calls: the run may wait on them.
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		st, err := workflows.BillRunStatusOf(ctx, c, br.GetID())
		if err == nil && st.Phase == workflows.PhaseWaiting {
			_, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: br.GetID(), UpdateName: workflows.BillRunResolveUpdate,
				Args: []any{workflows.BillRunResolve{Action: workflows.ResolveAccept, Actor: "payload test"}}, WaitForStage: client.WorkflowUpdateStageAccepted})
		}
		if err == nil && st.Phase == workflows.PhaseDone || time.Now().After(end) {
			break
		}
	}
	wait("bill run", br, nil, nil)
	sizes.Check(t)
	return sizes.Largest()
}
