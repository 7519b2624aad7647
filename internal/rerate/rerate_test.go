package rerate

import (
	"fmt"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/cdr"
)

var oct = time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)

func TestTallyCountsEachKindOfChange(t *testing.T) {
	rated := func(client string, cost int64) *cdr.Rating {
		return &cdr.Rating{Status: cdr.Rated, Client: client, RateID: 1, Code: "49", BilledSeconds: 60, Cost: cost, Currency: "EUR"}
	}
	unknown := &cdr.Rating{Status: "unknown_account"}
	unknownDestination := &cdr.Rating{Status: "unknown_destination", Client: "beta"}
	inv := ReachOf([]Invoice{{ID: "i1", Number: "INV-1", Client: "acme", Currency: "EUR", From: oct.AddDate(0, 0, -9), To: oct.AddDate(0, 0, 22)}})
	var tl Tally
	tl.Add(oct, rated("acme", 100), rated("acme", 100), inv)                 // unchanged
	tl.Add(oct, rated("acme", 100), rated("acme", 250), inv)                 // repriced inside an issued invoice
	tl.Add(oct.AddDate(0, 1, 0), rated("acme", 100), rated("acme", 50), inv) // repriced after it
	tl.Add(oct, unknown, rated("beta", 70), inv)                             // newly matched
	tl.Add(oct, unknown, unknown, inv)                                       // still mismatched
	tl.Add(oct, unknownDestination, unknown, inv)                            // changed, still mismatched
	tl.Add(oct, rated("beta", 30), unknownDestination, inv)                  // newly mismatched
	s := tl.Summary()
	if s.Examined != 7 || s.Changed != 5 || s.NewlyMatched != 1 || s.StillMismatched != 2 || s.NewlyMismatched != 1 {
		t.Fatalf("%+v", s)
	}
	want := []Difference{{"acme", "EUR", 150 - 50}, {"beta", "EUR", 70 - 30}}
	if len(s.Differences) != 2 || s.Differences[0] != want[0] || s.Differences[1] != want[1] {
		t.Fatalf("differences %+v", s.Differences)
	}
	if len(s.Adjustments) != 1 || s.Adjustments[0].Amount != 150 || s.Adjustments[0].Invoice.Number != "INV-1" {
		t.Fatalf("adjustments %+v", s.Adjustments)
	}
	var merged Tally
	merged.Merge(s)
	merged.Merge(s)
	if m := merged.Summary(); m.Examined != 14 || m.Differences[0].Amount != 200 || m.Adjustments[0].Amount != 300 {
		t.Fatalf("merged %+v", m)
	}
}

// BenchmarkTallyAddAmongIssuedInvoices is a changed call's tally among
// n clients' issued invoices: the same whatever n.
func BenchmarkTallyAddAmongIssuedInvoices(b *testing.B) {
	for _, n := range []int{1_000, 20_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			invs := make([]Invoice, n)
			for i := range invs {
				invs[i] = Invoice{ID: fmt.Sprint("i", i), Client: fmt.Sprint("c", i), Currency: "EUR", From: oct.AddDate(0, 0, -9), To: oct.AddDate(0, 0, 22)}
			}
			reach := ReachOf(invs)
			old := &cdr.Rating{Status: cdr.Rated, Client: "c7", RateID: 1, Code: "49", BilledSeconds: 60, Cost: 100, Currency: "EUR"}
			now := *old
			now.Cost = 120
			var tl Tally
			for b.Loop() {
				tl.Add(oct, old, &now, reach)
			}
		})
	}
}
