package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/internal/rerate"
)

var (
	mismatch = readiness.Finding{Severity: readiness.Warning, Client: "acme", Check: readiness.CheckMismatches, Message: "mismatched"}
	noCalls  = readiness.Finding{Severity: readiness.Warning, Client: "acme", Check: "traffic", Message: "no calls"}
	badTable = readiness.Finding{Severity: readiness.Error, Client: "acme", Check: "currency", Message: "wrong currency"}
)

// billRunEnv mocks a bill run's steps: each readiness check returns the next
// of checks (the last one again when they run out).
type billRunEnv struct {
	env       *testsuite.TestWorkflowEnvironment
	checks    [][]readiness.Finding
	checked   int
	ingested  []IngestInput
	reratings []RerateInput
	invoiced  []InvoiceRunInput // with Now left out: it is in nows
	nows      []time.Time
	// waves are what the invoice runs return, in turn; then a run with
	// every period ended.
	waves []InvoiceRunProgress
	// adjustments are what each rerate finds in issued invoices; adjusted
	// the notes asked for.
	adjustments []rerate.Adjustment
	adjusted    []AdjustInput
	records     []activities.RecordBillRunInput // the audit record as written, each time
	// rerateErrs fail the rerates in turn; then they succeed.
	rerateErrs []error
}

var accounted = []report.ReconcileRow{{Currency: "EUR", Reason: report.ReasonNotInvoiced, Calls: 3, Amount: decimal.RequireFromString("1.5")},
	{Currency: "EUR", Reason: report.ReasonInvoiced, Calls: 7, Amount: decimal.RequireFromString("4.25")}}

var span = activities.Span{From: time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}

func newBillRunEnv(t *testing.T, checks ...[]readiness.Finding) *billRunEnv {
	var s testsuite.WorkflowTestSuite
	b := &billRunEnv{env: s.NewTestWorkflowEnvironment(), checks: checks}
	var a *activities.Activities
	b.env.RegisterActivity(a)
	b.env.RegisterWorkflow(Ingest)
	b.env.RegisterWorkflow(Rerate)
	b.env.RegisterWorkflow(InvoiceRun)
	b.env.OnActivity(a.PeriodSpan, mock.Anything, period.Month("2026-10")).Return(span, nil)
	b.env.OnActivity(a.ReconcileTotals, mock.Anything, period.Month("2026-10")).Return(accounted, nil)
	b.env.OnActivity(a.RecordBillRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RecordBillRunInput) error {
		b.records = append(b.records, in)
		return nil
	})
	b.env.OnActivity(a.ReadinessDigest, mock.Anything, activities.ReadinessInput{Period: "2026-10"}).Return(
		func(context.Context, activities.ReadinessInput) (readiness.Digest, error) {
			fs := b.checks[min(b.checked, len(b.checks)-1)]
			b.checked++
			d := readiness.NewDigest(fs, billing.MaxDigestFindings)
			for _, f := range fs {
				if f.Check == readiness.CheckMismatches {
					if d.Categories == nil {
						d.Categories = map[string]int64{}
					}
					d.Categories["unknown_account"]++
				}
			}
			return d, nil
		})
	b.env.OnWorkflow(Ingest, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in IngestInput) (IngestProgress, error) {
		b.ingested = append(b.ingested, in)
		return IngestProgress{FilesDone: 2, CDRs: 10}, nil
	})
	b.env.OnWorkflow(Rerate, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in RerateInput) (RerateResult, error) {
		b.reratings = append(b.reratings, in)
		if len(b.rerateErrs) > 0 {
			err := b.rerateErrs[0]
			b.rerateErrs = b.rerateErrs[1:]
			return RerateResult{}, err
		}
		var tally rerate.Tally
		tally.Merge(rerate.Summary{Adjustments: b.adjustments})
		return RerateResult{Days: 36, Summary: rerate.Summary{Examined: 5, Changed: 3, Months: tally.Summary().Months}}, nil
	})
	b.env.RegisterWorkflow(Adjust)
	b.env.OnWorkflow(Adjust, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in AdjustInput) (AdjustResult, error) {
		b.adjusted = append(b.adjusted, in)
		return AdjustResult{MadeBy: in.MadeBy, Invoices: 2, Made: 2}, nil
	})
	b.env.OnWorkflow(InvoiceRun, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in InvoiceRunInput) (InvoiceRunProgress, error) {
		if !in.Now.Equal(workflow.Now(ctx)) {
			return InvoiceRunProgress{}, fmt.Errorf("the invoice run decides at %s, not now (%s)", in.Now, workflow.Now(ctx))
		}
		b.nows = append(b.nows, in.Now)
		in.Now = time.Time{}
		b.invoiced = append(b.invoiced, in)
		if len(b.waves) > 0 {
			p := b.waves[0]
			b.waves = b.waves[1:]
			return p, nil
		}
		return InvoiceRunProgress{Clients: 3, Invoiced: 2, Skipped: 1}, nil
	})
	return b
}

