package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// Error types of the invoice activities that are not retried.
const (
	// ErrInvoiceIssued: the client's period has an issued invoice.
	ErrInvoiceIssued = "InvoiceIssued"
	// ErrInvoiceNotFound: no invoice has the ID.
	ErrInvoiceNotFound = "InvoiceNotFound"
	// ErrPeriodOpen: the client's period has not ended.
	ErrPeriodOpen = "PeriodNotEnded"
	// ErrPeriodEnded: a preview of a period that has ended.
	ErrPeriodEnded = "PeriodEnded"
	// ErrPreview: a preview is never issued.
	ErrPreview = "Preview"
	// ErrUnknownClient: the master data holds no such client.
	ErrUnknownClient = "UnknownClient"
	// ErrCallsChanged: an invoice's calls changed since it was computed;
	// the workflow computes it again rather than retry the step.
	ErrCallsChanged = "CallsChanged"
	// ErrNoteOutdated: another note of the invoice was issued since this
	// one was computed; adjusting again makes the correction still due.
	ErrNoteOutdated = "NoteOutdated"
)

// invoiceError maps billing's invoice errors to their non-retryable types.
func invoiceError(err error) error {
	switch {
	case errors.Is(err, billing.ErrInvoiceIssued):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvoiceIssued, err)
	case errors.Is(err, invoice.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvoiceNotFound, err)
	case errors.Is(err, billing.ErrPeriodOpen):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrPeriodOpen, err)
	case errors.Is(err, billing.ErrPeriodEnded):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrPeriodEnded, err)
	case errors.Is(err, invoice.ErrPreview):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrPreview, err)
	case errors.Is(err, invoice.ErrNoClient):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrUnknownClient, err)
	case errors.Is(err, billing.ErrCallsChanged):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrCallsChanged, err)
	case errors.Is(err, invoice.ErrNoteOutdated):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrNoteOutdated, err)
	}
	return err
}

// InvoiceOptions say how to invoice a month, for one client or many.
type InvoiceOptions = billing.InvoiceOptions

// CreateInvoiceInput asks for one client's invoice of one month.
type CreateInvoiceInput struct {
	Client string
	InvoiceOptions
}

// CreateInvoiceResult names the invoice, or why there is none.
type CreateInvoiceResult = billing.Created

// CreateInvoice computes the invoice and stores it as the period's draft,
// then issues it when asked (billing.Service.CreateInvoice).
func (a *Activities) CreateInvoice(ctx context.Context, in CreateInvoiceInput) (CreateInvoiceResult, error) {
	defer beating(ctx)()
	r, err := a.Billing.CreateInvoice(ctx, in.Client, in.InvoiceOptions)
	return r, invoiceError(err)
}

// CreateInvoicesInput asks for the invoices of several clients for one
// month, as CreateInvoiceInput does for one.
type CreateInvoicesInput struct {
	Clients []string
	InvoiceOptions
	// Summed asks for the result as Batch (what an invoice run needs)
	// rather than a result per client, which is five times larger.
	Summed bool
}

// CreateInvoicesResult has a result per client, in the order asked, or,
// when the input asked for it summed, the batch's sums.
type CreateInvoicesResult struct {
	Invoices []CreateInvoiceResult
	Batch    *InvoiceBatch
}

// InvoiceBatch sums a batch's results: the invoices made (their IDs, to
// render), and how many clients were left out and why.
type InvoiceBatch struct {
	IDs                                 []string
	Skipped, Earlier, Open, Conflicting int
	NextEnd                             time.Time // the first end of the periods still open
	Conflicts                           []string  // the first MaxConflicts, of Conflicting
}

// MaxConflicts is how many conflicts a batch's sums name.
const MaxConflicts = billing.MaxConflicts

