package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
)

// DefaultTaskQueue is the task queue billrun's workers poll unless
// TEMPORAL_TASK_QUEUE names another.
const DefaultTaskQueue = "billrun"

// Kinds of run, the value of the BillrunKind search attribute.
const (
	KindIngest        = "ingest"
	KindRerate        = "rerate"
	KindInvoice       = "invoice"
	KindInvoiceRun    = "invoice-run"
	KindInvoiceState  = "invoice-state"
	KindBillRun       = "bill-run"
	KindInvoiceAdjust = "invoice-adjust"
)

// Client starts billrun's workflows on a task queue. Callers start runs
// through its functions only: IDs, policies and search attributes are the
// contract's.
type Client struct {
	client.Client
	TaskQueue string
	// Actor is who starts runs (billctl's --actor, or the OS user): it
	// closes each run's static summary in the Temporal UI.
	Actor string
}

func (c Client) start(ctx context.Context, o client.StartWorkflowOptions, wf, in any) (client.WorkflowRun, error) {
	o.TaskQueue = c.TaskQueue
	if c.Actor != "" {
		o.StaticSummary += ", started by " + c.Actor
	}
	return c.ExecuteWorkflow(ctx, o, wf, in)
}

func state(issue bool) string {
	if issue {
		return "issued"
	}
	return "draft"
}

// StartIngest starts the ingestion of a listing of the inbox (pending, of
// one installation and bucket), or joins the one that runs it already.
func StartIngest(ctx context.Context, c Client, installation, bucket string, pending []activities.FileRef, in IngestInput) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       IngestWorkflowID(installation, bucket, pending),
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindIngest)),
		StaticSummary:            fmt.Sprintf("Ingestion of %d inbox files", len(pending)),
	}, Ingest, in)
}

// StartRerate starts a rerate run at; another start of the same selection
// at the same second fails.
func StartRerate(ctx context.Context, c Client, in RerateInput, at time.Time) (client.WorkflowRun, error) {
	return c.start(ctx, client.StartWorkflowOptions{
		ID:                       RerateWorkflowID(in, at),
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    temporal.NewSearchAttributes(KindAttr.ValueSet(KindRerate)),
		StaticSummary: fmt.Sprintf("Rerate of %s to %s, %s calls%s", in.From.UTC().Format(time.DateOnly), in.To.UTC().Format(time.DateOnly),
			in.Match, forClient(in.Client)),
	}, Rerate, in)
}

// StartInvoice starts (or joins) a client's invoice of a month.
func StartInvoice(ctx context.Context, c Client, in InvoiceInput) (client.WorkflowRun, error) {
	id := InvoiceWorkflowID(in.Client, in.Period)
	if in.Preview {
		id = KindInvoice + "-preview-" + in.Client + "-" + string(in.Period)
	}
	o := joinable(id, KindInvoice)
	o.StaticSummary = fmt.Sprintf("Invoice of %s for %s (%s)", in.Client, in.Period, state(in.Issue))
	return c.start(ctx, o, Invoice, in)
}

// StartInvoiceRun starts (or joins) the invoice run of a month.
func StartInvoiceRun(ctx context.Context, c Client, in InvoiceRunInput) (client.WorkflowRun, error) {
	o := joinable(InvoiceRunOfWorkflowID(in.Period, in.Reseller), KindInvoiceRun)
	o.StaticSummary = fmt.Sprintf("Invoices of every client for %s (%s)", in.Period, state(in.Issue))
	return c.start(ctx, o, InvoiceRun, in)
}

// StartInvoiceState starts (or joins) the issue or void of an invoice.
func StartInvoiceState(ctx context.Context, c Client, in InvoiceStateInput) (client.WorkflowRun, error) {
	o := joinable(InvoiceStateWorkflowID(in), KindInvoiceState)
	o.StaticSummary = "Issue of invoice " + in.Invoice
	if in.Void {
		o.StaticSummary = "Void of invoice " + in.Invoice
	}
	return c.start(ctx, o, InvoiceState, in)
}

// StartAdjust starts (or joins) the adjustment of a month's invoices.
func StartAdjust(ctx context.Context, c Client, in AdjustInput) (client.WorkflowRun, error) {
	o := joinable(AdjustWorkflowID(in), KindInvoiceAdjust)
	o.StaticSummary = fmt.Sprintf("Credit and debit notes for %s%s (%s)", in.Period, forClient(in.Client), state(in.Issue))
	return c.start(ctx, o, Adjust, in)
}

// StartBillRun starts (or joins) the bill run of a month.
func StartBillRun(ctx context.Context, c Client, in BillRunInput) (client.WorkflowRun, error) {
	o := joinable(BillRunWorkflowID(in.Period), KindBillRun, PeriodAttr.ValueSet(string(in.Period)))
	o.StaticSummary = fmt.Sprintf("Bill run of %s (invoices %s)", in.Period, state(in.Issue))
	if in.StartedBy == "" {
		in.StartedBy = c.Actor
	}
	return c.start(ctx, o, BillRun, in)
}

// ScheduleAction is what a schedule named name starts: ScheduledBillRun.
func ScheduleAction(c Client, name string, in ScheduledBillRunInput) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{ID: "scheduled-bill-run-" + name, TaskQueue: c.TaskQueue, Workflow: ScheduledBillRun,
		Args: []any{in}}
}

func forClient(client string) string {
	if client == "" {
		return ""
	}
	return " of " + client
}

// joinable are the options of a run that a second start joins while it
// runs, and that may run again once it has ended.
func joinable(id, kind string, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       id,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(append([]temporal.SearchAttributeUpdate{KindAttr.ValueSet(kind)}, attrs...)...),
	}
}

// summarized is ctx whose next activity shows s in the Temporal UI: the
// file, day or clients it works on.
func summarized(ctx workflow.Context, s string) workflow.Context {
	o := workflow.GetActivityOptions(ctx)
	o.Summary = s
	return workflow.WithActivityOptions(ctx, o)
}

// retrying is how billrun's activities retry: a second apart at first, a
// minute at most, attempts times (0: until their timeout); an error of a
// nonRetryable type is final.
func retrying(attempts int32, nonRetryable ...string) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: attempts,
		NonRetryableErrorTypes: nonRetryable}
}

// BillRunStatusOf reads bill run id's status: a completed run's from its
// result, so that no worker needs to answer; a running one's by query.
func BillRunStatusOf(ctx context.Context, c client.Client, id string) (BillRunStatus, error) {
	var st BillRunStatus
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		err = c.GetWorkflow(ctx, id, "").Get(ctx, &st)
	} else if err == nil {
		var v converter.EncodedValue
		if v, err = c.QueryWorkflow(ctx, id, "", BillRunStatusQuery); err == nil {
			err = v.Get(&st)
		}
	}
	if err != nil {
		return st, fmt.Errorf("bill run %s: %w", id, err)
	}
	return st, nil
}