// status asks the running workflow for its status.
func (b *billRunEnv) status(t *testing.T) BillRunStatus {
	v, err := b.env.QueryWorkflow(BillRunStatusQuery)
	require.NoError(t, err)
	var st BillRunStatus
	require.NoError(t, v.Get(&st))
	return st
}

// resolveWhenWaiting sends resolutions, one each time the run waits.
func (b *billRunEnv) resolveWhenWaiting(t *testing.T, actions ...Resolution) {
	for i, action := range actions {
		b.env.RegisterDelayedCallback(func() {
			st := b.status(t)
			require.Equal(t, PhaseWaiting, st.Phase, "resolution %d", i)
			b.env.SignalWorkflow(BillRunResolveSignal, BillRunResolve{Action: action})
		}, time.Duration(i+1)*time.Hour)
	}
}

func (b *billRunEnv) result(t *testing.T) BillRunStatus {
	require.NoError(t, b.env.GetWorkflowError())
	var st BillRunStatus
	require.NoError(t, b.env.GetWorkflowResult(&st))
	return st
}

func TestABillRunWithoutFindingsThatBlockGoesStraightToInvoices(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{noCalls})
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10", Issue: true, Template: "extended", CDRTimeZone: "Europe/Berlin"})
	st := b.result(t)
	require.Equal(t, PhaseDone, st.Phase)
	require.Equal(t, []IngestInput{{TimeZone: "Europe/Berlin"}}, b.ingested)
	require.Equal(t, 1, b.checked)
	require.Empty(t, b.reratings)
	require.Equal(t, []InvoiceRunInput{{Period: "2026-10", Issue: true, Template: "extended"}}, b.invoiced)
	require.Equal(t, 0, st.Errors)
	require.Equal(t, 1, st.Warnings)
	require.Equal(t, int64(10), st.Ingest.CDRs)
	require.Equal(t, 2, st.Invoices.Invoiced)
	require.Equal(t, span.From, st.From)
	require.Len(t, st.Accounted, 2, "the status accounts for every call of the period")
	require.True(t, st.Accounted[0].Amount.Equal(accounted[0].Amount))
}

func TestABillRunWaitsOnMismatchesAndRerateResolvesThem(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{mismatch}, []readiness.Finding{mismatch}, nil)
	b.resolveWhenWaiting(t, ResolveRerate, ResolveRerate)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	st := b.result(t)
	require.Equal(t, PhaseDone, st.Phase)
	require.Equal(t, 3, b.checked, "checked once, then after each rerate")
	want := RerateInput{From: span.From, To: span.To, Match: rerate.MismatchedOrStale}
	require.Equal(t, []RerateInput{want, want}, b.reratings)
	require.Len(t, st.Reratings, 2)
	require.False(t, st.Accepted)
	require.False(t, st.Mismatched)
	require.Empty(t, st.Categories, "the last check's mismatch counts, not an earlier check's")
	require.Len(t, b.invoiced, 1)
}

func TestABillRunWaitsOnErrorsUntilAccepted(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{badTable, mismatch})
	b.resolveWhenWaiting(t, Resolution("bogus"), ResolveAccept)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	st := b.result(t)
	require.Equal(t, PhaseDone, st.Phase)
	require.True(t, st.Accepted)
	require.Equal(t, 1, st.Errors)
	require.True(t, st.Mismatched)
	require.Equal(t, []readiness.Finding{badTable, mismatch}, st.Findings)
	require.Empty(t, b.reratings)
	require.Len(t, b.invoiced, 1)
}

