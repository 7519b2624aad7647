package activities

import (
	"context"
	"encoding/json"
	"time"

	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/internal/report"
)

// ReadinessInput names the period.
type ReadinessInput struct {
	Period period.Month
}

// Span is a half-open range of time.
type Span struct {
	From, To time.Time
}

// PeriodSpan is the range that holds every active client's period of a
// month: what a bill run rerates.
func (a *Activities) PeriodSpan(ctx context.Context, month period.Month) (Span, error) {
	defer beating(ctx)()
	from, to, err := a.Billing.PeriodSpan(ctx, month)
	return Span{from, to}, err
}

// ReadinessDigest runs the checks of billing-rules §6 for a bill run: the
// counts, and the first findings, errors first.
func (a *Activities) ReadinessDigest(ctx context.Context, in ReadinessInput) (readiness.Digest, error) {
	defer beating(ctx)()
	return a.Billing.ReadinessDigest(ctx, in.Period)
}

// ReconcileTotals accounts for every call of a month's periods
// (billing-rules §7): calls and amount by currency and reason, over clients.
func (a *Activities) ReconcileTotals(ctx context.Context, month period.Month) ([]report.ReconcileRow, error) {
	defer beating(ctx)()
	rows, err := a.Billing.Reconcile(ctx, month, "")
	return report.Totals(rows), err
}

// RecordBillRunInput is a bill run's audit record as the workflow has it;
// Options and Status are its input and status, stored as JSON.
type RecordBillRunInput struct {
	RunID, WorkflowID string
	Period            period.Month
	StartedBy         string
	StartedAt         time.Time
	Phase             string
	Options, Status   any
	Resolutions       []report.Resolution
	Finished          bool
}

// RecordBillRun writes the run's audit record (the bill_runs table), whole.
func (a *Activities) RecordBillRun(ctx context.Context, in RecordBillRunInput) error {
	defer beating(ctx)()
	opts, err := json.Marshal(in.Options)
	if err != nil {
		return err
	}
	st, err := json.Marshal(in.Status)
	if err != nil {
		return err
	}
	return a.Billing.RecordBillRun(ctx, report.BillRun{RunID: in.RunID, WorkflowID: in.WorkflowID, Period: string(in.Period),
		StartedBy: in.StartedBy, StartedAt: in.StartedAt, Phase: in.Phase, Options: opts, Resolutions: in.Resolutions, Status: st,
		Finished: in.Finished})
}
