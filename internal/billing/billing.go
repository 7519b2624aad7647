package billing

import (
	"context"
	"io"
	"time"

	"github.com/billrun/billrun/internal/blob"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/internal/report"
)

// Catalog is the master data as rating reads it.
type Catalog interface {
	CatalogVersion(ctx context.Context) (int64, error)
	Snapshot(ctx context.Context) (catalog.Snapshot, error)
}

// Calls are the CDR files and the rated calls they hold.
type Calls interface {
	InstallationID(ctx context.Context) (string, error)
	IngestedChecksums(ctx context.Context, keys []string) (map[string]string, error)
	Files(ctx context.Context) ([]cdr.FileState, error)
	// Duplicates lists the calls of file key not stored as duplicates; an
	// error wrapping cdr.ErrUnknownFile when no file has key.
	Duplicates(ctx context.Context, key string) ([]cdr.Duplicate, error)
	StartFile(ctx context.Context, f cdr.File) (id int64, skip bool, err error)
	FailFile(ctx context.Context, key, reason string) error
	LoadFile(ctx context.Context, id int64, f cdr.File, src cdr.Source) (cdr.FileStats, error)
	RewriteCalls(ctx context.Context, sel cdr.Selection, w cdr.Rewriter) error
}

// Runs record rerates, so that two never overlap.
type Runs interface {
	BeginRerate(ctx context.Context, id string, from, to time.Time, client, match string) error
	EndRerate(ctx context.Context, id string, result any, failed bool) error
	// RerateRun is a run's state and recorded result (JSON, nil if none).
	RerateRun(ctx context.Context, id string) (string, []byte, error)
	// RerateChanges are the cost differences a run's days recorded:
	// clients' first, then those inside issued invoices' periods.
	RerateChanges(ctx context.Context, id string) ([]cdr.CostChange, error)
	ReleaseRerate(ctx context.Context, id string) error
	RecordBillRun(ctx context.Context, r report.BillRun) error
	BillRuns(ctx context.Context, period, workflowID string) ([]report.BillRun, error)
}

// Invoices are invoices and what they are computed from.
type Invoices interface {
	InvoiceBases(ctx context.Context, clients []string, month period.Month, issue time.Time, withUsage bool) ([]invoice.Basis, error)
	SaveDrafts(ctx context.Context, invs []invoice.Stored) ([]invoice.Saved, error)
	Issue(ctx context.Context, ids []string, at time.Time, templates map[string]string, snaps map[string]invoice.Snapshot) ([]string, error)
	// IssueNotes issues notes computed from the database as it was at
	// since: an error wrapping invoice.ErrNoteOutdated when another note
	// of an invoice was issued since, one with Running() when a rerate of
	// a note's period runs or started since.
	IssueNotes(ctx context.Context, ids []string, at time.Time, templates map[string]string, snaps map[string]invoice.Snapshot, since time.Time) ([]string, error)
	// NotesMadeBy pages through the notes a run named made made.
	NotesMadeBy(ctx context.Context, made string, offset, limit int) ([]invoice.Stored, bool, error)
	// NotesToRender pages, by ID, through the notes of a month a run made
	// and the month's issued notes without documents.
	NotesToRender(ctx context.Context, month period.Month, client, made, after string, limit int) ([]string, error)
	// RerateOver names a rerate that runs over [from, to) ("" for none),
	// and the database's clock.
	RerateOver(ctx context.Context, from, to time.Time) (string, time.Time, error)
	// Void voids an invoice and the notes that correct it, and returns
	// the IDs of those notes.
	Void(ctx context.Context, id string) ([]string, error)
	SetDocuments(ctx context.Context, docs map[string]invoice.Written) error
	Snapshots(ctx context.Context, ids []string) (map[string]invoice.Snapshot, error)
	Invoice(ctx context.Context, id string) (invoice.Stored, error)
	InvoicesByID(ctx context.Context, ids []string) ([]invoice.Stored, error)
	Invoices(ctx context.Context, month period.Month, client string) ([]invoice.Stored, error)
	InvoiceCalls(ctx context.Context, invs []invoice.Stored, fn func(i int, c invoice.Call) error) error
	InvoiceDetails(ctx context.Context, invs []invoice.Stored) ([]*invoice.Detail, error)
	ClientsToInvoice(ctx context.Context, after, through string, limit int, reseller string) ([]string, error)
	ClientsOf(ctx context.Context, reseller string) ([]string, error)
	// InvoicesIn lists a month's invoices of a range of clients;
	// IssuedClients pages through the clients with an issued invoice.
	InvoicesIn(ctx context.Context, month period.Month, after, last string) ([]invoice.Stored, error)
	IssuedClients(ctx context.Context, month period.Month, after string, limit int) ([]string, error)
	// BilledCSVs lists where the calls CSVs of invoices and their issued
	// notes are.
	BilledCSVs(ctx context.Context, ids []string) ([]invoice.Billed, error)
}

