package billing

import (
	"context"
	"time"

	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/readiness"
)

// Readiness runs the checks of billing-rules §6 for a month's period, of
// the active clients of scope.
func (s *Service) Readiness(ctx context.Context, month period.Month, scope readiness.Scope) ([]readiness.Finding, error) {
	findings, _, err := s.readiness(ctx, month, scope)
	return findings, err
}

func (s *Service) readiness(ctx context.Context, month period.Month, scope readiness.Scope) ([]readiness.Finding, readiness.Facts, error) {
	files, err := s.Inbox(ctx)
	if err != nil {
		return nil, readiness.Facts{}, err
	}
	// Failed files come with their reason from the store's facts; a file
	// still being ingested is pending.
	var pending []readiness.File
	for _, f := range files {
		if f.inBucket && (f.Status == "pending" || f.Status == "ingesting") {
			pending = append(pending, readiness.File{Key: f.Key, Status: "pending"})
		}
	}
	facts, err := s.Store.ReadinessFacts(ctx, month, scope, pending)
	if err != nil {
		return nil, facts, err
	}
	if facts.OverLimit, err = s.overLimit(ctx); err != nil {
		return nil, facts, err
	}
	return readiness.Check(facts), facts, nil
}

// MaxDigestFindings is how many findings a bill run's readiness digest
// keeps, whatever the number of clients: payloads stay small.
const MaxDigestFindings = 100

// ReadinessDigest is Readiness for a bill run, of the clients it invoices
// (autoinvoice): the counts, and the first findings, errors first. A client
// the run does not bill does not hold it up.
func (s *Service) ReadinessDigest(ctx context.Context, month period.Month) (readiness.Digest, error) {
	findings, facts, err := s.readiness(ctx, month, readiness.Scope{Billed: true})
	if err != nil {
		return readiness.Digest{}, err
	}
	d := readiness.NewDigest(findings, MaxDigestFindings)
	d.Categories = readiness.CategoryCounts(facts)
	return d, nil
}

// PeriodSpan is the range that holds every active client's period of a
// month: what a bill run checks and rerates.
func (s *Service) PeriodSpan(ctx context.Context, month period.Month) (from, to time.Time, err error) {
	return s.Store.PeriodSpan(ctx, month)
}
