package invoice

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// randomInput is a month of one client's usage and subscriptions, drawn
// from rng: destinations come and go, costs go up and down, taxes are added
// or included, either rounding mode.
func randomInput(rng *rand.Rand, rounding Rounding, taxes []Tax) Input {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	in := Input{PeriodStart: from, PeriodEnd: from.AddDate(0, 1, 0), IssueDate: from.AddDate(0, 1, 1), Taxes: taxes, Rounding: rounding}
	for i := range 8 {
		if rng.IntN(3) == 0 {
			continue // this destination has no calls this time
		}
		calls := rng.Int64N(50) + 1
		in.Usage = append(in.Usage, Usage{Description: fmt.Sprintf("Destination %d", i), Code: fmt.Sprint(40 + i), Calls: calls,
			BilledSeconds: calls * rng.Int64N(300), Cost: decimal.New(rng.Int64N(20_000_000)-2_000_000, -6), Gross: i%4 == 0})
	}
	for i := range 3 {
		if rng.IntN(2) == 0 {
			in.Subscriptions = append(in.Subscriptions, Subscription{Package: fmt.Sprintf("package-%d", i), Quantity: 1 + rng.IntN(5),
				Start: from.AddDate(0, 0, rng.IntN(40)-10), MonthlyFee: decimal.New(rng.Int64N(5000), -2),
				ActivationFee: decimal.New(rng.Int64N(1000), -2), FeesIncludeTax: i == 2})
		}
	}
	return in
}

// issuedOf is a computed invoice as stored when issued.
func issuedOf(c Invoice) Stored {
	return Stored{ID: "inv-1", Number: "INV-2026-000001", Kind: KindInvoice, Client: "acme", Currency: "EUR", Lines: c.Lines,
		Subtotal: c.Subtotal, Taxes: c.Taxes, Total: c.Total}
}

// sums adds up documents line by line (by kind and description), tax by tax,
// and in subtotal and total, as text to compare.
func sums(docs ...Stored) map[string]string {
	amounts := map[string]decimal.Decimal{}
	for _, d := range docs {
		for _, l := range d.Lines {
			k := "line " + l.Kind + "/" + l.Description
			amounts[k] = amounts[k].Add(l.Amount)
		}
		for _, t := range d.Taxes {
			k := fmt.Sprintf("tax %s/%v", t.Name, t.Included)
			amounts[k] = amounts[k].Add(t.Amount)
		}
		amounts["subtotal"] = amounts["subtotal"].Add(d.Subtotal)
		amounts["total"] = amounts["total"].Add(d.Total)
	}
	out := map[string]string{}
	for k, v := range amounts {
		if !v.IsZero() {
			out[k] = v.StringFixed(2)
		}
	}
	return out
}

func TestAnIssuedInvoiceAndItsNotesAddUpToTheRecomputedInvoice(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 7))
	vat := []Tax{{Name: "VAT", Percent: decimal.NewFromInt(19)}}
	two := []Tax{{Name: "VAT", Percent: decimal.NewFromInt(20)}, {Name: "Levy", Percent: decimal.RequireFromString("2.5")}}
	for run := range 500 {
		rounding := []Rounding{RoundThenSum, SumThenRound}[run%2]
		taxes := [][]Tax{nil, vat, two}[run%3]
		issuedNow, err := Compute(randomInput(rng, rounding, taxes))
		if err != nil {
			t.Fatal(err)
		}
		issued := issuedOf(issuedNow)
		var notes []Stored
		for rerate := range 3 {
			now, err := Compute(randomInput(rng, rounding, taxes))
			if err != nil {
				t.Fatal(err)
			}
			note, ok := Adjust(issued, notes, now)
			want := sums(issuedOf(now))
			got := sums(append([]Stored{issued, note}, notes...)...)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("run %d, rerate %d: invoice + notes\n%v\nrecomputed\n%v", run, rerate, got, want)
			}
			switch {
			case !ok && len(want) != len(sums(append([]Stored{issued}, notes...)...)):
				t.Fatalf("run %d: a difference and no note", run)
			case ok && (note.Total.IsNegative() != (note.Kind == KindCreditNote)):
				t.Fatalf("run %d: a %s totalling %s", run, note.Kind, note.Total)
			case ok && (note.Corrects == nil || note.Corrects.Number != issued.Number):
				t.Fatalf("run %d: the note does not name the invoice it corrects", run)
			}
			for _, l := range note.Lines {
				if l.Amount.IsZero() && l.Calls == 0 && l.BilledSeconds == 0 && l.Quantity == 0 {
					t.Fatalf("run %d: a line of no difference: %+v", run, l)
				}
			}
			if ok {
				notes = append(notes, note)
			}
		}
	}
}

