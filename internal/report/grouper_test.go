package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestGrouperSumsCallsIntoSortedGroups(t *testing.T) {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	g, err := NewGrouper([]Key{Client, DstName, Month}, from)
	if err != nil {
		t.Fatal(err)
	}
	if c := g.Columns(); !c.Client || !c.Rate || !c.Names || c.Codes || !c.Day || c.Account {
		t.Fatalf("columns %+v", c)
	}
	for id, name := range map[int64]string{1: "Germany", 2: "Austria"} {
		if err := g.AddRate(id, []byte("49"), []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	big, _ := decimal.NewFromString("10000000000000.000001")
	g.Start()
	for _, c := range []Call{
		{Client: []byte("zeta"), RateID: 1, Day: 0, Currency: []byte("EUR"), Seconds: 60, Cost: 1_500_000},
		{Client: []byte("acme"), RateID: 1, Day: 4, Currency: []byte("EUR"), Seconds: 30, Cost: 250_000},
		{Client: []byte("acme"), RateID: 1, Day: 31, Currency: []byte("EUR"), Seconds: 6, Cost: 1},
		{Client: []byte("acme"), RateID: 2, Day: 2, Currency: []byte("EUR"), Seconds: 60, Big: true, BigCost: big},
		{Client: []byte("acme"), RateID: 1, Day: 9, Currency: []byte("EUR"), Seconds: 60, Cost: 750_000},
	} {
		if err := g.Add(&c); err != nil {
			t.Fatal(err)
		}
	}
	g.Wait()
	var got []string
	for _, r := range g.Rows() {
		got = append(got, fmt.Sprint(r.Values)+" "+fmt.Sprint(r.Currency, " ", r.Calls, " ", r.BilledSeconds, " ", r.Amount.String()))
	}
	want := []string{
		"[acme Austria 2026-10] EUR 1 60 10000000000000.000001",
		"[acme Germany 2026-10] EUR 2 90 1",
		"[acme Germany 2026-11] EUR 1 6 0.000001",
		"[zeta Germany 2026-10] EUR 1 60 1.5",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows\n%q\nwant\n%q", got, want)
	}
}

func TestGrouperRefusesACallWhoseRateIsUnknown(t *testing.T) {
	g, _ := NewGrouper([]Key{DstCode}, time.Now())
	_ = g.AddRate(1, []byte("49"), nil)
	g.Start()
	err := g.Add(&Call{RateID: 7, Currency: []byte("EUR")})
	g.Wait()
	if err == nil {
		t.Fatal("a call rated by a rate the report does not know was summed")
	}
}

func TestGrouperRefusesAnUnknownKey(t *testing.T) {
	if _, err := NewGrouper([]Key{"colour"}, time.Now()); err == nil {
		t.Fatal("an unknown key was taken")
	}
}
