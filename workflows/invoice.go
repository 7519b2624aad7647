package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/invoice"
)

// InvoiceInput asks for one client's invoice of one month.
type InvoiceInput struct {
	Client     string
	Period     string // YYYY-MM
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
func InvoiceWorkflowID(client, period string) string { return "invoice-" + client + "-" + period }

// RenderWorkflowID names the run that renders an invoice's documents.
func RenderWorkflowID(invoiceID string) string { return "invoice-documents-" + invoiceID }

var invoiceActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10,
		NonRetryableErrorTypes: []string{activities.ErrInvoiceIssued, activities.ErrInvoiceNotFound}},
}

// Invoice computes, stores (and optionally issues) a client's invoice, then
// renders its documents to S3. Every step is idempotent: a retry or a crash
// leaves one invoice, one number, one set of documents.
func Invoice(ctx workflow.Context, in InvoiceInput) (InvoiceResult, error) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet("invoice"), ClientAttr.ValueSet(in.Client), PeriodAttr.ValueSet(in.Period))
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

// RenderInvoice renders an invoice's documents again (after it was issued
// or voided).
func RenderInvoice(ctx workflow.Context, id string) (map[string]string, error) {
	ctx = workflow.WithActivityOptions(ctx, invoiceActivity)
	var a *activities.Activities
	var docs map[string]string
	err := workflow.ExecuteActivity(ctx, a.RenderInvoice, activities.RenderInvoiceInput{ID: id}).Get(ctx, &docs)
	return docs, err
}
