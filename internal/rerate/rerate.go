// Package rerate tallies what rerating changed (billing-rules §4): calls
// examined, changed, newly matched, still mismatched, the cost difference
// per client and currency, and the part of it that falls in issued invoices
// (an adjustment due: issued invoices never change). It is pure.
package rerate

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
)

// Match selects calls by their state before rerating.
type Match string

// Match states.
const (
	All        Match = "all"
	Matched    Match = "matched"
	Mismatched Match = "mismatched"
	// Stale calls were rated before their rating data last changed
	// (billing-rules §7).
	Stale Match = "stale"
	// MismatchedOrStale is what a bill run resolved with a rerate rerates.
	MismatchedOrStale Match = "mismatched_or_stale"
)

// ParseMatch checks a match state.
func ParseMatch(s string) (Match, bool) {
	switch m := Match(s); m {
	case All, Matched, Mismatched, Stale, MismatchedOrStale:
		return m, true
	}
	return "", false
}

// Invoice is an issued invoice's reach: its client and period.
type Invoice = cdr.Issued

// Tally accumulates a rerate's figures.
type Tally struct {
	Examined        int64
	Changed         int64
	NewlyMatched    int64
	NewlyMismatched int64
	StillMismatched int64
	diffs           map[ClientCurrency]rating.Money
	adjust          map[string]rating.Money // invoice ID → difference
	invoices        map[string]Invoice
	months          map[string]bool // of the invoices adjusted, merged from counts
}

// Reach is the issued invoices that may cover a rerate's calls, by client:
// a changed call looks at its client's invoices only (a scan of every
// invoice for every call made a rerate of 50,000 clients 17 times as long
// as one of 10,000).
type Reach map[string][]Invoice

// ReachOf indexes invoices by client.
func ReachOf(invoices []Invoice) Reach {
	r := make(Reach, len(invoices))
	for _, inv := range invoices {
		r[inv.Client] = append(r[inv.Client], inv)
	}
	return r
}

// ClientCurrency keys cost differences.
type ClientCurrency struct{ Client, Currency string }

// Add counts one call rerated from old to new at connect time t and
// reports whether its rating changed; invoices are the issued invoices that
// may cover it.
func (t *Tally) Add(at time.Time, old, new *cdr.Rating, invoices Reach) bool {
	t.Examined++
	if *old == *new {
		if !old.IsRated() {
			t.StillMismatched++
		}
		return false
	}
	t.Changed++
	switch {
	case !old.IsRated() && new.IsRated():
		t.NewlyMatched++
	case old.IsRated() && !new.IsRated():
		t.NewlyMismatched++
	case !old.IsRated() && !new.IsRated():
		t.StillMismatched++
	}
	if old.IsRated() {
		t.add(at, old.Client, old.Currency, -rating.Money(old.Cost), invoices)
	}
	if new.IsRated() {
		t.add(at, new.Client, new.Currency, rating.Money(new.Cost), invoices)
	}
	return true
}

func (t *Tally) add(at time.Time, client, currency string, d rating.Money, invoices Reach) {
	if d == 0 {
		return
	}
	if t.diffs == nil {
		t.diffs = map[ClientCurrency]rating.Money{}
	}
	t.diffs[ClientCurrency{client, currency}] += d
	for _, inv := range invoices[client] {
		if !at.Before(inv.From) && at.Before(inv.To) {
			if t.adjust == nil {
				t.adjust, t.invoices = map[string]rating.Money{}, map[string]Invoice{}
			}
			t.adjust[inv.ID] += d
			t.invoices[inv.ID] = inv
		}
	}
}

// Merge adds another tally (of another batch) to t.
func (t *Tally) Merge(o Summary) {
	t.Examined += o.Examined
	t.Changed += o.Changed
	t.NewlyMatched += o.NewlyMatched
	t.NewlyMismatched += o.NewlyMismatched
	t.StillMismatched += o.StillMismatched
	for _, d := range o.Differences {
		if t.diffs == nil {
			t.diffs = map[ClientCurrency]rating.Money{}
		}
		t.diffs[ClientCurrency{d.Client, d.Currency}] += d.Amount
	}
	for _, a := range o.Adjustments {
		if t.adjust == nil {
			t.adjust, t.invoices = map[string]rating.Money{}, map[string]Invoice{}
		}
		t.adjust[a.Invoice.ID] += a.Amount
		t.invoices[a.Invoice.ID] = a.Invoice
	}
	for _, m := range o.Months {
		if t.months == nil {
			t.months = map[string]bool{}
		}
		t.months[m] = true
	}
}

// Difference is the cost difference of one client in one currency.
type Difference struct {
	Client   string
	Currency string
	Amount   rating.Money
}

// Adjustment is a difference inside an issued invoice's period.
type Adjustment struct {
	Invoice Invoice
	Amount  rating.Money
}

// Summary is a tally in a stable, serialisable form.
type Summary struct {
	Examined        int64
	Changed         int64
	NewlyMatched    int64
	NewlyMismatched int64
	StillMismatched int64
	Differences     []Difference // by client, currency
	Adjustments     []Adjustment // by invoice number
	// Months are the months of the issued invoices whose calls changed,
	// in order: those that may need notes.
	Months []string
}

// Counts is s without its lists of differences and adjustments, which grow
// with the clients: what a run's workflow carries, the lists being kept with
// the run in the database.
func (s Summary) Counts() Summary {
	s.Differences, s.Adjustments = nil, nil
	return s
}

// Changes are the tally's cost differences, as a store records them.
func (t *Tally) Changes() []cdr.CostChange {
	s := t.Summary()
	out := make([]cdr.CostChange, 0, len(s.Differences)+len(s.Adjustments))
	for _, d := range s.Differences {
		out = append(out, cdr.CostChange{Client: d.Client, Currency: d.Currency, Amount: int64(d.Amount)})
	}
	for _, a := range s.Adjustments {
		inv := a.Invoice
		out = append(out, cdr.CostChange{Client: inv.Client, Currency: inv.Currency, Invoice: &inv, Amount: int64(a.Amount)})
	}
	return out
}

// Summary returns the figures, sorted.
func (t *Tally) Summary() Summary {
	s := Summary{Examined: t.Examined, Changed: t.Changed, NewlyMatched: t.NewlyMatched,
		NewlyMismatched: t.NewlyMismatched, StillMismatched: t.StillMismatched}
	for k, v := range t.diffs {
		if v != 0 {
			s.Differences = append(s.Differences, Difference{k.Client, k.Currency, v})
		}
	}
	sort.Slice(s.Differences, func(i, j int) bool {
		a, b := s.Differences[i], s.Differences[j]
		return a.Client < b.Client || a.Client == b.Client && a.Currency < b.Currency
	})
	for id, v := range t.adjust {
		if v != 0 {
			s.Adjustments = append(s.Adjustments, Adjustment{t.invoices[id], v})
		}
	}
	sort.Slice(s.Adjustments, func(i, j int) bool { return s.Adjustments[i].Invoice.Number < s.Adjustments[j].Invoice.Number })
	months := maps.Clone(t.months)
	for _, a := range s.Adjustments {
		if months == nil {
			months = map[string]bool{}
		}
		months[a.Invoice.Period] = true
	}
	s.Months = slices.Sorted(maps.Keys(months))
	return s
}
