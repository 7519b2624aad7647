package invoice

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestCallTotalsFindALineTheCallsDoNotAddUpTo(t *testing.T) {
	d := decimal.RequireFromString
	inv := Stored{Lines: []Line{
		{Kind: KindUsage, Description: "Germany Mobile", Calls: 2, BilledSeconds: 121, Exact: d("0.161333")},
		{Kind: KindUsage, Description: "Germany Berlin", Calls: 1, BilledSeconds: 126, Exact: d("0.0252")},
		{Kind: KindSubscription, Description: "pbx-seat", Quantity: 3, Exact: d("30")},
	}}
	calls := []Call{
		{Description: "Germany Mobile", BilledSeconds: 61, Cost: d("0.081333")},
		{Description: "Germany Mobile", BilledSeconds: 60, Cost: d("0.08")},
		{Description: "Germany Berlin", BilledSeconds: 126, Cost: d("0.0252")},
	}
	tests := []struct {
		name string
		edit func([]Call) []Call
		inv  Stored
		want string
	}{
		{"the calls the lines bill", func(c []Call) []Call { return c }, inv, ""},
		{"a cost rerated", func(c []Call) []Call { c[1].Cost = d("0.05"); return c }, inv, "Germany Mobile"},
		{"billed seconds changed", func(c []Call) []Call { c[2].BilledSeconds = 120; return c }, inv, "Germany Berlin"},
		{"a call gone", func(c []Call) []Call { return c[1:] }, inv, "Germany Mobile"},
		{"a call of a line the invoice lacks", func(c []Call) []Call { return append(c, Call{Description: "UK Mobile", Cost: d("0.07")}) }, inv, "UK Mobile"},
		{"a line stored before exact amounts is checked to the cent", func(c []Call) []Call { return c }, rounded(inv), ""},
		{"a line stored before exact amounts still sees a cent rerated", func(c []Call) []Call { c[1].Cost = d("0.07"); return c }, rounded(inv), "Germany Mobile"},
		{"a note's lines are differences", func(c []Call) []Call { return c[:1] }, Stored{Corrects: &Ref{ID: "x"}, Lines: inv.Lines}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			totals := CallTotals{}
			for _, c := range tt.edit(append([]Call(nil), calls...)) {
				totals.Add(c)
			}
			if got, _ := totals.Differ(tt.inv); got != tt.want {
				t.Fatalf("differs at %q, want %q", got, tt.want)
			}
		})
	}
}

// rounded is inv as stored before migration 016: each line's exact amount
// unknown, its rounded amount in its place.
func rounded(inv Stored) Stored {
	out := inv
	out.Lines = append([]Line(nil), inv.Lines...)
	for i := range out.Lines {
		out.Lines[i].Exact, out.Lines[i].Rounded = Round(out.Lines[i].Exact), true
	}
	return out
}
