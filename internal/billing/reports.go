package billing

import (
	"context"
	"time"

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
