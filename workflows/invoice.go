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
	Preview    bool // a preview of a period that has not ended
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
	HeartbeatTimeout:    activities.Beat,
	RetryPolicy: retrying(10, activities.ErrInvoiceIssued, activities.ErrInvoiceNotFound, activities.ErrPeriodOpen,
		activities.ErrPeriodEnded, activities.ErrPreview, activities.ErrUnknownClient),
}

// Invoice computes, stores (and optionally issues) a client's invoice, then
// renders its documents to S3. Every step is idempotent: a retry or a crash
// leaves one invoice, one number, one set of documents.
func Invoice(ctx workflow.Context, in InvoiceInput) (InvoiceResult, error) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindInvoice), ClientAttr.ValueSet(in.Client),
		PeriodAttr.ValueSet(string(in.Period)))
	ctx = workflow.WithActivityOptions(ctx, invoiceActivity)
	var a *activities.Activities
	now := workflow.Now(ctx)
	for attempt := 1; ; attempt++ {
		var created activities.CreateInvoiceResult
		if err := workflow.ExecuteActivity(summarized(ctx, "client "+in.Client), a.CreateInvoice, activities.CreateInvoiceInput{Client: in.Client,
			InvoiceOptions: activities.InvoiceOptions{Period: in.Period, Template: in.Template, Issue: in.Issue, AllowEmpty: in.AllowEmpty,
				Now: now, Rounding: in.Rounding, Preview: in.Preview}}).Get(ctx, &created); err != nil {
			if isApplicationError(err, activities.ErrCallsChanged) && attempt < maxRecomputes {
				continue
			}
			return InvoiceResult{}, err
		}
		res := InvoiceResult{ID: created.ID, Number: created.Number, Skipped: created.Skipped}
		if created.Skipped != "" {
			return res, nil
		}
		err := workflow.ExecuteActivity(ctx, a.RenderInvoice, activities.RenderInvoiceInput{ID: created.ID}).Get(ctx, &res.Documents)
		// A rerate between the two steps: the draft is computed again, so
		// that its documents list the calls its lines bill.
		if isApplicationError(err, activities.ErrCallsChanged) && attempt < maxRecomputes {
			continue
		}
		return res, err
	}
}

// maxRecomputes bounds how often an invoice is computed again because its
// calls changed under it: a rerate ends; one that never does is an error.
const maxRecomputes = 5

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

// AdjustInput asks for the notes of a month's issued invoices, of one
// client or ("") of all.
type AdjustInput struct {
	Period period.Month
	Client string
	Issue  bool
	// MadeBy names the run on the notes (a bill run names its own); ""
	// names them by this workflow's ID and run.
	MadeBy string
}

// AdjustResult counts the issued invoices looked at and the notes made;
// the notes, which grow with the clients, are read back by MadeBy
// (billing's NotesMadeBy). Runs started before notes were named list them
// in Notes, with their documents.
type AdjustResult struct {
	MadeBy    string
	Invoices  int
	Made      int
	Rendered  int
	Notes     []activities.Adjusted
	Documents map[string]map[string]string
}

// notesPage is how many notes' documents one activity renders.
const notesPage = 500

// AdjustWorkflowID names the run that adjusts a month's invoices.
func AdjustWorkflowID(in AdjustInput) string {
	client := in.Client
	if client == "" {
		client = "all"
	}
	return KindInvoiceAdjust + "-" + client + "-" + string(in.Period)
}

