package rerate

import (
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/rating"
)

// Rerater rates stored calls again with one engine snapshot, replaces the
// ratings that changed and tallies the changes. A store hands it the calls
// of one day in one transaction and writes back those it
// changed.
type Rerater struct {
	engine   *rating.Engine
	tally    Tally
	invoices Reach
	res      rating.Result
	now      cdr.Rating
}

// NewRerater rerates with e.
func NewRerater(e *rating.Engine) *Rerater { return &Rerater{engine: e} }

// Begin starts (or starts again) a slice whose calls issued may cover: a
// store that retries its transaction calls it again.
func (r *Rerater) Begin(issued []cdr.Issued) {
	r.tally = Tally{}
	r.invoices = ReachOf(issued)
}

// Rewrite rates rec again and reports whether its stored rating changed, in
// which case stored now holds the new one.
func (r *Rerater) Rewrite(rec *cdr.Record, stored *cdr.Rating) bool {
	ingest.Rate(r.engine, rec, &r.res, &r.now)
	if !r.tally.Add(rec.ConnectTime, stored, &r.now, r.invoices) {
		return false
	}
	*stored = r.now
	return true
}

// Summary is what the slice changed.
func (r *Rerater) Summary() Summary { return r.tally.Summary() }

// Changes are the slice's cost differences, by client and currency, and
// inside issued invoices' periods.
func (r *Rerater) Changes() []cdr.CostChange { return r.tally.Changes() }
