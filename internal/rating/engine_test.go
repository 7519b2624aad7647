package rating

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// oneRate builds an engine with one client, one ip account and one rate on code 49.
func oneRate(t *testing.T, perMinute string, min, interval, grace int32, setup string) *Engine {
	t.Helper()
	e, err := NewEngine(Catalog{
		Clients:  []Client{{ID: "acme", RateTable: "retail"}},
		Accounts: []Account{{ID: 1, Client: "acme", Kind: KindIP, Value: "10.0.0.1", Enabled: true}},
		Tables:   []Table{{Name: "retail", Currency: "USD"}},
		Rates: []Rate{{ID: 7, Table: "retail", Code: "49", PerMinute: dec(perMinute), EffectiveFrom: t0,
			MinSeconds: min, IntervalSeconds: interval, GraceSeconds: grace, SetupFee: dec(setup)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCostFollowsTheWorkedExamplesOfBillingRules(t *testing.T) {
	cases := []struct {
		name                 string
		rate                 string
		min, interval, grace int32
		setup                string
		duration             time.Duration
		wantBilled           int64
		wantCost             string
	}{
		{"60/60 rounds 61 s up to two minutes", "0.0120", 60, 60, 0, "0", seconds(61), 120, "0.024000"},
		{"1/1 bills every second", "0.0120", 1, 1, 0, "0", seconds(61), 61, "0.012200"},
		{"30/6 bills the minimum then six-second steps", "0.0120", 30, 6, 0, "0", seconds(31), 36, "0.007200"},
		{"30/6 bills the minimum for a short call", "0.0120", 30, 6, 0, "0", seconds(7), 30, "0.006000"},
		{"30/6/3 is free within the grace", "0.0120", 30, 6, 3, "0", seconds(3), 0, "0.000000"},
		{"grace 2 frees a 2 s call and its setup fee", "1.0", 30, 1, 2, "0.3", seconds(2), 0, "0.000000"},
		{"past the grace the setup fee and minimum apply", "1.0", 30, 1, 2, "0.3", seconds(3), 30, "0.800000"},
		{"setup fee plus 45 s at 30/1", "1.0", 30, 1, 2, "0.3", seconds(45), 45, "1.050000"},
		{"an unanswered call costs nothing", "1.0", 1, 1, 0, "0.3", 0, 0, "0.000000"},
		{"a fractional second is rounded up", "0.0120", 1, 1, 0, "0", seconds(60.2), 61, "0.012200"},
		{"a nanosecond over is a whole second more", "0.06", 1, 1, 0, "0", 60*time.Second + 1, 61, "0.061000"},
		{"half a millionth rounds away from zero", "0.00003", 1, 1, 0, "0", seconds(1), 1, "0.000001"},
		{"a negative rate rounds half away from zero", "-0.00003", 1, 1, 0, "0", seconds(1), 1, "-0.000001"},
		{"just under half a millionth rounds down", "0.00002999", 1, 1, 0, "0", seconds(1), 1, "0.000000"},
		{"eight-place rates stay exact", "0.12345678", 1, 1, 0, "0.00000001", seconds(7), 7, "0.014403"},
		{"a huge call on a premium rate takes the exact slow path", "99999.99999999", 1, 1, 0, "0", 5000 * time.Hour, 18_000_000, "29999999999.997000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := oneRate(t, tc.rate, tc.min, tc.interval, tc.grace, tc.setup)
			r := e.Rate(&CDR{ConnectTime: t0, Duration: tc.duration, OrigIP: "10.0.0.1", DstNumber: "4915112345"})
			if r.Status != Rated {
				t.Fatalf("status %v", r.Status)
			}
			if r.BilledSeconds != tc.wantBilled || r.Cost.String() != tc.wantCost {
				t.Fatalf("got %d s, %s; want %d s, %s", r.BilledSeconds, r.Cost, tc.wantBilled, tc.wantCost)
			}
			if !r.Cost.Decimal().Equal(dec(tc.wantCost)) {
				t.Fatalf("Decimal() = %s, want %s", r.Cost.Decimal(), tc.wantCost)
			}
		})
	}
}

func matchCatalog() Catalog {
	return Catalog{
		Clients: []Client{{ID: "acme", RateTable: "retail"}, {ID: "beta", RateTable: "wholesale"}, {ID: "nort"}},
		Accounts: []Account{
			{ID: 1, Client: "acme", Kind: KindUsername, Value: "acme-pbx", Enabled: true},
			{ID: 2, Client: "beta", Kind: KindIP, Value: "10.0.0.2", Enabled: true},
			{ID: 3, Client: "beta", Kind: KindIP, Value: "10.0.0.2", TechPrefix: "77", Enabled: true},
			{ID: 4, Client: "acme", Kind: KindIP, Value: "10.0.0.2", TechPrefix: "7788", Enabled: true},
			{ID: 5, Client: "acme", Kind: KindANI, Value: "15550001", Enabled: true},
			{ID: 6, Client: "beta", Kind: KindIP, Value: "10.0.0.9", Enabled: false},
			{ID: 7, Client: "beta", Kind: KindUsername, Value: "beta-sbc", TechPrefix: "99", Enabled: true},
			{ID: 8, Client: "nort", Kind: KindIP, Value: "10.0.0.8", Enabled: true},
			{ID: 9, Client: "nort", Kind: KindIP, Value: "10.0.0.7", RateTable: "retail", Enabled: true},
		},
		Tables: []Table{{Name: "retail", Currency: "EUR"}, {Name: "wholesale", Currency: "USD"}},
		Rates: []Rate{
			{ID: 1, Table: "retail", Code: "49", PerMinute: dec("0.01"), EffectiveFrom: t0, MinSeconds: 1, IntervalSeconds: 1},
			{ID: 2, Table: "wholesale", Code: "49", PerMinute: dec("0.02"), EffectiveFrom: t0, MinSeconds: 1, IntervalSeconds: 1},
		},
	}
}

func TestAccountMatchFollowsKindOrderAndLongestTechPrefix(t *testing.T) {
	e, err := NewEngine(matchCatalog())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		cdr         CDR
		wantStatus  Status
		wantAccount int64
		wantNumber  string
	}{
		{"user name is tried before ip", CDR{OrigAccount: "acme-pbx", OrigIP: "10.0.0.2", DstNumber: "491"}, Rated, 1, "491"},
		{"ip matches when the user name is unknown", CDR{OrigAccount: "nobody", OrigIP: "10.0.0.2", DstNumber: "491"}, Rated, 2, "491"},
		{"the longest fitting tech prefix wins and is stripped", CDR{OrigIP: "10.0.0.2", DstNumber: "7788491"}, Rated, 4, "491"},
		{"a shorter tech prefix wins when the longer does not fit", CDR{OrigIP: "10.0.0.2", DstNumber: "77491"}, Rated, 3, "491"},
		{"the leading plus is dropped after the tech prefix", CDR{OrigIP: "10.0.0.2", DstNumber: "77+491"}, Rated, 3, "491"},
		{"ani matches last", CDR{OrigIP: "192.0.2.1", SrcNumber: "15550001", DstNumber: "+491"}, Rated, 5, "491"},
		{"a kind whose prefixes do not fit has no candidate, the next kind decides", CDR{OrigAccount: "beta-sbc", SrcNumber: "15550001", DstNumber: "491"}, Rated, 5, "491"},
		{"a disabled account never matches", CDR{OrigIP: "10.0.0.9", DstNumber: "491"}, UnknownAccount, 0, ""},
		{"nothing matches", CDR{OrigIP: "192.0.2.1", DstNumber: "491"}, UnknownAccount, 0, ""},
		{"a client without a rate table is no_rate_table", CDR{OrigIP: "10.0.0.8", DstNumber: "491"}, NoRateTable, 8, ""},
		{"an account's own table overrides its client's", CDR{OrigIP: "10.0.0.7", DstNumber: "491"}, Rated, 9, "491"},
		{"letters in the number are unknown_destination", CDR{OrigIP: "10.0.0.2", DstNumber: "49abc"}, UnknownDestination, 2, "49abc"},
		{"an empty number is unknown_destination", CDR{OrigIP: "10.0.0.2", DstNumber: "+"}, UnknownDestination, 2, ""},
		{"no code matches", CDR{OrigIP: "10.0.0.2", DstNumber: "331"}, UnknownDestination, 2, "331"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cdr.ConnectTime, tc.cdr.Duration = t0, time.Minute
			r := e.Rate(&tc.cdr)
			if r.Status != tc.wantStatus || r.AccountID != tc.wantAccount || r.Number != tc.wantNumber {
				t.Fatalf("got %v account %d number %q; want %v account %d number %q", r.Status, r.AccountID, r.Number, tc.wantStatus, tc.wantAccount, tc.wantNumber)
			}
		})
	}
}

func TestRateTableOfAccountDecidesCurrencyAndPrice(t *testing.T) {
	e, _ := NewEngine(matchCatalog())
	r := e.Rate(&CDR{ConnectTime: t0, Duration: time.Minute, OrigIP: "10.0.0.7", DstNumber: "491"})
	if r.Client != "nort" || r.RateTable != "retail" || r.Currency != "EUR" || r.Cost.String() != "0.010000" {
		t.Fatalf("%+v", r)
	}
}

func TestEffectiveDatesPickTheRateInForce(t *testing.T) {
	nov := t0.AddDate(0, 1, 0)
	dec1 := t0.AddDate(0, 2, 0)
	c := Catalog{
		Clients:  []Client{{ID: "acme", RateTable: "retail"}},
		Accounts: []Account{{ID: 1, Client: "acme", Kind: KindIP, Value: "10.0.0.1", Enabled: true}},
		Tables:   []Table{{Name: "retail", Currency: "USD"}},
		Rates: []Rate{
			{ID: 1, Table: "retail", Code: "49", PerMinute: dec("0.01"), EffectiveFrom: t0, MinSeconds: 60, IntervalSeconds: 60},
			{ID: 2, Table: "retail", Code: "49", PerMinute: dec("0.02"), EffectiveFrom: nov, End: dec1, MinSeconds: 60, IntervalSeconds: 60},
			{ID: 3, Table: "retail", Code: "4915", PerMinute: dec("0.05"), EffectiveFrom: t0, End: nov, MinSeconds: 60, IntervalSeconds: 60},
			{ID: 4, Table: "retail", Code: "4930", PerMinute: dec("0.07"), EffectiveFrom: nov, MinSeconds: 60, IntervalSeconds: 60},
		},
	}
	e, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		at     time.Time
		number string
		want   int64 // rate id, 0 for unknown_destination
	}{
		{"before any rate", t0.Add(-time.Second), "491", 0},
		{"the first rate from its instant", t0, "491", 1},
		{"a rate without end runs until the next effective_from", nov.Add(-time.Microsecond), "491", 1},
		{"the next version takes over at its effective_from", nov, "491", 2},
		{"an end is exclusive", dec1, "491", 0},
		{"a longer code in force wins", t0, "49151", 3},
		{"an ended longer code falls back to the shorter one", nov, "49151", 2},
		{"a longer code not yet in force is ignored", t0, "49301", 1},
		{"a longer code in force from its start", nov, "49301", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Rate(&CDR{ConnectTime: tc.at, Duration: time.Minute, OrigIP: "10.0.0.1", DstNumber: tc.number})
			if r.RateID != tc.want || (tc.want == 0) != (r.Status == UnknownDestination) {
				t.Fatalf("got rate %d status %v, want %d", r.RateID, r.Status, tc.want)
			}
		})
	}
}

