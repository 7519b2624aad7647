package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/pdf"
	"github.com/billrun/billrun/internal/postgres"
)

// ErrInvoiceIssued is the error type of creating an invoice for a period
// that has an issued one; it is not retried.
const ErrInvoiceIssued = "InvoiceIssued"

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
	ID      string
	Number  string
	Skipped string // why no invoice was created
}

// CreateInvoice computes the invoice and stores it as the period's draft
// (replacing an earlier draft), then issues it when asked. Run again, it
// replaces the draft with the same content: one invoice, one number.
func (a *Activities) CreateInvoice(ctx context.Context, in CreateInvoiceInput) (CreateInvoiceResult, error) {
	b, err := a.Store.InvoiceBasis(ctx, in.Client, in.Period, in.Now)
	if err != nil {
		return CreateInvoiceResult{}, err
	}
	// Issued before (a retry after the issue committed): the same invoice.
	if id, number, err := a.Store.IssuedInvoice(ctx, in.Client, b.Stored.PeriodStart); err != nil {
		return CreateInvoiceResult{}, err
	} else if id != "" {
		if in.Issue {
			return CreateInvoiceResult{ID: id, Number: number}, nil
		}
		err := fmt.Errorf("client %s has invoice %s issued for %s; void it first to invoice again", in.Client, number, in.Period)
		return CreateInvoiceResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvoiceIssued, err)
	}
	if in.Template != "" {
		b.Stored.Template = in.Template
	}
	b.Input.Rounding = in.Rounding
	c, err := invoice.Compute(b.Input)
	if err != nil {
		return CreateInvoiceResult{}, err
	}
	if c.Total.IsZero() && c.Calls == 0 && !in.AllowEmpty {
		return CreateInvoiceResult{Skipped: fmt.Sprintf("client %s has nothing to invoice for %s", in.Client, in.Period)}, nil
	}
	st := b.Stored
	st.State, st.Lines, st.Subtotal, st.Taxes, st.Total = "draft", c.Lines, c.Subtotal, c.Taxes, c.Total
	st.IssueDate, st.DueDate = b.Input.IssueDate, c.DueDate
	id, err := a.Store.SaveDraft(ctx, st)
	if err != nil {
		if errors.Is(err, postgres.ErrIssued) {
			return CreateInvoiceResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvoiceIssued, err)
		}
		return CreateInvoiceResult{}, err
	}
	res := CreateInvoiceResult{ID: id}
	if in.Issue {
		if res.Number, err = a.Store.Issue(ctx, id, in.Now, a.NumberTemplate); err != nil {
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
	inv, err := a.Store.Invoice(ctx, in.ID)
	if err != nil {
		if errors.Is(err, postgres.ErrNotFound) {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvoiceNotFound", err)
		}
		return nil, err
	}
	base := fmt.Sprintf("invoices/%s/%s/%s", inv.Client, inv.Period, inv.ID)
	docs := map[string]string{"pdf": a.S3.URI(base + ".pdf"), "json": a.S3.URI(base + ".json"), "csv": a.S3.URI(base + ".csv")}

	// The CSV goes through a temporary file: a month of calls need not fit in memory.
	tmp, err := os.CreateTemp("", "invoice-*.csv")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w, err := invoice.NewCallsWriter(tmp, inv.Currency, inv.PeriodStart.Location())
	if err != nil {
		return nil, err
	}
	if err := a.Store.InvoiceCalls(ctx, inv, w.Write); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return nil, err
	}
	if _, err := a.S3.Put(ctx, base+".csv", tmp, "text/csv", nil); err != nil {
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
	return docs, a.Store.SetDocuments(ctx, inv.ID, docs)
}