// Adjust makes the credit or debit note of every issued invoice of the
// period that its recomputation now differs from (billing-rules §7), on the
// run's date, then renders the notes a page at a time, with any issued note
// of the month an earlier run left without documents.
func Adjust(ctx workflow.Context, in AdjustInput) (AdjustResult, error) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindInvoiceAdjust), PeriodAttr.ValueSet(string(in.Period)))
	ctx = workflow.WithActivityOptions(ctx, invoiceBatchActivity)
	var a *activities.Activities
	if workflow.GetVersion(ctx, "notes-named", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return adjustListed(ctx, in)
	}
	if in.MadeBy == "" {
		self := workflow.GetInfo(ctx).WorkflowExecution
		in.MadeBy = self.ID + "@" + self.RunID
	}
	var made activities.AdjustInvoicesResult
	if in.Client == "" && workflow.GetVersion(ctx, "notes-by-range", workflow.DefaultVersion, 1) == 1 {
		var err error
		if made, err = adjustByRange(ctx, in); err != nil {
			return AdjustResult{}, err
		}
	} else if err := workflow.ExecuteActivity(ctx, a.AdjustInvoices, activities.AdjustInvoicesInput{Period: in.Period, Client: in.Client,
		Issue: in.Issue, Now: workflow.Now(ctx), MadeBy: in.MadeBy}).Get(ctx, &made); err != nil {
		return AdjustResult{}, err
	}
	res := AdjustResult{MadeBy: in.MadeBy, Invoices: made.Invoices, Made: made.Made}
	if workflow.GetVersion(ctx, "notes-rendered-by-page", workflow.DefaultVersion, 1) == 1 {
		for after := ""; ; {
			var page activities.RenderNotesResult
			if err := workflow.ExecuteActivity(ctx, a.RenderNotes, activities.NotesToRenderInput{Period: in.Period, Client: in.Client,
				MadeBy: in.MadeBy, After: after, Limit: notesPage}).Get(ctx, &page); err != nil {
				return res, err
			}
			if page.Rendered == 0 {
				return res, nil
			}
			res.Rendered += page.Rendered
			after = page.Last
		}
	}
	for after := ""; ; {
		var ids []string
		if err := workflow.ExecuteActivity(ctx, a.NotesToRender, activities.NotesToRenderInput{Period: in.Period, Client: in.Client,
			MadeBy: in.MadeBy, After: after, Limit: notesPage}).Get(ctx, &ids); err != nil {
			return res, err
		}
		if len(ids) == 0 {
			return res, nil
		}
		var docs activities.RenderInvoicesResult
		if err := workflow.ExecuteActivity(ctx, a.RenderInvoices, activities.RenderInvoicesInput{IDs: ids, CountOnly: true}).Get(ctx, &docs); err != nil {
			return res, err
		}
		res.Rendered += len(ids)
		after = ids[len(ids)-1]
	}
}

// Adjusting every client of a month: pages of adjustPage clients with an
// issued invoice, each in ranges of adjustRange adjusted adjustsAtOnce at a
// time. A range's notes are one transaction; a month of 100,000 clients is
// 200 ranges, no activity near its timeout.
const (
	adjustPage    = 4000
	adjustRange   = 500
	adjustsAtOnce = 2
)

// adjustByRange makes the notes of every client of the month a range of
// clients at a time, two ranges at once, and sums what they made.
func adjustByRange(ctx workflow.Context, in AdjustInput) (activities.AdjustInvoicesResult, error) {
	var a *activities.Activities
	var sum activities.AdjustInvoicesResult
	now := workflow.Now(ctx)
	for after := ""; ; {
		var page activities.ClientRangesResult
		if err := workflow.ExecuteActivity(ctx, a.AdjustRanges, activities.AdjustRangesInput{Period: in.Period, After: after,
			Limit: adjustPage, Size: adjustRange}).Get(ctx, &page); err != nil {
			return sum, err
		}
		running := 0
		var failed error
		for _, r := range page.Ranges {
			if err := workflow.Await(ctx, func() bool { return running < adjustsAtOnce }); err != nil {
				return sum, err
			}
			running++
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer func() { running-- }()
				var made activities.AdjustInvoicesResult
				err := workflow.ExecuteActivity(summarized(ctx, rangeSpan(r)), a.AdjustInvoices, activities.AdjustInvoicesInput{Period: in.Period,
					Issue: in.Issue, Now: now, MadeBy: in.MadeBy, Range: r}).Get(ctx, &made)
				if err != nil && failed == nil {
					failed = err
				}
				sum.Invoices, sum.Made = sum.Invoices+made.Invoices, sum.Made+made.Made
			})
		}
		if err := workflow.Await(ctx, func() bool { return running == 0 }); err != nil {
			return sum, err
		}
		if failed != nil || !page.Full {
			return sum, failed
		}
		after = page.Ranges[len(page.Ranges)-1].Last
	}
}

// adjustListed is Adjust as runs started before notes were named run it:
// every note listed in the result, rendered at once.
func adjustListed(ctx workflow.Context, in AdjustInput) (AdjustResult, error) {
	var a *activities.Activities
	var made activities.AdjustInvoicesResult
	if err := workflow.ExecuteActivity(ctx, a.AdjustInvoices, activities.AdjustInvoicesInput{Period: in.Period, Client: in.Client,
		Issue: in.Issue, Now: workflow.Now(ctx)}).Get(ctx, &made); err != nil {
		return AdjustResult{}, err
	}
	res := AdjustResult{Notes: made.Notes}
	var ids []string
	for _, n := range made.Notes {
		if n.NoteID != "" {
			ids = append(ids, n.NoteID)
		}
	}
	if len(ids) == 0 {
		return res, nil
	}
	var docs activities.RenderInvoicesResult
	err := workflow.ExecuteActivity(ctx, a.RenderInvoices, activities.RenderInvoicesInput{IDs: ids}).Get(ctx, &docs)
	res.Documents = docs.Documents
	return res, err
}
