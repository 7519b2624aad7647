// Package invoice computes a client's invoice for a period (billing-rules §5):
// usage lines by destination, subscription fees with day proration and
// activation fees, taxes added or contained, both rounding modes, the due
// date. It is pure: the caller brings the grouped usage and the master data.
package invoice

import (
	"fmt"
	"sort"
	"time"

	"github.com/billrun/billrun/internal/period"
	"github.com/shopspring/decimal"
)

// Rounding is how the subtotal is formed.
type Rounding string

// Rounding modes.
const (
	// RoundThenSum rounds each line to cents and adds the rounded lines.
	RoundThenSum Rounding = "round_then_sum"
	// SumThenRound adds the exact lines and rounds the sum.
	SumThenRound Rounding = "sum_then_round"
)

// ParseRounding checks a rounding mode's name.
func ParseRounding(s string) (Rounding, error) {
	switch r := Rounding(s); r {
	case RoundThenSum, SumThenRound:
		return r, nil
	}
	return "", fmt.Errorf("rounding %q: want %s or %s", s, RoundThenSum, SumThenRound)
}

// Tax is one tax of the client's profile.
type Tax struct {
	Name    string
	Percent decimal.Decimal
}

// Usage is the payable calls of one destination (name), as the database
// grouped them: exact costs, not yet rounded.
type Usage struct {
	Description   string // the deck's name, or the code
	Code          string // a code of the group (the shortest)
	Calls         int64
	BilledSeconds int64
	Cost          decimal.Decimal // exact sum of the calls' costs
	Gross         bool            // the rates include taxes
}

// Subscription is a client's subscription to a package.
type Subscription struct {
	Package        string
	Quantity       int
	Start          time.Time // a date
	End            time.Time // a date, exclusive; zero when open
	MonthlyFee     decimal.Decimal
	ActivationFee  decimal.Decimal
	FeesIncludeTax bool
}

// Input is everything an invoice is computed from.
type Input struct {
	PeriodStart, PeriodEnd time.Time // in the client's time zone
	IssueDate              time.Time // a date
	GraceDays              int
	Taxes                  []Tax
	Usage                  []Usage
	Subscriptions          []Subscription
	Rounding               Rounding
	// RegularDays are the days of a regular period of the month (MonthDays),
	// over which subscription fees are prorated, so that a transition period
	// (PeriodOf) longer or shorter than a month is charged by its days; 0 is
	// the period's own days.
	RegularDays int
}

// Line kinds.
const (
	KindUsage        = "usage"
	KindSubscription = "subscription"
	KindActivation   = "activation"
)

// Line is one invoice line; Amount is rounded to cents, Exact is not.
type Line struct {
	Kind          string
	Description   string
	Code          string
	Calls         int64
	BilledSeconds int64
	Quantity      int
	Amount        decimal.Decimal
	Exact         decimal.Decimal
	Gross         bool
	// Rounded says that Exact is only Amount: the line was stored before
	// exact amounts were (migration 016), so its calls are checked to the cent.
	Rounded bool
}

// TaxLine is a tax added to the subtotal, or contained in gross amounts.
type TaxLine struct {
	Name     string
	Percent  decimal.Decimal
	Amount   decimal.Decimal
	Included bool
}

// Invoice is the computed invoice.
type Invoice struct {
	Lines    []Line
	Subtotal decimal.Decimal
	Taxes    []TaxLine
	Total    decimal.Decimal
	DueDate  time.Time
	Calls    int64
}

var hundred = decimal.NewFromInt(100)

