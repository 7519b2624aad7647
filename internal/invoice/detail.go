package invoice

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// Seller is who sends invoices: printed on every document.
type Seller struct {
	Name    string
	Address string
	TaxID   string
	Email   string
}

// RateUse is one rate's use within an invoice, for the extended template.
type RateUse struct {
	Description   string
	Code          string
	PerMinute     decimal.Decimal
	Calls         int64
	BilledSeconds int64
	Amount        decimal.Decimal // exact
}

// DayUse is one day's use within an invoice, in the client's zone.
type DayUse struct {
	Day           time.Time
	Calls         int64
	BilledSeconds int64
	Amount        decimal.Decimal // exact
}

// OriginUse is the use of the calls from one origin, named by the source
// deck of the calls' rate table ("" for origins it does not name).
type OriginUse struct {
	Name          string
	Calls         int64
	BilledSeconds int64
	Amount        decimal.Decimal // exact
}

// Detail is what the extended template shows beyond the lines: use per rate
// and per day of the invoice's billable calls, and per origin where rate
// tables name origins.
type Detail struct {
	Rates   []RateUse
	Days    []DayUse
	Origins []OriginUse `json:",omitempty"`
}

// Basis is what an invoice of a client and period is computed from.
type Basis struct {
	Stored   Stored // identity and client details; no lines yet
	Input    Input
	Location *time.Location
	Issued   IssuedRef // the period's issued invoice, if any
}

// IssuedRef names an issued invoice.
type IssuedRef struct {
	ID, Number string
}

// Saved is what became of a draft: its ID, or the ID and number (Issued) of
// the issued invoice that its period already has: issued invoices never
// change.
type Saved struct {
	ID     string
	Issued string
}

// ErrNotFound is wrapped by the error for an unknown invoice.
var ErrNotFound = errors.New("no such invoice")

// ErrNoClient is wrapped by the error for a client the master data does not
// hold: asking again does not help.
var ErrNoClient = errors.New("no such client")

// ErrNoteOutdated is wrapped by the error for issuing a note computed
// before another note of its invoice was issued: it would bill the same
// correction twice. Computing the correction again puts it right.
var ErrNoteOutdated = errors.New("another note of its invoice was issued since it was computed")

// ErrPreview is wrapped by the error for issuing a preview: a preview of a
// period that has not ended is never issued.
var ErrPreview = errors.New("a preview is never issued")

// Snapshot is what an invoice's documents list beyond its lines, as it was
// when the invoice was issued: its calls as the CSV shows them, gzipped, and
// the extended template's detail (nil for the default template).
type Snapshot struct {
	Calls  []byte
	Detail *Detail
}