// SumCreated sums a batch's results, in the order of the batch (pure: a
// workflow sums a result per client with it).
func SumCreated(rs []CreateInvoiceResult) *InvoiceBatch {
	b := billing.SumCreated(rs)
	return &InvoiceBatch{IDs: b.IDs, Skipped: b.Skipped, Earlier: b.Earlier, Open: b.Open, Conflicting: b.Conflicting,
		NextEnd: b.NextEnd, Conflicts: b.Conflicts}
}

// CreateInvoices creates the invoices of clients, reading their calls in
// one pass over the month. A client whose period is issued is reported
// (Conflict), not an error of the batch.
func (a *Activities) CreateInvoices(ctx context.Context, in CreateInvoicesInput) (CreateInvoicesResult, error) {
	defer beating(ctx)()
	r, err := a.Billing.CreateInvoices(ctx, in.Clients, in.InvoiceOptions, heartbeat(ctx))
	if err == nil {
		issued := int64(0)
		for _, c := range r {
			if c.Number != "" {
				issued++
			}
		}
		count(ctx, "billrun_invoices_issued", issued)
	}
	if errors.Is(err, billing.ErrCallsChanged) {
		err = invoiceError(err)
	}
	if in.Summed {
		return CreateInvoicesResult{Batch: SumCreated(r)}, err
	}
	return CreateInvoicesResult{Invoices: r}, err
}

// ClientsToInvoiceInput asks for a page of the clients that bill runs
// invoice.
type ClientsToInvoiceInput struct {
	After    string // the last client of the page before
	Limit    int
	Reseller string // only this reseller's clients; "" all
}

// ClientsToInvoice lists the active clients with autoinvoice, in ID order.
func (a *Activities) ClientsToInvoice(ctx context.Context, in ClientsToInvoiceInput) ([]string, error) {
	defer beating(ctx)()
	return a.Billing.ClientsToInvoice(ctx, in.After, in.Limit, in.Reseller)
}

// ClientRange names a batch of clients by its bounds: those after After up
// to and including Last, in ID order; Count when listed.
type ClientRange struct {
	After, Last string
	Count       int
}

// ClientRangesInput asks for the next page of the clients that bill runs
// invoice, cut into ranges of Size clients, or, when Size is 0, into Parts
// ranges of at least MinSize.
type ClientRangesInput struct {
	After                string // the last client of the page before
	Limit                int
	Reseller             string // only this reseller's clients; "" all
	Size, Parts, MinSize int
}

// ClientRangesResult is a page of clients as ranges; Full says the page
// had Limit clients: there may be more after its last.
type ClientRangesResult struct {
	Ranges []ClientRange
	Full   bool
}

// ClientRanges lists the next page of clients to invoice as ranges.
func (a *Activities) ClientRanges(ctx context.Context, in ClientRangesInput) (ClientRangesResult, error) {
	defer beating(ctx)()
	rs, full, err := a.Billing.ClientRanges(ctx, in.After, in.Limit, in.Reseller, func(n int) int {
		if in.Size > 0 {
			return in.Size
		}
		return max(in.MinSize, (n+max(in.Parts, 1)-1)/max(in.Parts, 1))
	})
	return rangesOf(rs, full), err
}

// InvoiceRangeInput asks for the invoices of a range of clients of one
// month (those of Reseller when it is not ""), documents included.
type InvoiceRangeInput struct {
	Range    ClientRange
	Reseller string
	InvoiceOptions
}

// InvoiceRangeResult sums a range's invoices: how many clients it had,
// how many got an invoice with its documents, and how many were left out
// and why.
type InvoiceRangeResult struct {
	Clients, Invoiced                   int
	Skipped, Earlier, Open, Conflicting int
	NextEnd                             time.Time // the first end of the periods still open
	Conflicts                           []string  // the first MaxConflicts, of Conflicting
}