func parentCatalog() Catalog {
	r := func(id int64, table, code, price string) Rate {
		return Rate{ID: id, Table: table, Code: code, PerMinute: dec(price), EffectiveFrom: t0, MinSeconds: 1, IntervalSeconds: 1}
	}
	return Catalog{
		Clients:  []Client{{ID: "acme", RateTable: "child"}},
		Accounts: []Account{{ID: 1, Client: "acme", Kind: KindIP, Value: "10.0.0.1", Enabled: true}},
		Tables: []Table{{Name: "child", Currency: "USD", Parent: "parent"}, {Name: "parent", Currency: "USD", Parent: "base"},
			{Name: "base", Currency: "USD"}},
		Rates: []Rate{
			r(1, "child", "4915", "0.10"), r(2, "parent", "4915", "0.20"), r(3, "parent", "491512", "0.30"),
			r(4, "base", "49", "0.40"), r(5, "base", "4915123", "0.50"), r(6, "parent", "33", "0.60"), r(7, "base", "33", "0.70"),
		},
	}
}

func TestParentRuleChildWinsUnlessParentCodeIsStrictlyLonger(t *testing.T) {
	e, err := NewEngine(parentCatalog())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		number string
		want   int64
		by     string
	}{
		{"child beats parent on equal length", "49150", 1, "child"},
		{"parent's longer code beats child", "4915120", 3, "parent"},
		{"grandparent's still longer code beats both", "49151230", 5, "base"},
		{"grandparent fills codes the others lack", "4930", 4, "base"},
		{"parent beats grandparent on equal length", "331", 6, "parent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Rate(&CDR{ConnectTime: t0, Duration: time.Minute, OrigIP: "10.0.0.1", DstNumber: tc.number})
			if r.RateID != tc.want || r.RatedBy != tc.by || r.RateTable != "child" {
				t.Fatalf("got rate %d by %q (table %q), want %d by %q", r.RateID, r.RatedBy, r.RateTable, tc.want, tc.by)
			}
		})
	}
}

