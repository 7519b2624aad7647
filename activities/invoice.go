package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/pdf"
	"github.com/billrun/billrun/internal/postgres"
)

// Error types of the invoice activities that are not retried.
const (
	// ErrInvoiceIssued: the client's period has an issued invoice.
	ErrInvoiceIssued = "InvoiceIssued"
	// ErrInvoiceNotFound: no invoice has the ID.
	ErrInvoiceNotFound = "InvoiceNotFound"
)

// InvoiceOptions say how to invoice a month, for one client or many.
type InvoiceOptions struct {
	Period     string // YYYY-MM
	Template   string // "" for the client's
	Issue      bool   // number it right away
	AllowEmpty bool   // create it even with total 0 and no calls
	Now        time.Time
	Rounding   invoice.Rounding
}

// CreateInvoiceInput asks for one client's invoice of one month.
type CreateInvoiceInput struct {
	Client string
	InvoiceOptions
}

// CreateInvoiceResult names the invoice, or why there is none.
type CreateInvoiceResult struct {
	Client  string
	ID      string
	Number  string
	Skipped string // why no invoice was created
	// Conflict says that the period has an issued invoice (ID, Number) and
	// no new one was made: it must be voided first.
	Conflict string
}

// CreateInvoice computes the invoice and stores it as the period's draft
// (replacing an earlier draft), then issues it when asked. Run again, it
// replaces the draft with the same content: one invoice, one number.
func (a *Activities) CreateInvoice(ctx context.Context, in CreateInvoiceInput) (CreateInvoiceResult, error) {
	res, err := a.CreateInvoices(ctx, CreateInvoicesInput{Clients: []string{in.Client}, InvoiceOptions: in.InvoiceOptions})
	if err != nil {
		return CreateInvoiceResult{}, err
	}
	r := res.Invoices[0]
	if r.Conflict != "" {
		return CreateInvoiceResult{}, temporal.NewNonRetryableApplicationError(r.Conflict, ErrInvoiceIssued, nil)
	}
	return r, nil
}

// CreateInvoicesInput asks for the invoices of several clients for one
// month, as CreateInvoiceInput does for one.
type CreateInvoicesInput struct {
	Clients []string
	InvoiceOptions
}

// CreateInvoicesResult has a result per client, in the order asked.
type CreateInvoicesResult struct {
	Invoices []CreateInvoiceResult
}

