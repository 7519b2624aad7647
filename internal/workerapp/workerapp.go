// Package workerapp wires billrun's worker: stores, Temporal client,
// registrations. Tests start the same worker in-process.
package workerapp

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/workflows"
)

// Register registers every workflow and activity on w.
func Register(w worker.Registry, a *activities.Activities) {
	RegisterWorkflows(w)
	w.RegisterActivity(a)
}

// RegisterWorkflows registers every workflow on w (a worker, or a replayer
// of recorded histories).
func RegisterWorkflows(w worker.WorkflowRegistry) {
	w.RegisterWorkflow(workflows.Ingest)
	w.RegisterWorkflow(workflows.Rerate)
	w.RegisterWorkflow(workflows.Invoice)
	w.RegisterWorkflow(workflows.InvoiceRun)
	w.RegisterWorkflow(workflows.InvoiceState)
	w.RegisterWorkflow(workflows.Adjust)
	w.RegisterWorkflow(workflows.Archive)
	w.RegisterWorkflow(workflows.Restore)
	// A bill run finishes on the build it started on, however long it
	// waits, when the worker runs under a deployment (BILLRUN_DEPLOYMENT_NAME);
	// the others move to the current build at their next task.
	w.RegisterWorkflowWithOptions(workflows.BillRun, workflow.RegisterOptions{VersioningBehavior: workflow.VersioningBehaviorPinned})
	w.RegisterWorkflow(workflows.ScheduledBillRun)
}

// engineCheck is how often a worker looks for a new catalogue revision to
// build its rating engine for ahead of the next file (one small query).
const engineCheck = 5 * time.Second

// Run runs a worker until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.MigrateIfOwner(ctx); err != nil {
		return err
	}
	s3, err := s3store.New(ctx, cfg.S3Endpoint, cfg.S3Bucket)
	if err != nil {
		return err
	}
	topts, err := temporalclient.Resolve(cfg.TemporalAddress, cfg.TemporalNamespace)
	if err != nil {
		return err
	}
	stopTimeout, err := time.ParseDuration(cfg.WorkerStopTimeout)
	if err != nil {
		return fmt.Errorf("BILLRUN_WORKER_STOP_TIMEOUT %q: %w", cfg.WorkerStopTimeout, err)
	}
	metrics, err := NewMetrics(log)
	if err != nil {
		return err
	}
	topts.MetricsHandler = metrics.Handler
	c, err := temporalclient.Dial(ctx, topts, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := temporalclient.EnsureSearchAttributes(ctx, c, topts.Namespace, workflows.SearchAttributes()); err != nil {
		return err
	}
	ready := &probe{checks: []func(context.Context) error{store.Ping, func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}}
	if cfg.MetricsAddr != "" {
		shutdown, err := serveOps(cfg.MetricsAddr, metrics, ready, cfg.Profiling, log)
		if err != nil {
			return fmt.Errorf("BILLRUN_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		defer shutdown()
	}
	b := billing.New(store, s3)
	b.Seller = invoice.Seller{Name: cfg.SellerName, Address: cfg.SellerAddress, TaxID: cfg.SellerTaxID, Email: cfg.SellerEmail}
	b.NumberTemplate, b.CreditNoteTemplate, b.DebitNoteTemplate = cfg.NumberTemplate, cfg.CreditNoteTemplate, cfg.DebitNoteTemplate
	revision := metrics.Handler.Gauge("billrun_catalog_revision")
	go b.Engines.Keep(ctx, engineCheck, func(rev int64) {
		revision.Update(float64(rev))
		log.Info("rating engine built", "catalog_revision", rev)
	}, func(err error) { log.Warn("rating engine not built", "error", err) })
	w := newWorker(c, cfg.TaskQueue, activities.New(b), stopTimeout, cfg.DeploymentName)
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	ready.polling.Store(true)
	log.Info("worker polling", "task_queue", cfg.TaskQueue, "temporal", topts.HostPort, "namespace", topts.Namespace, "version", config.Version())
	<-ctx.Done()
	// Activities get stopTimeout to finish; what does not is retried
	// elsewhere after its heartbeat timeout.
	ready.polling.Store(false)
	log.Info("worker stopping", "stop_timeout", stopTimeout)
	w.Stop()
	return nil
}

// New returns a worker on taskQueue with everything registered; a's
// billing, if it has no Workflows, asks c whether runs still run.
func New(c client.Client, taskQueue string, a *activities.Activities) worker.Worker {
	return newWorker(c, taskQueue, a, 0, "")
}

// NewVersioned is New under Worker Deployment Versioning: the worker is
// build config.Version() of deployment, and a bill run is pinned to the
// build it started on.
func NewVersioned(c client.Client, taskQueue string, a *activities.Activities, deployment string) worker.Worker {
	return newWorker(c, taskQueue, a, 0, deployment)
}

func newWorker(c client.Client, taskQueue string, a *activities.Activities, stopTimeout time.Duration, deployment string) worker.Worker {
	if a.Billing.Workflows == nil {
		a.Billing.Workflows = temporalclient.Runs{Client: c}
	}
	w := worker.New(c, taskQueue, worker.Options{
		// Each file activity holds one PostgreSQL connection and one
		// rating pass; two cores keep two busy, a third overlaps I/O.
		MaxConcurrentActivityExecutionSize: 3,
		WorkerStopTimeout:                  stopTimeout,
		DeploymentOptions:                  deploymentOptions(deployment),
	})
	Register(w, a)
	return w
}

// deploymentOptions put a worker under Worker Deployment Versioning when a
// deployment is named: its build ID is the binary's version. After a new
// build is rolled out, ops make it current (`temporal worker deployment
// set-current-version`); runs pinned to the old build finish there.
func deploymentOptions(deployment string) worker.DeploymentOptions {
	if deployment == "" {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning:             true,
		Version:                   worker.WorkerDeploymentVersion{DeploymentName: deployment, BuildID: config.Version()},
		DefaultVersioningBehavior: workflow.VersioningBehaviorAutoUpgrade,
	}
}