func TestABillRunThatNobodyResolvesInvoicesNothing(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{badTable})
	b.env.RegisterDelayedCallback(func() {
		require.Equal(t, PhaseWaiting, b.status(t).Phase)
		b.env.CancelWorkflow()
	}, 24*time.Hour)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	require.Error(t, b.env.GetWorkflowError())
	require.Empty(t, b.invoiced)
}

func TestABillRunRefusesAPeriodThatIsNotAMonth(t *testing.T) {
	b := newBillRunEnv(t, nil)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-13"})
	require.ErrorContains(t, b.env.GetWorkflowError(), "not YYYY-MM")
	require.Equal(t, 0, b.checked)
}

func TestAScheduledBillRunBillsTheMonthBeforeInItsTimeZone(t *testing.T) {
	tests := []struct {
		name, zone string
		at         time.Time
		want       string
		nominal    time.Time // the schedule's action time, when a schedule started it
	}{
		{"early in a month", "Europe/Berlin", time.Date(2026, 11, 2, 5, 30, 0, 0, time.UTC), "2026-10", time.Time{}},
		{"already the next month in the zone", "Asia/Tokyo", time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), "2026-11", time.Time{}},
		{"the same instant in UTC", "", time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), "2026-10", time.Time{}},
		{"January bills December", "UTC", time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC), "2026-12", time.Time{}},
		{"an action run a second before its nominal midnight bills by its nominal time", "UTC",
			time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), "2026-11", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"an action caught up a month late bills by its nominal time", "Europe/Berlin",
			time.Date(2027, 1, 2, 6, 0, 0, 0, time.UTC), "2026-11", time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(tt.at)
			if !tt.nominal.IsZero() {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStartTime.ValueSet(tt.nominal))))
			}
			env.RegisterWorkflow(BillRun)
			var got BillRunInput
			env.OnWorkflow(BillRun, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BillRunInput) (BillRunStatus, error) {
				got = in
				return BillRunStatus{Phase: PhaseDone}, nil
			})
			var childID string
			env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
				childID = info.WorkflowExecution.ID
			})
			env.ExecuteWorkflow(ScheduledBillRun, ScheduledBillRunInput{TimeZone: tt.zone, Issue: true})
			require.NoError(t, env.GetWorkflowError())
			var id string
			require.NoError(t, env.GetWorkflowResult(&id))
			require.Equal(t, BillRunWorkflowID(period.Month(tt.want)), id)
			require.Equal(t, id, childID)
			require.Equal(t, BillRunInput{Period: period.Month(tt.want), Issue: true, StartedBy: "default-test-workflow-id"}, got, "started by the schedule's run")
		})
	}
}

func TestAScheduledBillRunRefusesAnUnknownTimeZone(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BillRun)
	env.ExecuteWorkflow(ScheduledBillRun, ScheduledBillRunInput{TimeZone: "Mars/Olympus"})
	require.ErrorContains(t, env.GetWorkflowError(), "Mars/Olympus")
}

