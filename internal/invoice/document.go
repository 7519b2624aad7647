package invoice

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/billrun/billrun/internal/period"
	"github.com/shopspring/decimal"
)

// Stored is an invoice as kept: computed lines plus its identity and state.
type Stored struct {
	ID          string
	Number      string // "" for a draft
	State       string // draft, issued, void
	Client      string
	Period      period.Month
	ClientName  string
	Address     string
	Email       string
	PeriodStart time.Time
	PeriodEnd   time.Time
	IssueDate   time.Time
	DueDate     time.Time
	Currency    string
	Template    string
	Lines       []Line
	Subtotal    decimal.Decimal
	Taxes       []TaxLine
	Total       decimal.Decimal
	Documents   map[string]string // pdf, json, csv → s3:// URI
	Sums        map[string]string // pdf, json, csv → SHA-256 (hex) as written
	Kind        string            // invoice, credit_note or debit_note; "" is invoice
	Corrects    *Ref              // the invoice a note corrects
	Rounding    Rounding          // how the subtotal was formed
	Preview     bool              // a draft of a period that has not ended (billing-rules §7)
	Reseller    string            // the reseller that issues it, "" for the carrier: set when the draft is made
	// NotesBefore is, on a note, how many issued notes its invoice had when
	// the note was computed: it is issued only while that still holds.
	NotesBefore int
	// MadeBy names, on a note, the run that made it (an adjust's), "" when
	// none was named; it is written with the draft, never read back.
	MadeBy string
}

// FileName is the name its downloaded documents take, before the
// extension: the number with its slashes as dashes (one file name, whatever
// the template), or draft-ID.
func (s Stored) FileName() string {
	if s.Number == "" {
		return "draft-" + s.ID
	}
	return strings.ReplaceAll(s.Number, "/", "-")
}

// Ref names an invoice.
type Ref struct {
	ID     string `json:"id"`
	Number string `json:"number"`
}

// Written is where an invoice's documents were written, and their SHA-256.
type Written struct {
	URIs map[string]string
	Sums map[string]string
}

// Document is the invoice JSON of interfaces.md; amounts are strings.
type Document struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"` // invoice, credit_note or debit_note
	Corrects    *Ref              `json:"corrects,omitempty"`
	Preview     bool              `json:"preview,omitempty"`
	Number      *string           `json:"number"`
	State       string            `json:"state"`
	Client      string            `json:"client"`
	PeriodStart string            `json:"period_start"`
	PeriodEnd   string            `json:"period_end"`
	IssueDate   string            `json:"issue_date"`
	DueDate     string            `json:"due_date"`
	Currency    string            `json:"currency"`
	Template    string            `json:"template"`
	Lines       []DocumentLine    `json:"lines"`
	Subtotal    string            `json:"subtotal"`
	Taxes       []DocumentTax     `json:"taxes"`
	Total       string            `json:"total"`
	Documents   map[string]string `json:"documents"`
}

// DocumentLine is a line of the JSON document.
type DocumentLine struct {
	Kind          string `json:"kind"`
	Description   string `json:"description"`
	Code          string `json:"code,omitempty"`
	Calls         *int64 `json:"calls,omitempty"`
	BilledSeconds *int64 `json:"billed_seconds,omitempty"`
	Quantity      int    `json:"quantity,omitempty"`
	Amount        string `json:"amount"`
}

// DocumentTax is a tax of the JSON document.
type DocumentTax struct {
	Name     string `json:"name"`
	Percent  string `json:"percent"`
	Amount   string `json:"amount"`
	Included bool   `json:"included"`
}

