package workerapp_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
)

// TestABillRunIsPinnedToTheBuildItStartedOn: a worker under a deployment
// polls as build config.Version(); once that build is current, a bill run
// started on it is pinned there, so that a deploy while it waits for
// finance leaves it on the code it began with.
func TestABillRunIsPinnedToTheBuildItStartedOn(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	c, queue := temporaltest.New(t)
	acts := newServices(store, s3test.New(t))
	deployment := "billrun-" + queue
	w := workerapp.NewVersioned(c, queue, activities.New(acts.billing), deployment)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	// The build is known once it has polled; then it is made current.
	h := c.WorkerDeploymentClient().GetHandle(deployment)
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: config.Version()}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("make build %s current: %v", config.Version(), err)
	}

	id, run, _ := billRunUntilWaiting(t, c, queue)
	t.Cleanup(func() { _ = c.TerminateWorkflow(ctx, id, "", "test over") })
	d, err := c.DescribeWorkflowExecution(ctx, id, run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	v := d.GetWorkflowExecutionInfo().GetVersioningInfo()
	if v.GetBehavior() != enums.VERSIONING_BEHAVIOR_PINNED || v.GetDeploymentVersion().GetBuildId() != config.Version() ||
		!strings.HasPrefix(v.GetDeploymentVersion().GetDeploymentName(), "billrun-") {
		t.Fatalf("the waiting bill run's versioning: %v", v)
	}
}