// TestABillRunInvoicesEachClientOnceItsPeriodHasEnded spans invoice days 1,
// 15 and 28: the first wave leaves two clients open, the run sleeps until
// the first of them ends, invoices it in a second wave, sleeps again and
// invoices the last; each wave ingests and checks again.
func TestABillRunInvoicesEachClientOnceItsPeriodHasEnded(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{noCalls})
	day15 := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	day28 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	b.env.SetStartTime(time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC))
	b.waves = []InvoiceRunProgress{
		{Clients: 3, Invoiced: 1, Open: 2, NextEnd: day15},
		{Clients: 3, Invoiced: 1, Earlier: 1, Open: 1, NextEnd: day28},
		{Clients: 3, Invoiced: 1, Earlier: 2},
	}
	start := b.env.Now()
	var scheduled []BillRunStatus
	b.env.RegisterDelayedCallback(func() { scheduled = append(scheduled, b.status(t)) }, day15.Sub(start)-time.Hour)
	b.env.RegisterDelayedCallback(func() { scheduled = append(scheduled, b.status(t)) }, day28.Sub(start)-time.Hour)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	st := b.result(t)
	require.Equal(t, PhaseDone, st.Phase)
	require.Len(t, b.ingested, 3, "each wave ingests the inbox again")
	require.Equal(t, 3, b.checked, "and checks it again")
	require.Len(t, b.nows, 3)
	require.False(t, b.nows[1].Before(day15), "the second wave starts once the period of day 15 has ended")
	require.False(t, b.nows[2].Before(day28))
	require.True(t, b.invoiced[0].EndedAfter.IsZero())
	require.Equal(t, b.nows[0], b.invoiced[1].EndedAfter, "a wave leaves alone the clients the one before decided")
	require.Equal(t, b.nows[1], b.invoiced[2].EndedAfter)
	require.Len(t, st.Waves, 3)
	require.Equal(t, 3, st.Invoices.Invoiced)
	require.Equal(t, 0, st.Invoices.Open)
	require.Len(t, scheduled, 2)
	require.Equal(t, PhaseScheduled, scheduled[0].Phase)
	require.Equal(t, day15, scheduled[0].NextWave)
	require.Equal(t, 1, scheduled[0].Invoices.Invoiced)
	require.Equal(t, day28, scheduled[1].NextWave)
	require.Equal(t, 2, scheduled[1].Invoices.Invoiced)
}

// TestARerateThatTouchesIssuedInvoicesMakesTheirNotesAsDrafts: the rerate
// asked for changes calls of two issued invoices of September (one client
// twice over): the notes of September are asked for once, for every client,
// as drafts named by the run, and the run counts them.
func TestARerateThatTouchesIssuedInvoicesMakesTheirNotesAsDrafts(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{mismatch}, nil)
	b.adjustments = []rerate.Adjustment{
		{Invoice: rerate.Invoice{ID: "i1", Number: "INV-1", Client: "acme", Period: "2026-09"}, Amount: -5},
		{Invoice: rerate.Invoice{ID: "i1", Number: "INV-1", Client: "acme", Period: "2026-09"}, Amount: -1},
		{Invoice: rerate.Invoice{ID: "i2", Number: "INV-2", Client: "globex", Period: "2026-09"}, Amount: 3},
	}
	b.resolveWhenWaiting(t, ResolveRerate)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	st := b.result(t)
	require.Equal(t, PhaseDone, st.Phase)
	require.Equal(t, []AdjustInput{{Period: "2026-09", MadeBy: st.NotesBy}}, b.adjusted)
	require.NotEmpty(t, st.NotesBy)
	require.Equal(t, 2, st.NotesMade)
	require.Empty(t, st.Notes, "the notes are read back from PostgreSQL, not carried")
}

// TestARerateThatFailsPartWayLeavesTheRunWaitingAndItsNotesAreMadeNext: a
// rerate that fails after it began is said so, with the command that shows
// what it did, never "did not run"; the run waits, and once the next rerate
// finishes, the notes of every month of the run's span are made, since the
// failed one changed calls nobody counted.
func TestARerateThatFailsPartWayLeavesTheRunWaitingAndItsNotesAreMadeNext(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{mismatch}, []readiness.Finding{mismatch}, nil)
	b.rerateErrs = []error{temporal.NewApplicationError("payload too large", "PanicError")}
	var failure string
	b.resolveWhenWaiting(t, ResolveRerate, ResolveRerate)
	b.env.RegisterDelayedCallback(func() { failure = b.status(t).RerateFailure }, 2*time.Hour)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	st := b.result(t)
	require.Equal(t, PhaseDone, st.Phase)
	require.Contains(t, failure, "failed part way")
	require.Contains(t, failure, "billctl rerate show rerate-")
	require.NotContains(t, failure, "did not run")
	require.Len(t, b.reratings, 2)
	require.Equal(t, []AdjustInput{{Period: "2026-09", MadeBy: st.NotesBy}, {Period: "2026-10", MadeBy: st.NotesBy},
		{Period: "2026-11", MadeBy: st.NotesBy}}, b.adjusted, "the months of the span 30 Sep – 5 Nov")
}

