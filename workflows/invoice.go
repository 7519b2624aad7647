package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// InvoiceInput asks for one client's invoice of one month.
type InvoiceInput struct {
	Client     string
	Period     period.Month
	Template   string // "" for the client's
	Issue      bool
	AllowEmpty bool
	Rounding   invoice.Rounding
}

// InvoiceResult names the invoice and its documents (S3 URIs).
type InvoiceResult struct {
	ID        string
	Number    string
	Skipped   string
	Documents map[string]string
}

// InvoiceWorkflowID names the run that invoices a client for a month.
func InvoiceWorkflowID(client string, month period.Month) string {
	return KindInvoice + "-" + client + "-" + string(month)
}

var invoiceActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Minute,
	RetryPolicy:         retrying(10, activities.ErrInvoiceIssued, activities.ErrInvoiceNotFound, activities.ErrPeriodOpen),
}

// Invoice computes, stores (and optionally issues) a client's invoice, then
// renders its documents to S3. Every step is idempotent: a retry or a crash
// leaves one invoice, one number, one set of documents.
func Invoice(ctx workflow.Context, in InvoiceInput) (InvoiceResult, error) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindInvoice), ClientAttr.ValueSet(in.Client),
		PeriodAttr.ValueSet(string(in.Period)))
	ctx = workflow.WithActivityOptions(ctx, invoiceActivity)
	var a *activities.Activities
	var created activities.CreateInvoiceResult
	if err := workflow.ExecuteActivity(ctx, a.CreateInvoice, activities.CreateInvoiceInput{Client: in.Client,
		InvoiceOptions: activities.InvoiceOptions{Period: in.Period, Template: in.Template, Issue: in.Issue, AllowEmpty: in.AllowEmpty,
			Now: workflow.Now(ctx), Rounding: in.Rounding}}).Get(ctx, &created); err != nil {
		return InvoiceResult{}, err
	}
	res := InvoiceResult{ID: created.ID, Number: created.Number, Skipped: created.Skipped}
	if created.Skipped != "" {
		return res, nil
	}
	err := workflow.ExecuteActivity(ctx, a.RenderInvoice, activities.RenderInvoiceInput{ID: created.ID}).Get(ctx, &res.Documents)
	return res, err
}

// InvoiceStateInput issues or voids an invoice.
type InvoiceStateInput struct {
	Invoice string // ID or number
	Void    bool   // else issue
}

// InvoiceStateWorkflowID names the run that issues or voids an invoice:
// asking twice joins the run, and a finished one may be asked again.
func InvoiceStateWorkflowID(in InvoiceStateInput) string {
	verb := "issue"
	if in.Void {
		verb = "void"
	}
	return KindInvoiceState + "-" + verb + "-" + in.Invoice
}

// InvoiceStateResult names the invoice and its documents rendered anew.
type InvoiceStateResult struct {
	ID        string
	Documents map[string]string
}

// InvoiceState issues (numbers, on the run's date) or voids an invoice, then
// renders its documents again: the state change is durable and the
// documents follow it even when the caller goes away.
func InvoiceState(ctx workflow.Context, in InvoiceStateInput) (InvoiceStateResult, error) {
	ctx = workflow.WithActivityOptions(ctx, invoiceActivity)
	var a *activities.Activities
	var res InvoiceStateResult
	if err := workflow.ExecuteActivity(ctx, a.ChangeInvoice, activities.ChangeInvoiceInput{ID: in.Invoice, Void: in.Void,
		At: workflow.Now(ctx)}).Get(ctx, &res.ID); err != nil {
		return res, err
	}
	err := workflow.ExecuteActivity(ctx, a.RenderInvoice, activities.RenderInvoiceInput{ID: res.ID}).Get(ctx, &res.Documents)
	return res, err
}
