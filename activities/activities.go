package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/billrun/billrun/internal/billing"
)

// Activities are billrun's activities: each decodes its input, calls
// billing, maps billing's errors to Temporal's non-retryable types and
// heartbeats.
type Activities struct {
	Billing *billing.Service
}

// New wires the activities.
func New(b *billing.Service) *Activities { return &Activities{Billing: b} }

// Beat is the heartbeat timeout for activities that beat (all of them): a
// dead worker's activity is retried elsewhere this soon.
const Beat = 20 * time.Second

// heartbeat records an activity's progress.
func heartbeat(ctx context.Context) billing.Heartbeat {
	return func(details any) { activity.RecordHeartbeat(ctx, details) }
}

// beating heartbeats every few seconds until the returned stop is called:
// for a step that is one transaction and reports no progress of its own.
// Every activity beats, so that a worker that dies mid-activity is noticed
// within the workflow's heartbeat timeout (Beat), not at the end of its
// start-to-close timeout.
func beating(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(Beat / 4)
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
	return func() { close(done) }
}
