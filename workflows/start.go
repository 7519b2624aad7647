package workflows

import (
	"context"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/activities"
)

// DefaultTaskQueue is the task queue billrun's workers poll unless
// TEMPORAL_TASK_QUEUE names another.
const DefaultTaskQueue = "billrun"

// Kinds of run, the value of the BillrunKind search attribute.
const (
	KindIngest       = "ingest"
	KindRerate       = "rerate"
	KindInvoice      = "invoice"
	KindInvoiceRun   = "invoice-run"
	KindInvoiceState = "invoice-state"
	KindBillRun      = "bill-run"
)

// Client starts billrun's workflows on a task queue. Callers start runs
// through its functions only: IDs, policies and search attributes are the
// contract's.
type Client struct {
	client.Client
	TaskQueue string
}

func (c Client) start(ctx context.Context, o client.StartWorkflowOptions, wf, in any) (client.WorkflowRun, error) {
	o.TaskQueue = c.TaskQueue
	return c.ExecuteWorkflow(ctx, o, wf, in)
}

// StartIngest starts the ingestion of a listing of the inbox (pending, of
// one installation and bucket), or joins the one that runs it already.
func StartIngest(ctx context.Context, c Client, installation, bucket string, pending []activities.FileRef, in IngestInput) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       IngestWorkflowID(installation, bucket, pending),
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindIngest)),
	}, Ingest, in)
}

// StartRerate starts a rerate run at; another start of the same selection
// at the same second fails.
func StartRerate(ctx context.Context, c Client, in RerateInput, at time.Time) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       RerateWorkflowID(in, at),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindRerate)),
	}, Rerate, in)
}

// StartInvoice starts (or joins) a client's invoice of a month.
func StartInvoice(ctx context.Context, c Client, in InvoiceInput) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       InvoiceWorkflowID(in.Client, in.Period),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindInvoice)),
	}, Invoice, in)
}

// StartInvoiceRun starts (or joins) the invoice run of a month.
func StartInvoiceRun(ctx context.Context, c Client, in InvoiceRunInput) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       InvoiceRunWorkflowID(in.Period),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindInvoiceRun)),
	}, InvoiceRun, in)
}

// StartInvoiceState starts (or joins) the issue or void of an invoice.
func StartInvoiceState(ctx context.Context, c Client, in InvoiceStateInput) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       InvoiceStateWorkflowID(in),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindInvoiceState)),
	}, InvoiceState, in)
}

// StartBillRun starts (or joins) the bill run of a month.
func StartBillRun(ctx context.Context, c Client, in BillRunInput) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       BillRunWorkflowID(in.Period),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindBillRun), PeriodAttr.ValueSet(string(in.Period))),
	}, BillRun, in)
}

// ScheduleAction is what a schedule named name starts: ScheduledBillRun.
func ScheduleAction(c Client, name string, in ScheduledBillRunInput) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{ID: "scheduled-bill-run-" + name, TaskQueue: c.TaskQueue, Workflow: ScheduledBillRun,
		Args: []any{in}}
}
