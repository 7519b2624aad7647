package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/postgres"
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

// BeginRerate records the run, or refuses it when another overlaps it. A
// run recorded as running whose workflow has ended (terminated from the
// Temporal UI, say) no longer holds its period: it is marked failed and
// the new run goes ahead.
func (a *Activities) BeginRerate(ctx context.Context, in BeginRerateInput) error {
	for tries := 0; ; tries++ {
		err := a.Store.BeginRerate(ctx, in.RunID, in.From, in.To, in.Client, in.Match)
		var running *postgres.RerateRunningError
		if !errors.As(err, &running) {
			return err
		}
		if tries == 0 && a.Runs != nil && running.ID != in.RunID {
			open, err := a.Runs.Open(ctx, running.ID)
			if err != nil {
				return err
			}
			if !open {
				// Another run may release it at the same time: either way it is released.
				_ = a.Store.ReleaseRerate(ctx, running.ID)
				continue
			}
		}
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrRerateRunning, err)
	}
}

// RerateBatchInput is one slice of a rerate.
type RerateBatchInput struct {
	From, To time.Time
	Client   string
	Match    rerate.Match
}

// RerateBatch rerates one slice atomically with the current master data.
func (a *Activities) RerateBatch(ctx context.Context, in RerateBatchInput) (rerate.Summary, error) {
	engine, _, err := a.Engines.Engine(ctx)
	if err != nil {
		return rerate.Summary{}, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // one slice is one transaction: heartbeat while it runs
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return a.Store.Rerate(ctx, postgres.RerateSlice{From: in.From, To: in.To, Client: in.Client, Match: in.Match}, engine)
}

// EndRerateInput closes a run.
type EndRerateInput struct {
	RunID  string
	Result *rerate.Summary // nil when the run failed
}

// EndRerate records the run's figures, or its failure, and frees its period.
func (a *Activities) EndRerate(ctx context.Context, in EndRerateInput) error {
	if in.Result == nil {
		return a.Store.EndRerate(ctx, in.RunID, nil, true)
	}
	return a.Store.EndRerate(ctx, in.RunID, in.Result, false)
}
