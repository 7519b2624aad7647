package invoice

import (
	"github.com/shopspring/decimal"
)

// Kinds of document (interfaces.md): an invoice, or a note correcting one.
const (
	KindInvoice    = "invoice"
	KindCreditNote = "credit_note"
	KindDebitNote  = "debit_note"
)

// lineKey matches lines across an invoice, its notes and its recomputation:
// by kind and description (billing-rules §7).
type lineKey struct{ kind, description string }

type taxKey struct {
	name     string
	included bool
}

// Adjust computes the note that brings an issued invoice, with the notes
// already issued for it, up to the invoice recomputed now (billing-rules
// §7): each line, tax, the subtotal and the total are the recomputation's
// less the issued invoice's and its notes'. Lines whose difference is
// nothing are left out. A negative total makes a credit note, any other a
// debit note; ok is false when nothing differs. The note keeps the issued
// invoice's client, period, currency and template; identity, state and
// dates are the caller's.
func Adjust(issued Stored, notes []Stored, now Invoice) (note Stored, ok bool) {
	billed := append([]Stored{issued}, notes...)
	type sum struct {
		calls, seconds int64
		quantity       int
		amount, exact  decimal.Decimal
		rounded        bool // a line of before exact amounts took part: exact unknown
		code           string
	}
	have := map[lineKey]*sum{}
	var order []lineKey
	add := func(l Line, sign int64) {
		k := lineKey{l.Kind, l.Description}
		s, seen := have[k]
		if !seen {
			s = &sum{code: l.Code}
			have[k] = s
			order = append(order, k)
		}
		s.calls += sign * l.Calls
		s.seconds += sign * l.BilledSeconds
		s.quantity += int(sign) * l.Quantity
		s.amount = s.amount.Add(l.Amount.Mul(decimal.NewFromInt(sign)))
		s.exact = s.exact.Add(l.Exact.Mul(decimal.NewFromInt(sign)))
		s.rounded = s.rounded || l.Rounded
		if l.Code != "" {
			s.code = l.Code
		}
	}
	// The recomputation's lines first, in its order; lines it no longer has after.
	for _, l := range now.Lines {
		add(l, 1)
	}
	for _, b := range billed {
		for _, l := range b.Lines {
			add(l, -1)
		}
	}
	note = Stored{Kind: KindCreditNote, Client: issued.Client, Period: issued.Period, PeriodStart: issued.PeriodStart,
		PeriodEnd: issued.PeriodEnd, Currency: issued.Currency, Template: issued.Template, ClientName: issued.ClientName, Reseller: issued.Reseller,
		Address: issued.Address, Email: issued.Email, Rounding: issued.Rounding,
		Corrects: &Ref{ID: issued.ID, Number: issued.Number}}
	for _, k := range order {
		s := have[k]
		if s.amount.IsZero() && s.calls == 0 && s.seconds == 0 && s.quantity == 0 {
			continue
		}
		note.Lines = append(note.Lines, Line{Kind: k.kind, Description: k.description, Code: s.code, Calls: s.calls,
			BilledSeconds: s.seconds, Quantity: s.quantity, Amount: s.amount, Exact: s.exact, Rounded: s.rounded})
	}
	taxes := map[taxKey]*TaxLine{}
	var taxOrder []taxKey
	addTax := func(t TaxLine, sign int64) {
		k := taxKey{t.Name, t.Included}
		x, seen := taxes[k]
		if !seen {
			x = &TaxLine{Name: t.Name, Percent: t.Percent, Included: t.Included}
			taxes[k] = x
			taxOrder = append(taxOrder, k)
		}
		x.Amount = x.Amount.Add(t.Amount.Mul(decimal.NewFromInt(sign)))
	}
	for _, t := range now.Taxes {
		addTax(t, 1)
	}
	note.Subtotal, note.Total = now.Subtotal, now.Total
	for _, b := range billed {
		for _, t := range b.Taxes {
			addTax(t, -1)
		}
		note.Subtotal, note.Total = note.Subtotal.Sub(b.Subtotal), note.Total.Sub(b.Total)
	}
	for _, k := range taxOrder {
		if t := taxes[k]; !t.Amount.IsZero() {
			note.Taxes = append(note.Taxes, *t)
		}
	}
	if len(note.Lines) == 0 && len(note.Taxes) == 0 && note.Subtotal.IsZero() && note.Total.IsZero() {
		return Stored{}, false
	}
	if !note.Total.IsNegative() {
		note.Kind = KindDebitNote
	}
	return note, true
}
