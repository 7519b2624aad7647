package billing

import (
	"context"
	"time"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/report"
)

// Summary is the summary report of the rated calls of [q.From, q.To).
func (s *Service) Summary(ctx context.Context, q report.Summary) ([]report.SummaryRow, error) {
	return s.Store.Summary(ctx, q)
}

// Mismatches counts the mismatched calls of [from, to) by category and
// client.
func (s *Service) Mismatches(ctx context.Context, from, to time.Time) ([]report.MismatchRow, error) {
	return s.Store.Mismatches(ctx, from, to)
}

// MismatchDetails lists up to limit mismatched calls of [from, to), and how
// many there are in all.
func (s *Service) MismatchDetails(ctx context.Context, from, to time.Time, limit int) ([]report.MismatchDetail, int64, error) {
	return s.Store.MismatchDetails(ctx, from, to, limit)
}

// Reconcile accounts for every call of month's periods (billing-rules §7):
// for each client (one, when client is not "") and currency, its calls and
// their amount by reason; calls of no client in a row of their own. A call
// is adjustment_due when it is on a line that the recomputation of its
// period's issued invoice changes and no issued note covers yet: what
// invoice adjust would bill.
func (s *Service) Reconcile(ctx context.Context, month period.Month, client string) ([]report.ReconcileRow, error) {
	listed, err := s.Store.Invoices(ctx, month, client)
	if err != nil {
		return nil, err
	}
	cs, _, err := s.corrections(ctx, listed, month, s.now())
	if err != nil {
		return nil, err
	}
	due := map[string][]string{}
	for _, c := range cs {
		for _, l := range c.Note.Lines {
			if c.Due && l.Kind == invoice.KindUsage {
				due[c.Issued.Client] = append(due[c.Issued.Client], l.Description)
			}
		}
	}
	groups, err := s.Store.ReconcileGroups(ctx, month, client, due)
	if err != nil {
		return nil, err
	}
	invoiced := map[string]bool{}
	for _, inv := range listed {
		if inv.Corrects == nil && !inv.Preview && (inv.State == "issued" || inv.State == "draft") {
			invoiced[inv.Client] = true
		}
	}
	return report.Reconcile(groups, invoiced), nil
}

// RecordBillRun keeps a bill run's audit record.
func (s *Service) RecordBillRun(ctx context.Context, r report.BillRun) error {
	return s.Store.RecordBillRun(ctx, r)
}

// BillRuns are the recorded bill runs, newest first, of a month or a
// workflow ID ("" for any).
func (s *Service) BillRuns(ctx context.Context, period, workflowID string) ([]report.BillRun, error) {
	return s.Store.BillRuns(ctx, period, workflowID)
}
