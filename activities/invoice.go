package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// CreateInvoiceInput asks for one client's invoice of one month.
type CreateInvoiceInput struct {
	Client     string
	Period     string // YYYY-MM
	Template   string // "" for the client's
	Issue      bool   // number it right away
	AllowEmpty bool   // create it even with total 0 and no calls
	Now        time.Time
	Rounding   invoice.Rounding
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
	res, err := a.CreateInvoices(ctx, CreateInvoicesInput{Clients: []string{in.Client}, Period: in.Period, Template: in.Template,
		Issue: in.Issue, AllowEmpty: in.AllowEmpty, Now: in.Now, Rounding: in.Rounding})
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
	Clients    []string
	Period     string
	Template   string
	Issue      bool
	AllowEmpty bool
	Now        time.Time
	Rounding   invoice.Rounding
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
	for i, b := range bases {
		if out.Invoices[i], err = a.createInvoice(ctx, b, in); err != nil {
			return CreateInvoicesResult{}, err
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	return out, nil
}

func (a *Activities) createInvoice(ctx context.Context, b postgres.InvoiceBasis, in CreateInvoicesInput) (CreateInvoiceResult, error) {
	res := CreateInvoiceResult{Client: b.Stored.Client}
	// Issued before (a retry after the issue committed): the same invoice.
	if b.Issued.ID != "" {
		res.ID, res.Number = b.Issued.ID, b.Issued.Number
		if !in.Issue {
			res.Conflict = fmt.Sprintf("client %s has invoice %s issued for %s; void it first to invoice again", res.Client, res.Number, in.Period)
		}
		return res, nil
	}
	if in.Template != "" {
		b.Stored.Template = in.Template
	}
	b.Input.Rounding = in.Rounding
	c, err := invoice.Compute(b.Input)
	if err != nil {
		return res, fmt.Errorf("client %s: %w", res.Client, err)
	}
	if c.Total.IsZero() && c.Calls == 0 && !in.AllowEmpty {
		res.Skipped = fmt.Sprintf("client %s has nothing to invoice for %s", res.Client, in.Period)
		return res, nil
	}
	st := b.Stored
	st.State, st.Lines, st.Subtotal, st.Taxes, st.Total = "draft", c.Lines, c.Subtotal, c.Taxes, c.Total
	st.IssueDate, st.DueDate = b.Input.IssueDate, c.DueDate
	if res.ID, err = a.Store.SaveDraft(ctx, st); err != nil {
		if errors.Is(err, postgres.ErrIssued) { // issued since the basis was read
			res.Conflict = err.Error()
			return res, nil
		}
		return res, err
	}
	if in.Issue {
		if res.Number, err = a.Store.Issue(ctx, res.ID, in.Now, a.NumberTemplate); err != nil {
			return res, err
		}
	}
	return res, nil
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
	// The CSVs go through temporary files: a month of calls need not fit in memory.
	dir, err := os.MkdirTemp("", "invoices-*")
	if err != nil {
		return RenderInvoicesResult{}, err
	}
	defer os.RemoveAll(dir)
	if err := a.writeCallFiles(ctx, dir, invs); err != nil {
		return RenderInvoicesResult{}, err
	}
	out := RenderInvoicesResult{Documents: make(map[string]map[string]string, len(invs))}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(renderAtOnce)
	for i := range invs {
		g.Go(func() error {
			docs, err := a.writeDocuments(gctx, invs[i], callFile(dir, i))
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

func callFile(dir string, i int) string { return filepath.Join(dir, strconv.Itoa(i)+".csv") }

// writeCallFiles writes each invoice's CSV of calls to dir, from one query.
func (a *Activities) writeCallFiles(ctx context.Context, dir string, invs []invoice.Stored) error {
	var f *os.File
	var w *invoice.CallsWriter
	next := 0 // the invoice whose file is to be opened next
	closeFile := func() error {
		if f == nil {
			return nil
		}
		err := errors.Join(w.Flush(), f.Close())
		f = nil
		return err
	}
	openUpTo := func(i int) error { // through invoice i; those between have no calls
		for ; next <= i; next++ {
			if err := closeFile(); err != nil {
				return err
			}
			var err error
			if f, err = os.Create(callFile(dir, next)); err != nil {
				return err
			}
			if w, err = invoice.NewCallsWriter(f, invs[next].Currency, invs[next].PeriodStart.Location()); err != nil {
				return err
			}
		}
		return nil
	}
	defer func() { _ = closeFile() }()
	if err := a.Store.InvoiceCalls(ctx, invs, func(i int, c invoice.Call) error {
		if err := openUpTo(i); err != nil {
			return err
		}
		return w.Write(c)
	}); err != nil {
		return err
	}
	if err := openUpTo(len(invs) - 1); err != nil {
		return err
	}
	return closeFile()
}

// writeDocuments renders one invoice's PDF and JSON and uploads them with its
// CSV of calls, under keys stable per invoice: a retry overwrites them.
func (a *Activities) writeDocuments(ctx context.Context, inv invoice.Stored, calls string) (map[string]string, error) {
	base := fmt.Sprintf("invoices/%s/%s/%s", inv.Client, inv.Period, inv.ID)
	docs := map[string]string{"pdf": a.S3.URI(base + ".pdf"), "json": a.S3.URI(base + ".json"), "csv": a.S3.URI(base + ".csv")}
	f, err := os.Open(calls)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := a.S3.Put(ctx, base+".csv", f, "text/csv", nil); err != nil {
		return nil, err
	}
	var ext *pdf.Extended
	if inv.Template == "extended" {
		if ext, err = a.Store.InvoiceDetail(ctx, inv); err != nil {
			return nil, err
		}
	}
	body, err := pdf.Render(inv, a.Issuer, ext)
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