// Document returns the JSON document of s.
func (s Stored) Document() Document {
	doc := Document{ID: s.ID, Kind: s.Kind, Corrects: s.Corrects, Preview: s.Preview, State: s.State, Client: s.Client,
		PeriodStart: s.PeriodStart.UTC().Format(time.RFC3339), PeriodEnd: s.PeriodEnd.UTC().Format(time.RFC3339),
		IssueDate: s.IssueDate.Format(time.DateOnly), DueDate: s.DueDate.Format(time.DateOnly), Currency: s.Currency,
		Template: s.Template, Subtotal: s.Subtotal.StringFixed(2), Total: s.Total.StringFixed(2),
		Lines: []DocumentLine{}, Taxes: []DocumentTax{}, Documents: map[string]string{}}
	if doc.Kind == "" {
		doc.Kind = KindInvoice
	}
	if s.Number != "" {
		n := s.Number
		doc.Number = &n
	}
	for _, l := range s.Lines {
		dl := DocumentLine{Kind: l.Kind, Description: l.Description, Code: l.Code, Quantity: l.Quantity, Amount: l.Amount.StringFixed(2)}
		if l.Kind == KindUsage {
			c, b := l.Calls, l.BilledSeconds
			dl.Calls, dl.BilledSeconds = &c, &b
		}
		doc.Lines = append(doc.Lines, dl)
	}
	for _, t := range s.Taxes {
		doc.Taxes = append(doc.Taxes, DocumentTax{Name: t.Name, Percent: t.Percent.String(), Amount: t.Amount.StringFixed(2), Included: t.Included})
	}
	for k, v := range s.Documents {
		doc.Documents[k] = v
	}
	return doc
}

var seqRe = regexp.MustCompile(`\{SEQ(?::(\d+))?\}`)

// FormatNumber renders a numbering template such as "INV-{YYYY}-{SEQ:6}":
// {YYYY}, {YY}, {MM} of the issue date and {SEQ} or {SEQ:n} (zero-padded).
func FormatNumber(template string, seq int64, issued time.Time) (string, error) {
	if !seqRe.MatchString(template) {
		return "", fmt.Errorf("invoice number template %q has no {SEQ}", template)
	}
	out := strings.NewReplacer("{YYYY}", issued.Format("2006"), "{YY}", issued.Format("06"), "{MM}", issued.Format("01")).Replace(template)
	return seqRe.ReplaceAllStringFunc(out, func(m string) string {
		width := 0
		if sub := seqRe.FindStringSubmatch(m); sub[1] != "" {
			width, _ = strconv.Atoi(sub[1])
		}
		return fmt.Sprintf("%0*d", width, seq)
	}), nil
}

// Call is one billable call of an invoice, for its CSV.
type Call struct {
	ConnectTime   time.Time
	CallID        string
	Source        string
	Destination   string
	Code          string
	Description   string
	Duration      decimal.Decimal // seconds
	BilledSeconds int64
	Cost          decimal.Decimal
	Gross         bool // its rate includes taxes (not in the CSV)
}

// CallsHeader is the CSV header of an invoice's calls.
var CallsHeader = []string{"connect_time", "call_id", "source", "destination", "code", "description", "duration", "billed_seconds", "cost", "currency"}

// CallsWriter writes an invoice's calls as CSV, escaping cells that a
// spreadsheet would run as a formula.
type CallsWriter struct {
	w        *csv.Writer
	currency string
	loc      *time.Location
}

// NewCallsWriter writes the header and returns the writer; times are shown
// in loc, the client's zone.
func NewCallsWriter(out io.Writer, currency string, loc *time.Location) (*CallsWriter, error) {
	w := &CallsWriter{w: csv.NewWriter(out), currency: currency, loc: loc}
	return w, w.w.Write(CallsHeader)
}

// Write writes one call.
func (w *CallsWriter) Write(c Call) error {
	return w.w.Write([]string{c.ConnectTime.In(w.loc).Format(time.RFC3339), Cell(c.CallID), Cell(c.Source), Cell(c.Destination),
		Cell(c.Code), Cell(c.Description), c.Duration.String(), strconv.FormatInt(c.BilledSeconds, 10), c.Cost.StringFixed(6), w.currency})
}

// Flush flushes the CSV.
func (w *CallsWriter) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Cell escapes a text cell that begins with =, +, - or @ (or a tab or
// carriage return, which some spreadsheets skip) by a leading quote, so that
// no spreadsheet runs it as a formula.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
