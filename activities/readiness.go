package activities

import (
	"context"
	"time"

	"github.com/billrun/billrun/internal/readiness"
)

// ReadinessInput names the period (YYYY-MM) and optionally one client.
type ReadinessInput struct {
	Period string
	Client string
}

// Readiness runs the checks of billing-rules §6. The bill run calls it as an
// activity; billctl check readiness calls it directly.
func (a *Activities) Readiness(ctx context.Context, in ReadinessInput) ([]readiness.Finding, error) {
	list, err := a.ListInbox(ctx, ListInboxInput{})
	if err != nil {
		return nil, err
	}
	failed, err := a.Store.Files(ctx)
	if err != nil {
		return nil, err
	}
	isFailed := map[string]bool{}
	for _, f := range failed {
		isFailed[f.Key] = f.Status == "failed"
	}
	var pending []readiness.File
	for _, f := range list.Pending {
		if !isFailed[f.Key] { // failed files come with their reason from the store
			pending = append(pending, readiness.File{Key: f.Key, Status: "pending"})
		}
	}
	facts, err := a.Store.ReadinessFacts(ctx, in.Period, in.Client, pending)
	if err != nil {
		return nil, err
	}
	return readiness.Check(facts), nil
}

// Span is a half-open range of time.
type Span struct {
	From, To time.Time
}

// PeriodSpan is the range that holds every active client's period of a
// month (YYYY-MM): what a bill run rerates.
func (a *Activities) PeriodSpan(ctx context.Context, period string) (Span, error) {
	from, to, err := a.Store.PeriodSpan(ctx, period)
	return Span{from, to}, err
}

// MaxDigestFindings is how many findings a bill run's readiness digest
// keeps, whatever the number of clients: payloads stay small.
const MaxDigestFindings = 100

// ReadinessDigest runs the checks of billing-rules §6 for a bill run: the
// counts, and the first findings, errors first.
func (a *Activities) ReadinessDigest(ctx context.Context, in ReadinessInput) (readiness.Digest, error) {
	findings, err := a.Readiness(ctx, in)
	if err != nil {
		return readiness.Digest{}, err
	}
	return readiness.NewDigest(findings, MaxDigestFindings), nil
}
