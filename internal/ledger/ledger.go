package ledger

import (
	"encoding/csv"
	"io"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/invoice"
)

// Kinds of entry.
const (
	Invoice    = "invoice"
	DebitNote  = "debit_note"
	CreditNote = "credit_note"
	Payment    = "payment"
)

// Entry is one document or payment on a client's account.
type Entry struct {
	Date      time.Time       // issue date, or the day paid (midnight UTC)
	Due       time.Time       // due date of an invoice or debit note; Date otherwise
	Kind      string          // Invoice, DebitNote, CreditNote or Payment
	Reference string          // a document's number, a payment's reference
	Amount    decimal.Decimal // what it adds to the balance: negative for credit notes and payments
}

// Ageing is a balance and how long its debts are past due.
type Ageing struct {
	Balance                                   decimal.Decimal
	Current                                   decimal.Decimal // not yet due, and any credit not used up
	Days1to30, Days31to60, Days61to90, Over90 decimal.Decimal
}

// Add is a and b summed bucket by bucket: the ageing of several accounts
// in one currency.
func (a Ageing) Add(b Ageing) Ageing {
	return Ageing{Balance: a.Balance.Add(b.Balance), Current: a.Current.Add(b.Current), Days1to30: a.Days1to30.Add(b.Days1to30),
		Days31to60: a.Days31to60.Add(b.Days31to60), Days61to90: a.Days61to90.Add(b.Days61to90), Over90: a.Over90.Add(b.Over90)}
}

// Sort orders entries by date, debits before credits on a day, then by
// reference: the order of a statement.
func Sort(entries []Entry) {
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		if da, db := a.Amount.IsPositive(), b.Amount.IsPositive(); da != db {
			return da
		}
		return a.Reference < b.Reference
	})
}

// Age ages the entries dated before at: credits (credit notes, payments)
// pay the debts in order of due date, oldest first; what is left of each
// debt goes to the bucket of its days past due at at.
func Age(entries []Entry, at time.Time) Ageing {
	var debts []Entry
	credit := decimal.Zero
	var a Ageing
	for _, e := range entries {
		if !e.Date.Before(at) {
			continue
		}
		a.Balance = a.Balance.Add(e.Amount)
		if e.Amount.IsPositive() {
			debts = append(debts, e)
		} else {
			credit = credit.Sub(e.Amount)
		}
	}
	sort.SliceStable(debts, func(i, j int) bool { return debts[i].Due.Before(debts[j].Due) })
	for _, d := range debts {
		open := d.Amount
		used := decimal.Min(open, credit)
		open, credit = open.Sub(used), credit.Sub(used)
		if open.IsZero() {
			continue
		}
		switch late := int(at.Sub(d.Due).Hours() / 24); {
		case late <= 0:
			a.Current = a.Current.Add(open)
		case late <= 30:
			a.Days1to30 = a.Days1to30.Add(open)
		case late <= 60:
			a.Days31to60 = a.Days31to60.Add(open)
		case late <= 90:
			a.Days61to90 = a.Days61to90.Add(open)
		default:
			a.Over90 = a.Over90.Add(open)
		}
	}
	a.Current = a.Current.Sub(credit) // credit beyond every debt: owed to the client
	return a
}

// Line is a statement's entry with the balance after it.
type Line struct {
	Entry
	Balance decimal.Decimal
}

// Statement is a client's account over [From, To).
type Statement struct {
	Client, Name, Currency string
	From, To               time.Time
	Opening, Closing       decimal.Decimal
	Lines                  []Line
}

// NewStatement lists the entries of [from, to) after the balance before
// from, each with the running balance; Closing is the balance at to.
func NewStatement(entries []Entry, from, to time.Time) Statement {
	sorted := append([]Entry(nil), entries...)
	Sort(sorted)
	s := Statement{From: from, To: to}
	for _, e := range sorted {
		switch {
		case e.Date.Before(from):
			s.Opening = s.Opening.Add(e.Amount)
		case e.Date.Before(to):
			s.Lines = append(s.Lines, Line{Entry: e})
		}
	}
	run := s.Opening
	for i := range s.Lines {
		run = run.Add(s.Lines[i].Amount)
		s.Lines[i].Balance = run
	}
	s.Closing = run
	return s
}

// Account is a client's entries, with what the statement and the balance
// show of the client.
type Account struct {
	Client, Name, Currency string
	Reseller               string           // who sells to the client; "" the carrier
	CreditLimit            *decimal.Decimal // nil: none
	Entries                []Entry
	// Zone is the client's time zone: its documents are dated in it.
	Zone *time.Location
}

// WriteCSV writes a statement as CSV: the opening balance, each entry with
// the balance after it, the closing balance. Cells a spreadsheet would run
// are escaped, as in invoices' CSV.
func WriteCSV(w io.Writer, s Statement) error {
	cw := csv.NewWriter(w)
	row := func(date, kind, ref, due, amount string, balance decimal.Decimal) {
		_ = cw.Write([]string{date, kind, invoice.Cell(ref), due, amount, balance.StringFixed(2)})
	}
	_ = cw.Write([]string{"date", "kind", "reference", "due_date", "amount", "balance"})
	row(s.From.Format(time.DateOnly), "opening_balance", "", "", "", s.Opening)
	for _, l := range s.Lines {
		due := ""
		if l.Amount.IsPositive() {
			due = l.Due.Format(time.DateOnly)
		}
		row(l.Date.Format(time.DateOnly), l.Kind, l.Reference, due, l.Amount.StringFixed(2), l.Balance)
	}
	row(s.To.Format(time.DateOnly), "closing_balance", "", "", "", s.Closing)
	cw.Flush()
	return cw.Error()
}