// InvoiceRange creates the invoices of a range of clients, then renders
// their documents (billing.Service.InvoiceRange). A client whose period is
// issued is reported (Conflict), not an error of the batch.
func (a *Activities) InvoiceRange(ctx context.Context, in InvoiceRangeInput) (InvoiceRangeResult, error) {
	defer beating(ctx)()
	b, err := a.Billing.InvoiceRange(ctx, billing.ClientRange{After: in.Range.After, Last: in.Range.Last, Count: in.Range.Count},
		in.Reseller, in.InvoiceOptions, heartbeat(ctx))
	if err != nil {
		return InvoiceRangeResult{}, invoiceError(err)
	}
	count(ctx, "billrun_invoices_issued", int64(b.Invoiced)*boolInt(in.Issue))
	return InvoiceRangeResult{Clients: b.Clients, Invoiced: b.Invoiced, Skipped: b.Skipped, Earlier: b.Earlier, Open: b.Open,
		Conflicting: b.Conflicting, NextEnd: b.NextEnd, Conflicts: b.Conflicts}, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ChangeInvoiceInput issues or voids an invoice.
type ChangeInvoiceInput struct {
	ID   string // or number
	Void bool   // else issue
	At   time.Time
}

// ChangeInvoice issues (numbers) or voids an invoice and returns its ID.
func (a *Activities) ChangeInvoice(ctx context.Context, in ChangeInvoiceInput) (string, error) {
	defer beating(ctx)()
	var inv invoice.Stored
	var err error
	if in.Void {
		inv, err = a.Billing.VoidInvoice(ctx, in.ID, in.At)
	} else {
		inv, err = a.Billing.IssueInvoice(ctx, in.ID, in.At)
		if err == nil {
			count(ctx, "billrun_invoices_issued", 1)
		}
	}
	return inv.ID, invoiceError(err)
}

// RenderInvoiceInput names the invoice whose documents to write.
type RenderInvoiceInput struct {
	ID string
}

// RenderInvoice writes an invoice's PDF, JSON and CSV of calls to S3 under
// keys stable per invoice, then records them: a retry overwrites the same
// objects. Documents never travel through workflow payloads.
func (a *Activities) RenderInvoice(ctx context.Context, in RenderInvoiceInput) (map[string]string, error) {
	defer beating(ctx)()
	res, err := a.RenderInvoices(ctx, RenderInvoicesInput{IDs: []string{in.ID}})
	if err != nil {
		return nil, err
	}
	return res.Documents[in.ID], nil
}

// RenderInvoicesInput names the invoices whose documents to write.
type RenderInvoicesInput struct {
	IDs []string
	// CountOnly leaves Documents out of the result: a run of thousands of
	// invoices, which records where they are in the database, keeps its
	// history small.
	CountOnly bool
}

// RenderInvoicesResult has each invoice's documents (pdf, json, csv → S3
// URI), by invoice ID, and how many invoices have them.
type RenderInvoicesResult struct {
	Documents map[string]map[string]string
	Written   int
}

// RenderInvoices writes the documents of invoices as RenderInvoice does,
// reading all their calls in one pass over the month.
func (a *Activities) RenderInvoices(ctx context.Context, in RenderInvoicesInput) (RenderInvoicesResult, error) {
	defer beating(ctx)()
	docs, err := a.Billing.RenderInvoices(ctx, in.IDs, heartbeat(ctx))
	res := RenderInvoicesResult{Documents: docs, Written: len(docs)}
	if in.CountOnly {
		res.Documents = nil
	}
	return res, invoiceError(err)
}

// AdjustInvoicesInput asks for the notes of a month's issued invoices.
type AdjustInvoicesInput struct {
	Period period.Month
	Client string // "" for every client
	Issue  bool
	Now    time.Time
	// MadeBy names the run on the notes it makes; the result then counts
	// them, and NotesMadeBy reads them back. "" (a run started before notes
	// were named) lists them in the result.
	MadeBy string
	// Range, when its Last is set, adjusts only its clients (Client is "").
	Range ClientRange
}

// Adjusted is what adjusting an issued invoice made: its note, or nothing.
type Adjusted = billing.Adjusted

// AdjustInvoicesResult counts the issued invoices looked at and the notes
// made, and lists them only for a run that named none.
type AdjustInvoicesResult struct {
	Notes    []Adjusted
	Invoices int // issued invoices looked at
	Made     int // notes made
}

// AdjustInvoices makes the credit and debit notes that bring the period's
// issued invoices up to date (billing.Service.AdjustInvoices).
func (a *Activities) AdjustInvoices(ctx context.Context, in AdjustInvoicesInput) (AdjustInvoicesResult, error) {
	defer beating(ctx)()
	var notes []Adjusted
	var err error
	if in.Range.Last != "" {
		notes, err = a.Billing.AdjustRange(ctx, in.Period, billing.ClientRange{After: in.Range.After, Last: in.Range.Last}, in.Issue, in.Now, in.MadeBy)
	} else {
		notes, err = a.Billing.AdjustInvoices(ctx, in.Period, in.Client, in.Issue, in.Now, in.MadeBy)
	}
	res := AdjustInvoicesResult{Invoices: len(notes)}
	for _, n := range notes {
		if n.NoteID != "" {
			res.Made++
		}
	}
	if in.MadeBy == "" {
		res.Notes = notes
	}
	return res, invoiceError(err)
}

// NotesToRenderInput pages through the notes an adjust made, by ID.
type NotesToRenderInput struct {
	Period        period.Month
	Client        string
	MadeBy, After string
	Limit         int
}

// NotesToRender lists a page of the notes an adjust made, and of the
// month's issued notes still without documents (billing.Service.NotesToRender).
func (a *Activities) NotesToRender(ctx context.Context, in NotesToRenderInput) ([]string, error) {
	return a.Billing.NotesToRender(ctx, in.Period, in.Client, in.MadeBy, in.After, in.Limit)
}

// RenderNotesResult counts the notes of a page rendered; Last is the page's
// last note, where the next page starts ("" when there was none).
type RenderNotesResult struct {
	Rendered int
	Last     string
}

// RenderNotes renders the documents of a page of the notes an adjust made,
// and of the month's issued notes still without them, listed as
// NotesToRender lists them: the page's IDs never travel through the
// workflow.
func (a *Activities) RenderNotes(ctx context.Context, in NotesToRenderInput) (RenderNotesResult, error) {
	defer beating(ctx)()
	ids, err := a.Billing.NotesToRender(ctx, in.Period, in.Client, in.MadeBy, in.After, in.Limit)
	if err != nil || len(ids) == 0 {
		return RenderNotesResult{}, err
	}
	if _, err := a.Billing.RenderInvoices(ctx, ids, heartbeat(ctx)); err != nil {
		return RenderNotesResult{}, invoiceError(err)
	}
	return RenderNotesResult{Rendered: len(ids), Last: ids[len(ids)-1]}, nil
}

// AdjustRangesInput asks for the next page of a month's clients with an
// issued invoice, cut into ranges of Size.
type AdjustRangesInput struct {
	Period      period.Month
	After       string // the last client of the page before
	Limit, Size int
}

// AdjustRanges lists the next page of the clients an adjust of the month
// looks at, as ranges.
func (a *Activities) AdjustRanges(ctx context.Context, in AdjustRangesInput) (ClientRangesResult, error) {
	defer beating(ctx)()
	rs, full, err := a.Billing.AdjustRanges(ctx, in.Period, in.After, in.Limit, in.Size)
	return rangesOf(rs, full), err
}

// rangesOf is billing's ranges as the activities return them.
func rangesOf(rs []billing.ClientRange, full bool) ClientRangesResult {
	res := ClientRangesResult{Full: full}
	for _, r := range rs {
		res.Ranges = append(res.Ranges, ClientRange{After: r.After, Last: r.Last, Count: r.Count})
	}
	return res
}
