package workerapp_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/workflows"
)

// warp makes time run fast for the workflows and the billing of one
// worker: from start on, a real second is rate seconds, counted from base.
// Workflow time stays deterministic: it is the recorded time, mapped the
// same way on every replay, and a sleep of d lasts d/rate.
type warp struct {
	interceptor.WorkerInterceptorBase
	base, start time.Time
	rate        float64
}

func (w *warp) at(real time.Time) time.Time {
	return w.base.Add(time.Duration(float64(real.Sub(w.start)) * w.rate))
}

// real is how long a sleep of d lasts; it rounds up, so that a wake-up is
// never before the instant it waits for.
func (w *warp) real(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return time.Duration(float64(d)/w.rate) + time.Millisecond
}

func (w *warp) now() time.Time { return w.at(time.Now()) }

func (w *warp) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &warpInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, w: w}
}

type warpInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	w *warp
}

func (i *warpInbound) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&warpOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}, w: i.w})
}

type warpOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	w *warp
}

func (o *warpOutbound) Now(ctx workflow.Context) time.Time { return o.w.at(o.Next.Now(ctx)) }

// Sleep is not intercepted: it makes its timer through the chain again.
func (o *warpOutbound) NewTimer(ctx workflow.Context, d time.Duration) workflow.Future {
	return o.Next.NewTimer(ctx, o.w.real(d))
}

func (o *warpOutbound) NewTimerWithOptions(ctx workflow.Context, d time.Duration, opts workflow.TimerOptions) workflow.Future {
	return o.Next.NewTimerWithOptions(ctx, o.w.real(d), opts)
}

// TestABillRunInvoicesEachClientOnceItsPeriodHasEndedOnTheRealServices: three
// clients whose October periods end on 1, 15 and 28 November, in two zones,
// with workflow time running a day every 0.4 s, so that their periods end
// seconds apart. The run starts just after the first ends, invoices it,
// sleeps in phase scheduled until the next end, and so on: three waves, a
// client each, each wave at or after its clients' end and before the next.
func TestABillRunInvoicesEachClientOnceItsPeriodHasEndedOnTheRealServices(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	clients := strings.NewReplacer(
		"America/New_York,wholesale-usd,us-none,1,", "America/New_York,wholesale-usd,us-none,15,",
		"de-vat,1,14,default,finance@initech.example,\"Am Markt 5, 04109 Leipzig\",false",
		"de-vat,28,14,default,finance@initech.example,\"Am Markt 5, 04109 Leipzig\",true",
	).Replace(string(read(t, "demo", "clients.csv")))
	cs, err := catalog.ReadClients("clients.csv", strings.NewReader(clients))
	if err == nil {
		_, err = store.ImportClients(ctx, "clients.csv", cs)
	}
	if err != nil {
		t.Fatal(err)
	}
	putDemoCurrencyRight(t, store) // else every wave would wait for finance
	// Ends in UTC: acme (Berlin, day 1) 31 Oct 23:00, globex (New York,
	// day 15) 15 Nov 05:00, initech (Berlin, day 28) 27 Nov 23:00.
	ends := []time.Time{
		time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 15, 5, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC),
	}
	w := &warp{base: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), start: time.Now(), rate: 86400 / 0.4}

	c, queue, acts := withWorker(t, store, w.now, w)

	upload(t, acts.s3, cdr.Canonical, "october.csv", []byte(`call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition
w-1,2026-10-20 18:00:00,60,192.0.2.10,,4930111111,+4915112345678,ANSWERED
w-2,2026-10-20 18:00:00,300,198.51.100.7,,12125550100,4915112345678,ANSWERED
w-3,2026-10-30 12:00:00,90,,,4934112345,4916012345678,ANSWERED
`))
	id := workflows.BillRunWorkflowID("2026-10") + "-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.BillRun,
		workflows.BillRunInput{Period: "2026-10"})
	if err != nil {
		t.Fatal(err)
	}

	// Between waves the run is scheduled, and says who is pending and when.
	var st workflows.BillRunStatus
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run never slept after its first wave: %+v", st)
		}
		v, err := c.QueryWorkflow(ctx, id, "", workflows.BillRunStatusQuery)
		if err == nil && v.Get(&st) == nil && st.Phase == workflows.PhaseScheduled {
			break
		}
	}
	if len(st.Waves) != 1 || st.Waves[0].Invoices.Invoiced != 1 || st.Invoices.Open != 2 || !st.NextWave.Equal(ends[1]) {
		t.Fatalf("scheduled after the first wave: %+v", st)
	}

	if err := run.Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Phase != workflows.PhaseDone || len(st.Waves) != 3 || st.Invoices.Invoiced != 3 || st.Invoices.Open != 0 {
		t.Fatalf("done: %+v", st)
	}
	for i, wave := range st.Waves {
		if wave.Invoices.Invoiced != 1 || wave.Started.Before(ends[i]) || (i+1 < len(ends) && !wave.Started.Before(ends[i+1])) {
			t.Fatalf("wave %d started %v, invoiced %d; the period ends %v", i+1, wave.Started, wave.Invoices.Invoiced, ends)
		}
	}
	invs, err := store.Invoices(ctx, "2026-10", "")
	if err != nil || len(invs) != 3 {
		t.Fatalf("%+v %v", invs, err)
	}
	for _, inv := range invs {
		if inv.State != "draft" || inv.Total.IsZero() || !inv.IssueDate.AddDate(0, 0, 1).After(inv.PeriodEnd) {
			t.Fatalf("%+v", inv)
		}
	}
}