func TestNothingChangedMakesNoNote(t *testing.T) {
	c, err := Compute(randomInput(rand.New(rand.NewPCG(1, 2)), RoundThenSum, nil))
	if err != nil {
		t.Fatal(err)
	}
	if note, ok := Adjust(issuedOf(c), nil, c); ok {
		t.Fatalf("a note of nothing: %+v", note)
	}
}

// TestALowerRecomputationIsACreditNoteLineByLine: one destination repriced
// down by 1.00 with 19 % VAT added: a credit note of -1.00, VAT -0.19,
// total -1.19, naming the invoice; the other lines are left out.
func TestALowerRecomputationIsACreditNoteLineByLine(t *testing.T) {
	vat := []Tax{{Name: "VAT", Percent: decimal.NewFromInt(19)}}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	in := Input{PeriodStart: from, PeriodEnd: from.AddDate(0, 1, 0), IssueDate: from.AddDate(0, 1, 1), Taxes: vat,
		Usage: []Usage{{Description: "Germany", Code: "49", Calls: 10, BilledSeconds: 600, Cost: decimal.RequireFromString("5.00")},
			{Description: "France", Code: "33", Calls: 2, BilledSeconds: 60, Cost: decimal.RequireFromString("1.00")}}}
	issuedNow, _ := Compute(in)
	in.Usage[0].Cost = decimal.RequireFromString("4.00")
	now, _ := Compute(in)
	note, ok := Adjust(issuedOf(issuedNow), nil, now)
	if !ok || note.Kind != KindCreditNote || len(note.Lines) != 1 || note.Lines[0].Description != "Germany" ||
		note.Lines[0].Amount.StringFixed(2) != "-1.00" || note.Subtotal.StringFixed(2) != "-1.00" ||
		len(note.Taxes) != 1 || note.Taxes[0].Amount.StringFixed(2) != "-0.19" || note.Total.StringFixed(2) != "-1.19" {
		t.Fatalf("%+v", note)
	}
	if d := note.Document(); d.Kind != "credit_note" || d.Corrects == nil || d.Corrects.Number != "INV-2026-000001" || d.Total != "-1.19" {
		t.Fatalf("%+v", d)
	}
}

func TestANotesCSVMustAddUpToItsLines(t *testing.T) {
	d := decimal.RequireFromString
	csv := strings.Join(ChangedCallsHeader, ",") + "\n" +
		"2026-10-02 10:00:00,a,1,49151,4915,Germany Mobile,60,0.080000,0.160000,0.080000,EUR\n" +
		"2026-10-03 10:00:00,b,1,44207,4420,UK London,60,0.010000,0.000000,-0.010000,EUR\n"
	sums, err := ChangedSums(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	note := func(lines ...Line) Stored { return Stored{Kind: KindDebitNote, Lines: lines} }
	tests := []struct {
		name   string
		note   Stored
		differ bool
	}{
		{"lines that add up to the calls", note(Line{Kind: KindUsage, Description: "Germany Mobile", Exact: d("0.08")},
			Line{Kind: KindUsage, Description: "UK London", Exact: d("-0.01")}), false},
		{"a call moved between lines adds up in total", note(Line{Kind: KindUsage, Description: "Germany Mobile", Exact: d("0.09")},
			Line{Kind: KindUsage, Description: "UK London", Exact: d("-0.02")}), false},
		{"a note computed from calls that changed since", note(Line{Kind: KindUsage, Description: "Germany Mobile", Exact: d("0.47")}), true},
		{"fees are no calls: left out", note(Line{Kind: KindUsage, Description: "Germany Mobile", Exact: d("0.07")},
			Line{Kind: KindSubscription, Description: "pbx-seat", Exact: d("5")}), false},
		{"a line of before exact amounts is not checked", note(Line{Kind: KindUsage, Description: "Germany Mobile", Exact: d("0.47"), Rounded: true}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if lines, calls, differ := NoteDiffers(tt.note, sums); differ != tt.differ {
				t.Fatalf("lines %s, calls %s: differ %v, want %v", lines, calls, differ, tt.differ)
			}
		})
	}
}
