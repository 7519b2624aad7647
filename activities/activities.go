package activities

import (
	"context"
	"sync/atomic"
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

// heartbeat records an activity's progress; beating repeats the last of it.
func heartbeat(ctx context.Context) billing.Heartbeat {
	return func(details any) {
		if p, ok := ctx.Value(progressKey{}).(*atomic.Value); ok {
			p.Store(progress{details})
		}
		activity.RecordHeartbeat(ctx, details)
	}
}

type progressKey struct{}

// progress boxes heartbeat details, which may be of any type.
type progress struct{ details any }

// beating heartbeats every few seconds until the returned stop is called:
// for a step that is one transaction and reports no progress of its own.
// Every activity beats, so that a worker that dies mid-activity is noticed
// within the workflow's heartbeat timeout (Beat), not at the end of its
// start-to-close timeout.
func beating(ctx context.Context) (stop func()) {
	_, stop = beatingCtx(ctx)
	return stop
}

// beatingCtx is beating for an activity that reports progress too: the
// heartbeats of the returned context's heartbeat are repeated, details and
// all, while the activity waits (on a lock, say) between them.
func beatingCtx(ctx context.Context) (context.Context, func()) {
	last := &atomic.Value{}
	ctx = context.WithValue(ctx, progressKey{}, last)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(Beat / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if p, ok := last.Load().(progress); ok {
					activity.RecordHeartbeat(ctx, p.details)
				} else {
					activity.RecordHeartbeat(ctx)
				}
			}
		}
	}()
	return ctx, func() { close(done) }
}

// count adds n to the counter name of the worker's metrics (Prometheus on
// BILLRUN_METRICS_ADDR); an activity outside a worker, as in unit tests,
// counts nothing.
func count(ctx context.Context, name string, n int64) {
	if n == 0 || !activity.IsActivity(ctx) {
		return
	}
	activity.GetMetricsHandler(ctx).Counter(name).Inc(n)
}