// update sends the resolve update and records what came back.
type updateResult struct {
	accepted, rejected, done bool
	err                      error
	status                   BillRunStatus
}

func (b *billRunEnv) update(action Resolution, r *updateResult) {
	b.env.UpdateWorkflow(BillRunResolveUpdate, "", &testsuite.TestUpdateCallback{
		OnAccept: func() { r.accepted = true },
		OnReject: func(err error) { r.rejected, r.err = true, err },
		OnComplete: func(v any, err error) {
			r.done, r.err = true, err
			if st, ok := v.(BillRunStatus); ok {
				r.status = st
			}
		},
	}, BillRunResolve{Action: action})
}

func TestResolvingByUpdateRefusesWhatCannotApplyAndAnswersWithTheNewStatus(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{mismatch}, nil)
	var early, bogus, rerated updateResult
	b.env.RegisterDelayedCallback(func() { b.update(ResolveAccept, &early) }, 0)
	b.env.RegisterDelayedCallback(func() {
		require.Equal(t, PhaseWaiting, b.status(t).Phase)
		b.update(Resolution("bogus"), &bogus)
		b.update(ResolveRerate, &rerated)
	}, time.Hour)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	st := b.result(t)

	require.True(t, early.rejected, "a run that does not wait refuses a resolution")
	require.ErrorContains(t, early.err, "not waiting")
	require.True(t, bogus.rejected)
	require.ErrorContains(t, bogus.err, `unknown resolution "bogus"`)
	require.True(t, rerated.accepted && rerated.done, "%+v", rerated)
	require.NoError(t, rerated.err)
	require.NotEqual(t, PhaseWaiting, rerated.status.Phase, "the update answers once the run has moved on")
	require.Len(t, b.reratings, 1)
	require.Equal(t, PhaseDone, st.Phase)
}

func TestTheBillRunKeepsItsPhaseInASearchAttributeAndItsWaitInItsDetails(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{badTable})
	var phases []string
	b.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(PhaseAttr); ok {
			phases = append(phases, v)
		}
	}).Return(nil)
	b.env.RegisterDelayedCallback(func() {
		details, err := b.env.QueryWorkflow("__temporal_workflow_metadata")
		require.NoError(t, err)
		var md sdkpb.WorkflowMetadata
		require.NoError(t, details.Get(&md))
		require.Contains(t, md.CurrentDetails, "waiting for finance")
		require.Contains(t, md.CurrentDetails, "wrong currency")
		require.Contains(t, md.CurrentDetails, "billctl run resolve default-test-workflow-id --accept")
		b.env.SignalWorkflow(BillRunResolveSignal, BillRunResolve{Action: ResolveAccept})
	}, time.Hour)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10"})
	b.result(t)
	require.Equal(t, []string{"ingesting", "checking", "waiting", "invoicing", "done"}, phases)
}

func TestTheAuditRecordKeepsWhoStartedAndWhoResolvedWithTheFindingsTheyAnswered(t *testing.T) {
	b := newBillRunEnv(t, []readiness.Finding{badTable})
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(BillRunResolveSignal, BillRunResolve{Action: ResolveAccept, Actor: "finance@carrier"})
	}, time.Hour)
	b.env.ExecuteWorkflow(BillRun, BillRunInput{Period: "2026-10", Issue: true, StartedBy: "ops@carrier"})
	b.result(t)
	require.GreaterOrEqual(t, len(b.records), 4, "started, waiting, resolved, done")
	first, last := b.records[0], b.records[len(b.records)-1]
	require.Equal(t, "ops@carrier", first.StartedBy)
	require.False(t, first.Finished)
	require.True(t, last.Finished)
	require.Equal(t, string(PhaseDone), last.Phase)
	require.Len(t, last.Resolutions, 1)
	r := last.Resolutions[0]
	require.Equal(t, "accept", r.Action)
	require.Equal(t, "finance@carrier", r.Actor)
	require.Equal(t, 1, r.Errors)
	require.Equal(t, []string{"error acme currency: wrong currency"}, r.Findings)
}