// Round rounds half away from zero to cents.
func Round(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// Compute computes an invoice.
func Compute(in Input) (Invoice, error) {
	if !in.PeriodEnd.After(in.PeriodStart) {
		return Invoice{}, fmt.Errorf("period %s – %s is empty", in.PeriodStart, in.PeriodEnd)
	}
	if in.Rounding == "" {
		in.Rounding = RoundThenSum
	}
	if _, err := ParseRounding(string(in.Rounding)); err != nil {
		return Invoice{}, err
	}
	var inv Invoice
	usage := append([]Usage(nil), in.Usage...)
	sort.Slice(usage, func(i, j int) bool {
		if usage[i].Description != usage[j].Description {
			return usage[i].Description < usage[j].Description
		}
		return usage[i].Code < usage[j].Code
	})
	for _, u := range usage {
		inv.Calls += u.Calls
		inv.Lines = append(inv.Lines, Line{Kind: KindUsage, Description: u.Description, Code: u.Code, Calls: u.Calls,
			BilledSeconds: u.BilledSeconds, Amount: Round(u.Cost), Exact: u.Cost, Gross: u.Gross})
	}
	first, last := dateOf(in.PeriodStart), dateOf(in.PeriodEnd)
	periodDays := days(first, last)
	if in.RegularDays > 0 {
		periodDays = in.RegularDays
	}
	subs := append([]Subscription(nil), in.Subscriptions...)
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Package < subs[j].Package })
	for _, s := range subs {
		q := decimal.NewFromInt(int64(s.Quantity))
		// Covered days: the subscription's [start, end) within the period's days.
		from, to := maxDate(first, dateOf(s.Start)), last
		if !s.End.IsZero() && dateOf(s.End).Before(to) {
			to = dateOf(s.End)
		}
		if covered := days(from, to); covered > 0 {
			exact := s.MonthlyFee.Mul(q).Mul(decimal.NewFromInt(int64(covered))).Div(decimal.NewFromInt(int64(periodDays)))
			desc := s.Package
			switch {
			case covered < periodDays:
				desc = fmt.Sprintf("%s (%d of %d days)", s.Package, covered, periodDays)
			case covered > periodDays: // a transition period longer than a month
				desc = fmt.Sprintf("%s (%d days at %d a month)", s.Package, covered, periodDays)
			}
			inv.Lines = append(inv.Lines, Line{Kind: KindSubscription, Description: desc, Quantity: s.Quantity,
				Amount: Round(exact), Exact: exact, Gross: s.FeesIncludeTax})
		}
		if start := dateOf(s.Start); !start.Before(first) && start.Before(last) && !s.ActivationFee.IsZero() {
			exact := s.ActivationFee.Mul(q)
			inv.Lines = append(inv.Lines, Line{Kind: KindActivation, Description: s.Package + " activation", Quantity: s.Quantity,
				Amount: Round(exact), Exact: exact, Gross: s.FeesIncludeTax})
		}
	}
	var rounded, exact, grossRounded, grossExact decimal.Decimal
	for _, l := range inv.Lines {
		rounded, exact = rounded.Add(l.Amount), exact.Add(l.Exact)
		if l.Gross {
			grossRounded, grossExact = grossRounded.Add(l.Amount), grossExact.Add(l.Exact)
		}
	}
	gross := grossRounded
	if in.Rounding == SumThenRound {
		inv.Subtotal, gross = Round(exact), Round(grossExact)
	} else {
		inv.Subtotal = rounded
	}
	net := inv.Subtotal.Sub(gross)
	totalPercent := decimal.Zero
	for _, t := range in.Taxes {
		totalPercent = totalPercent.Add(t.Percent)
	}
	inv.Total = inv.Subtotal
	for _, t := range in.Taxes {
		if !net.IsZero() || gross.IsZero() {
			amount := Round(net.Mul(t.Percent).Div(hundred))
			inv.Taxes = append(inv.Taxes, TaxLine{Name: t.Name, Percent: t.Percent, Amount: amount})
			inv.Total = inv.Total.Add(amount)
		}
		if !gross.IsZero() {
			// The share of this tax in gross amounts that hold every tax.
			contained := Round(gross.Mul(t.Percent).Div(hundred.Add(totalPercent)))
			inv.Taxes = append(inv.Taxes, TaxLine{Name: t.Name, Percent: t.Percent, Amount: contained, Included: true})
		}
	}
	inv.DueDate = dateOf(in.IssueDate).AddDate(0, 0, in.GraceDays)
	return inv, nil
}

// dateOf is the calendar date of t in its own location, as midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func days(from, to time.Time) int {
	if !to.After(from) {
		return 0
	}
	return int(to.Sub(from).Hours() / 24)
}

func maxDate(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Period returns a client's regular period for a month: from its invoice
// day at midnight in its zone to the same day of the next month. It has as
// many days as the month (invoice days run to 28). PeriodOf is the period
// that is invoiced.
func Period(month period.Month, invoiceDay int, loc *time.Location) (time.Time, time.Time, error) {
	if _, err := period.Parse(string(month)); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if invoiceDay < 1 || invoiceDay > 28 {
		return time.Time{}, time.Time{}, fmt.Errorf("invoice day %d is not from 1 to 28", invoiceDay)
	}
	return month.Day(invoiceDay, loc), month.Next().Day(invoiceDay, loc), nil
}

// Span is a period [Start, End), its instants in the zone it was issued in.
type Span struct{ Start, End time.Time }

// IsZero tells that there is no such period.
func (s Span) IsZero() bool { return s.Start.IsZero() }

// Issued are the periods of a client's issued invoices around a month: the
// month's own and those of the months before and after, zero where the month
// has none. They fix the client's period of the month (PeriodOf).
type Issued struct{ Before, This, After Span }

// PeriodOf is a client's period of month (billing-rules §5): the period its
// issued invoice of month was issued for, whatever its invoice day and time
// zone are now; otherwise its regular period (Period) in loc, starting
// where the month before's issued invoice ended and ending where the next
// month's begins. So an invoice day or time zone changed after issue never
// reopens an issued period and never leaves calls between two periods: the
// first period not yet invoiced is the transition period that joins them.
func PeriodOf(month period.Month, invoiceDay int, loc *time.Location, issued Issued) (Span, error) {
	if !issued.This.IsZero() {
		return issued.This, nil
	}
	start, end, err := Period(month, invoiceDay, loc)
	if err != nil {
		return Span{}, err
	}
	if !issued.Before.IsZero() {
		start = issued.Before.End.In(loc)
	}
	if !issued.After.IsZero() {
		end = issued.After.Start.In(loc)
	}
	if !end.After(start) {
		return Span{}, fmt.Errorf("period %s would run from %s to %s: the issued invoices of the months around it leave it no time",
			month, start.Format("2006-01-02 15:04 MST"), end.Format("2006-01-02 15:04 MST"))
	}
	return Span{Start: start, End: end}, nil
}

// MonthDays is the days of month: those of its clients' regular periods,
// which fees are prorated over.
func MonthDays(month period.Month) int {
	return days(month.Start(time.UTC), month.Next().Start(time.UTC))
}