func TestNewEngineRefusesAmbiguousCatalogs(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Catalog)
	}{
		{"a parent cycle", func(c *Catalog) { c.Tables[2].Parent = "child" }},
		{"a table that is its own parent", func(c *Catalog) { c.Tables[2].Parent = "base" }},
		{"an unknown parent", func(c *Catalog) { c.Tables[2].Parent = "nope" }},
		{"a parent in another currency", func(c *Catalog) { c.Tables[2].Currency = "EUR" }},
		{"a rate with nine decimal places", func(c *Catalog) { c.Rates[0].PerMinute = dec("0.123456789") }},
		{"a zero interval", func(c *Catalog) { c.Rates[0].IntervalSeconds = 0 }},
		{"a code with a letter", func(c *Catalog) { c.Rates[0].Code = "49a" }},
		{"a source code with a plus", func(c *Catalog) { c.Rates[0].SrcCode = "+49" }},
		{"an account of an unknown client", func(c *Catalog) { c.Accounts[0].Client = "ghost" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := parentCatalog()
			tc.change(&c)
			if _, err := NewEngine(c); !errors.Is(err, ErrCatalog) {
				t.Fatalf("err = %v, want ErrCatalog", err)
			}
		})
	}
}

func TestRateAllAgreesWithRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		c := randomCatalog(rng, true)
		e, err := NewEngine(c)
		if err != nil {
			t.Fatal(err)
		}
		cdrs := make([]CDR, rng.IntN(200))
		for i := range cdrs {
			cdrs[i] = randomCDR(rng)
		}
		out := make([]Result, len(cdrs))
		e.RateAll(cdrs, out)
		for i := range cdrs {
			if want := e.Rate(&cdrs[i]); out[i] != want {
				t.Fatalf("call %d %+v: RateAll %+v, Rate %+v", i, cdrs[i], out[i], want)
			}
		}
	}
}

func TestATableWithoutRatesRatesNothing(t *testing.T) {
	e, err := NewEngine(Catalog{
		Clients:  []Client{{ID: "acme", RateTable: "empty"}},
		Accounts: []Account{{ID: 1, Client: "acme", Kind: KindIP, Value: "10.0.0.1", Enabled: true}},
		Tables:   []Table{{Name: "empty", Currency: "USD"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cdrs := []CDR{{ConnectTime: t0, OrigIP: "10.0.0.1", DstNumber: "49"}}
	out := make([]Result, 1)
	e.RateAll(cdrs, out)
	if r := e.Rate(&cdrs[0]); r.Status != UnknownDestination || out[0] != r {
		t.Fatalf("Rate %+v, RateAll %+v", r, out[0])
	}
}
