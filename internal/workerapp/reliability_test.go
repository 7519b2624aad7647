package workerapp_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/workflows"
)

// hang makes the first attempt of one activity hang without a heartbeat,
// as on a worker that died in it.
type hang struct {
	interceptor.WorkerInterceptorBase
	activity string
	release  chan struct{}
	attempts atomic.Int32
}

func (h *hang) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &hangInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

type hangInbound struct {
	interceptor.ActivityInboundInterceptorBase
	h *hang
}

func (i *hangInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if info := activity.GetInfo(ctx); info.ActivityType.Name == i.h.activity {
		if i.h.attempts.Add(1) == 1 {
			<-i.h.release
			return nil, context.Canceled
		}
	}
	return i.Next.ExecuteActivity(ctx, in)
}

// TestADeadWorkersActivityIsRetriedWithinItsHeartbeatTimeout: issue 12's
// fifth finding. A worker that died in the bill run's readiness check left
// the run waiting for the activity's ten-minute start-to-close timeout.
// Every activity beats now: the check is tried again once its heartbeat
// timeout (activities.Beat) has passed, and the run goes on.
func TestADeadWorkersActivityIsRetriedWithinItsHeartbeatTimeout(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	h := &hang{activity: "ReadinessDigest", release: make(chan struct{})}
	defer close(h.release)
	c, queue, acts := withWorker(t, store, nil, h)
	upload(t, acts.s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))

	id := workflows.BillRunWorkflowID("2026-10") + "-" + queue
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.BillRun, workflows.BillRunInput{Period: "2026-10"})
	if err != nil {
		t.Fatal(err)
	}
	// The demo makes the run wait on its findings: that wait is after the
	// readiness check, so reaching it means the check was retried.
	for deadline := start.Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var st workflows.BillRunStatus
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.BillRunStatusQuery); err == nil && v.Get(&st) == nil && st.Phase == workflows.PhaseWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not get past its hung readiness check in 2 minutes (%d attempts)", h.attempts.Load())
		}
	}
	if n := h.attempts.Load(); n != 2 {
		t.Fatalf("%d attempts of the readiness check, want 2", n)
	}
	if took := time.Since(start); took < activities.Beat || took > activities.Beat+time.Minute {
		t.Fatalf("the hung check was retried after %s; its heartbeat timeout is %s", took, activities.Beat)
	}
	_ = c.TerminateWorkflow(ctx, id, run.GetRunID(), "done")
}