// CreateInvoices creates the invoices of clients as CreateInvoice does,
// reading their calls in one pass over the month. A client whose period
// is issued is reported (Conflict), not an error of the batch.
func (a *Activities) CreateInvoices(ctx context.Context, in CreateInvoicesInput) (CreateInvoicesResult, error) {
	bases, err := a.Store.InvoiceBases(ctx, in.Clients, in.Period, in.Now)
	if err != nil {
		return CreateInvoicesResult{}, err
	}
	out := CreateInvoicesResult{Invoices: make([]CreateInvoiceResult, len(bases))}
	var drafts []invoice.Stored
	var at []int // drafts[k] is the invoice of bases[at[k]]
	for i, b := range bases {
		r := &out.Invoices[i]
		r.Client = b.Stored.Client
		// Issued before (a retry after the issue committed): the same invoice.
		if b.Issued.ID != "" {
			r.ID, r.Number = b.Issued.ID, b.Issued.Number
			continue
		}
		if in.Template != "" {
			b.Stored.Template = in.Template
		}
		b.Input.Rounding = in.Rounding
		c, err := invoice.Compute(b.Input)
		if err != nil {
			return CreateInvoicesResult{}, fmt.Errorf("client %s: %w", r.Client, err)
		}
		if c.Total.IsZero() && c.Calls == 0 && !in.AllowEmpty {
			r.Skipped = fmt.Sprintf("client %s has nothing to invoice for %s", r.Client, in.Period)
			continue
		}
		st := b.Stored
		st.State, st.Lines, st.Subtotal, st.Taxes, st.Total = "draft", c.Lines, c.Subtotal, c.Taxes, c.Total
		st.IssueDate, st.DueDate = b.Input.IssueDate, c.DueDate
		drafts, at = append(drafts, st), append(at, i)
	}
	saved, err := a.Store.SaveDrafts(ctx, drafts)
	if err != nil {
		return CreateInvoicesResult{}, err
	}
	for k, sv := range saved {
		r := &out.Invoices[at[k]]
		r.ID, r.Number = sv.ID, sv.Issued // a number: issued since the bases were read
	}
	for i := range out.Invoices {
		r := &out.Invoices[i]
		switch {
		case r.Number != "" && !in.Issue:
			r.Conflict = fmt.Sprintf("client %s has invoice %s issued for %s; void it first to invoice again", r.Client, r.Number, in.Period)
		case r.Number == "" && r.ID != "" && in.Issue:
			if r.Number, err = a.Store.Issue(ctx, r.ID, in.Now, a.NumberTemplate); err != nil {
				return CreateInvoicesResult{}, err
			}
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	return out, nil
}

// ClientsToInvoiceInput asks for a page of the clients that bill runs
// invoice.
type ClientsToInvoiceInput struct {
	After string // the last client of the page before
	Limit int
}

// ClientsToInvoice lists the active clients with autoinvoice, in ID order.
func (a *Activities) ClientsToInvoice(ctx context.Context, in ClientsToInvoiceInput) ([]string, error) {
	return a.Store.ClientsToInvoice(ctx, in.After, in.Limit)
}

// RenderInvoiceInput names the invoice whose documents to write.
type RenderInvoiceInput struct {
	ID string
}

// RenderInvoice writes an invoice's PDF, JSON and CSV of calls to S3 under
// keys stable per invoice, then records them: a retry overwrites the same
// objects. Documents never travel through workflow payloads.
func (a *Activities) RenderInvoice(ctx context.Context, in RenderInvoiceInput) (map[string]string, error) {
	res, err := a.RenderInvoices(ctx, RenderInvoicesInput{IDs: []string{in.ID}})
	if err != nil {
		return nil, err
	}
	return res.Documents[in.ID], nil
}

// RenderInvoicesInput names the invoices whose documents to write.
type RenderInvoicesInput struct {
	IDs []string
}

// RenderInvoicesResult has each invoice's documents (pdf, json, csv → S3
// URI), by invoice ID.
type RenderInvoicesResult struct {
	Documents map[string]map[string]string
}

// renderAtOnce is how many invoices' documents are rendered and uploaded at
// once: enough to keep both the CPU and the S3 connection busy.
const renderAtOnce = 4

// RenderInvoices writes the documents of invoices as RenderInvoice does,
// reading all their calls in one pass over the month.
func (a *Activities) RenderInvoices(ctx context.Context, in RenderInvoicesInput) (RenderInvoicesResult, error) {
	invs, err := a.Store.InvoicesByID(ctx, in.IDs)
	if err != nil {
		if errors.Is(err, postgres.ErrNotFound) {
			return RenderInvoicesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvoiceNotFound, err)
		}
		return RenderInvoicesResult{}, err
	}
	// The CSVs go through a temporary file: a month of calls need not fit in memory.
	tmp, err := os.CreateTemp("", "invoice-calls-*.csv")
	if err != nil {
		return RenderInvoicesResult{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	calls, err := a.writeCalls(ctx, tmp, invs)
	if err != nil {
		return RenderInvoicesResult{}, err
	}
	details, err := a.details(ctx, invs)
	if err != nil {
		return RenderInvoicesResult{}, err
	}
	out := RenderInvoicesResult{Documents: make(map[string]map[string]string, len(invs))}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(renderAtOnce)
	for i := range invs {
		g.Go(func() error {
			docs, err := a.writeDocuments(gctx, invs[i], calls[i], details[i])
			if err != nil {
				return fmt.Errorf("invoice %s: %w", invs[i].ID, err)
			}
			mu.Lock()
			defer mu.Unlock()
			out.Documents[invs[i].ID] = docs
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, len(out.Documents))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return RenderInvoicesResult{}, err
	}
	return out, a.Store.SetDocuments(ctx, out.Documents)
}

// details reads what the extended template adds for the invoices that use
// it, in one pass; the others get nil.
func (a *Activities) details(ctx context.Context, invs []invoice.Stored) ([]*invoice.Detail, error) {
	out := make([]*invoice.Detail, len(invs))
	var ext []invoice.Stored
	var at []int
	for i, inv := range invs {
		if inv.Template == "extended" {
			ext, at = append(ext, inv), append(at, i)
		}
	}
	if len(ext) == 0 {
		return out, nil
	}
	exts, err := a.Store.InvoiceDetails(ctx, ext)
	for k, e := range exts {
		out[at[k]] = e
	}
	return out, err
}

// writeCalls writes each invoice's CSV of calls to f, from one query, and
// returns the section of f that holds each.
func (a *Activities) writeCalls(ctx context.Context, f *os.File, invs []invoice.Stored) ([]*io.SectionReader, error) {
	buf := bufio.NewWriterSize(f, 1<<16)
	out := &countingWriter{w: buf}
	sections := make([]*io.SectionReader, len(invs))
	cur := -1 // the invoice whose CSV is being written
	var w *invoice.CallsWriter
	var start int64
	// advance ends the current CSV and starts the next ones up to invoice
	// i's: those in between have no calls, only a header.
	advance := func(i int) error {
		for cur < i {
			if cur >= 0 {
				if err := w.Flush(); err != nil {
					return err
				}
				sections[cur] = io.NewSectionReader(f, start, out.n-start)
				start = out.n
			}
			if cur++; cur == len(invs) {
				return nil
			}
			if activity.IsActivity(ctx) { // a batch's calls can take a while
				activity.RecordHeartbeat(ctx, cur)
			}
			var err error
			if w, err = invoice.NewCallsWriter(out, invs[cur].Currency, invs[cur].PeriodStart.Location()); err != nil {
				return err
			}
		}
		return nil
	}
	if err := advance(0); err != nil {
		return nil, err
	}
	if err := a.Store.InvoiceCalls(ctx, invs, func(i int, c invoice.Call) error {
		if err := advance(i); err != nil {
			return err
		}
		return w.Write(c)
	}); err != nil {
		return nil, err
	}
	if err := advance(len(invs)); err != nil {
		return nil, err
	}
	return sections, buf.Flush()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeDocuments renders one invoice's PDF and JSON and uploads them with its
// CSV of calls, under keys stable per invoice: a retry overwrites them.
func (a *Activities) writeDocuments(ctx context.Context, inv invoice.Stored, calls *io.SectionReader, ext *invoice.Detail) (map[string]string, error) {
	base := fmt.Sprintf("invoices/%s/%s/%s", inv.Client, inv.Period, inv.ID)
	docs := map[string]string{"pdf": a.S3.URI(base + ".pdf"), "json": a.S3.URI(base + ".json"), "csv": a.S3.URI(base + ".csv")}
	if _, err := a.S3.Put(ctx, base+".csv", calls, "text/csv", nil); err != nil {
		return nil, err
	}
	body, err := pdf.Render(inv, a.Seller, ext)
	if err != nil {
		return nil, err
	}
	if _, err := a.S3.Put(ctx, base+".pdf", bytes.NewReader(body), "application/pdf", nil); err != nil {
		return nil, err
	}
	inv.Documents = docs
	js, err := json.MarshalIndent(inv.Document(), "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := a.S3.Put(ctx, base+".json", bytes.NewReader(js), "application/json", nil); err != nil {
		return nil, err
	}
	return docs, nil
}