// Reports read what the checks and reports show.
type Reports interface {
	ReadinessFacts(ctx context.Context, month period.Month, scope readiness.Scope, pending []readiness.File) (readiness.Facts, error)
	PeriodSpan(ctx context.Context, month period.Month) (time.Time, time.Time, error)
	Summary(ctx context.Context, q report.Summary) ([]report.SummaryRow, error)
	Mismatches(ctx context.Context, from, to time.Time) ([]report.MismatchRow, error)
	MismatchDetails(ctx context.Context, from, to time.Time, limit int) ([]report.MismatchDetail, int64, error)
	ReconcileGroups(ctx context.Context, month period.Month, client string, due map[string][]string) ([]report.ReconcileGroup, error)
}

// Store is the database billing keeps its data in (postgres.Store).
type Store interface {
	Catalog
	Calls
	Runs
	Invoices
	Reports
	Archives
	Ledgers
}

// Objects is the bucket of the CDR inbox and the invoice documents
// (s3store.Store).
type Objects interface {
	Bucket() string
	URI(key string) string
	Walk(ctx context.Context, prefix, after string, fn func([]blob.Object) (bool, error)) error
	Open(ctx context.Context, key string) (io.ReadCloser, blob.Object, error)
	Put(ctx context.Context, key string, body io.Reader, contentType string, meta map[string]string) (string, error)
	// PutNew writes key once: an error wrapping blob.ErrExists when an
	// object is there already.
	PutNew(ctx context.Context, key string, body io.Reader, contentType string) (string, error)
}

// Workflows tells whether the workflow with an ID still runs.
type Workflows interface {
	Open(ctx context.Context, workflowID string) (bool, error)
}

// Service is billrun's use cases over a store and a bucket.
type Service struct {
	Store   Store
	Objects Objects
	Engines *Engines
	// Seller is printed on invoices; NumberTemplate numbers them, and the
	// note templates number credit and debit notes.
	Seller                                invoice.Seller
	NumberTemplate                        string
	CreditNoteTemplate, DebitNoteTemplate string
	// Workflows tells whether a run recorded as running still runs; nil
	// takes every recorded run for running.
	Workflows Workflows
	// Clock is the time; nil is time.Now.
	Clock func() time.Time
}

// New wires billing with the default seller and number template.
func New(store Store, objects Objects) *Service {
	return &Service{Store: store, Objects: objects, Engines: NewEngines(store),
		Seller: invoice.Seller{Name: "billrun"}, NumberTemplate: "INV-{YYYY}-{SEQ:6}", CreditNoteTemplate: "CN-{YYYY}-{SEQ:6}",
		DebitNoteTemplate: "DN-{YYYY}-{SEQ:6}"}
}

// templates are the numbering templates by kind of document.
func (s *Service) templates() map[string]string {
	return map[string]string{invoice.KindInvoice: s.NumberTemplate, invoice.KindCreditNote: s.CreditNoteTemplate,
		invoice.KindDebitNote: s.DebitNoteTemplate}
}

func (b *Service) now() time.Time {
	if b.Clock != nil {
		return b.Clock()
	}
	return time.Now()
}

// Heartbeat reports progress of a long step (an activity's heartbeat);
// nil reports nothing.
type Heartbeat func(details any)

func (h Heartbeat) beat(details any) {
	if h != nil {
		h(details)
	}
}
