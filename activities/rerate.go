package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/rerate"
)

// ErrRerateRunning is the error type of a rerate refused because another
// runs over an overlapping period; it is not retried.
const ErrRerateRunning = "RerateRunning"

// BeginRerateInput registers a rerate run.
type BeginRerateInput struct {
	RunID    string
	From, To time.Time
	Client   string
	Match    rerate.Match
}

// BeginRerate records the run, or refuses it when another overlaps it.
func (a *Activities) BeginRerate(ctx context.Context, in BeginRerateInput) error {
	defer beating(ctx)()
	err := a.Billing.BeginRerate(ctx, billing.Rerate{RunID: in.RunID, From: in.From, To: in.To, Client: in.Client, Match: in.Match})
	if errors.Is(err, billing.ErrRerateRunning) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrRerateRunning, err)
	}
	if errors.Is(err, invoice.ErrNoClient) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrUnknownClient, err)
	}
	return err
}

// RerateDayInput is one day of a rerate.
type RerateDayInput struct {
	From, To time.Time
	Client   string
	Match    rerate.Match
	// RunID records the day's cost differences with the run, in the day's
	// transaction; the result then carries counts only. "" (a run started
	// before they were recorded) returns them in the result.
	RunID string
}

// RerateDay rerates one day atomically with the current master data.
func (a *Activities) RerateDay(ctx context.Context, in RerateDayInput) (rerate.Summary, error) {
	defer beating(ctx)() // one day is one transaction
	return a.Billing.RerateDay(ctx, cdr.Selection{From: in.From, To: in.To, Client: in.Client, Match: string(in.Match), RunID: in.RunID})
}

// EndRerateInput closes a run.
type EndRerateInput struct {
	RunID  string
	Result *rerate.Summary // nil when the run failed
}

// EndRerate records the run's figures, or its failure, and frees its period.
func (a *Activities) EndRerate(ctx context.Context, in EndRerateInput) error {
	defer beating(ctx)()
	return a.Billing.EndRerate(ctx, in.RunID, in.Result)
}
