package rating

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// reference is billing-rules §2 read literally, in decimal, with no index:
// the engine must agree with it on every call.
type reference struct{ c Catalog }

func (ref reference) rate(cdr *CDR) (Status, int64, int64, decimal.Decimal) {
	var acc *Account
	for k, key := range []string{cdr.OrigAccount, cdr.OrigIP, cdr.SrcNumber} {
		for i := range ref.c.Accounts {
			a := &ref.c.Accounts[i]
			if !a.Enabled || int(a.Kind) != k || a.Value != key || key == "" || !strings.HasPrefix(cdr.DstNumber, a.TechPrefix) {
				continue
			}
			if acc == nil || len(a.TechPrefix) > len(acc.TechPrefix) || (len(a.TechPrefix) == len(acc.TechPrefix) && a.ID < acc.ID) {
				acc = a
			}
		}
		if acc != nil {
			break
		}
	}
	if acc == nil {
		return UnknownAccount, 0, 0, decimal.Zero
	}
	table, ok := ref.assigned(acc.Client, acc.ID, cdr.ConnectTime)
	if !ok {
		table = acc.RateTable
	}
	if table == "" {
		if table, ok = ref.assigned(acc.Client, 0, cdr.ConnectTime); !ok {
			for _, cl := range ref.c.Clients {
				if cl.ID == acc.Client {
					table = cl.RateTable
				}
			}
		}
	}
	if table == "" {
		return NoRateTable, 0, 0, decimal.Zero
	}
	num := strings.TrimPrefix(strings.TrimPrefix(cdr.DstNumber, acc.TechPrefix), "+")
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return UnknownDestination, 0, 0, decimal.Zero
	}
	r := ref.resolve(table, num, strings.TrimPrefix(cdr.SrcNumber, "+"), cdr.ConnectTime)
	if r == nil {
		return UnknownDestination, 0, 0, decimal.Zero
	}
	d := int64(cdr.Duration / time.Second)
	if cdr.Duration%time.Second != 0 {
		d++
	}
	min, iv := int64(r.MinSeconds), int64(r.IntervalSeconds)
	var billed int64
	switch {
	case d == 0 || d <= int64(r.GraceSeconds):
		return Rated, r.ID, 0, decimal.Zero
	case d <= min:
		billed = min
	default:
		billed = min + (d-min+iv-1)/iv*iv
	}
	cost := r.SetupFee.Add(r.PerMinute.Mul(decimal.NewFromInt(billed)).Div(decimal.NewFromInt(60))).Round(6)
	return Rated, r.ID, billed, cost
}

// assigned is the rate table assigned to a client (account 0) or an account
// at t: the latest assignment from t or before, else the earliest; ok is
// false when it has none.
func (ref reference) assigned(client string, account int64, t time.Time) (string, bool) {
	var latest, earliest *Assignment
	for i := range ref.c.Assignments {
		a := &ref.c.Assignments[i]
		if a.Client != client || a.Account != account {
			continue
		}
		if earliest == nil || a.From.Before(earliest.From) {
			earliest = a
		}
		if !a.From.After(t) && (latest == nil || a.From.After(latest.From)) {
			latest = a
		}
	}
	switch {
	case latest != nil:
		return latest.RateTable, true
	case earliest != nil:
		return earliest.RateTable, true
	}
	return "", false
}

// resolve: the child's rate wins unless the parent's (resolved the same way)
// code is strictly longer; of a table's rates that apply to the origin src,
// the longest code, then the longest source code ("" applies to any).
func (ref reference) resolve(table, num, src string, at time.Time) *Rate {
	var own *Rate
	for i := range ref.c.Rates {
		r := &ref.c.Rates[i]
		if r.Table != table || !strings.HasPrefix(num, r.Code) || !strings.HasPrefix(src, r.SrcCode) || !ref.inForce(r, at) {
			continue
		}
		if own == nil || len(r.Code) > len(own.Code) || (len(r.Code) == len(own.Code) && len(r.SrcCode) > len(own.SrcCode)) {
			own = r
		}
	}
	var parent string
	for _, t := range ref.c.Tables {
		if t.Name == table {
			parent = t.Parent
		}
	}
	if parent != "" {
		if p := ref.resolve(parent, num, src, at); p != nil && (own == nil || len(p.Code) > len(own.Code)) {
			return p
		}
	}
	return own
}

func (ref reference) inForce(r *Rate, at time.Time) bool {
	if at.Before(r.EffectiveFrom) || (!r.End.IsZero() && !at.Before(r.End)) {
		return false
	}
	for _, o := range ref.c.Rates { // until the next effective_from of the same code and origin
		if o.Table == r.Table && o.Code == r.Code && o.SrcCode == r.SrcCode && o.EffectiveFrom.After(r.EffectiveFrom) && !at.Before(o.EffectiveFrom) {
			return false
		}
	}
	return true
}

// randomCatalog makes a small catalog dense in collisions: few digits, short
// codes, several versions per code, three tables chained, tech prefixes and,
// with srcs, rates for given origins.
func randomCatalog(rng *rand.Rand, srcs bool) Catalog {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(3))
		}
		return string(b)
	}
	c := Catalog{
		Clients: []Client{{ID: "a", RateTable: "t0"}, {ID: "b", RateTable: "t1"}, {ID: "c"}},
		Tables:  []Table{{Name: "t0", Currency: "USD", Parent: "t1"}, {Name: "t1", Currency: "USD", Parent: "t2"}, {Name: "t2", Currency: "USD"}},
	}
	for i := range 12 {
		c.Accounts = append(c.Accounts, Account{ID: int64(i + 1), Client: []string{"a", "b", "c"}[rng.IntN(3)],
			Kind: AccountKind(rng.IntN(3)), Value: fmt.Sprint(rng.IntN(3)), TechPrefix: []string{"", "", "1", "12"}[rng.IntN(4)],
			RateTable: []string{"", "", "t2"}[rng.IntN(3)], Enabled: rng.IntN(6) > 0})
	}
	for i := range 60 {
		r := Rate{ID: int64(i + 1), Table: fmt.Sprint("t", rng.IntN(3)), Code: digits(1 + rng.IntN(4)),
			PerMinute:     decimal.New(rng.Int64N(4_000_000)-500_000, -int32(rng.IntN(9))),
			EffectiveFrom: t0.Add(time.Duration(rng.IntN(10)) * time.Hour), MinSeconds: int32(1 + rng.IntN(60)),
			IntervalSeconds: int32(1 + rng.IntN(60)), GraceSeconds: int32(rng.IntN(5)), SetupFee: decimal.New(rng.Int64N(1000), -int32(rng.IntN(9)))}
		if rng.IntN(3) == 0 {
			r.End = r.EffectiveFrom.Add(time.Duration(1+rng.IntN(8)) * time.Hour)
		}
		if srcs && rng.IntN(3) == 0 { // a price for calls from some origins
			r.SrcCode = digits(1 + rng.IntN(3))
		}
		c.Rates = append(c.Rates, r)
	}
	if srcs { // rate tables that change over time, for clients and accounts
		tables := []string{"", "t0", "t1", "t2"}
		seen := map[string]bool{}
		for range 6 {
			a := Assignment{Client: []string{"a", "b", "c"}[rng.IntN(3)], RateTable: tables[rng.IntN(4)],
				From: t0.Add(time.Duration(rng.IntN(12)) * time.Hour)}
			if rng.IntN(2) == 0 {
				acc := c.Accounts[rng.IntN(len(c.Accounts))]
				a.Client, a.Account = acc.Client, acc.ID
			}
			if k := fmt.Sprint(a.Client, a.Account, a.From); !seen[k] {
				seen[k] = true
				c.Assignments = append(c.Assignments, a)
			}
		}
	}
	// Keep (table, code, src_code, effective_from) unique, as the database does.
	seen := map[string]bool{}
	rates := c.Rates[:0]
	for _, r := range c.Rates {
		k := fmt.Sprint(r.Table, r.Code, "/", r.SrcCode, r.EffectiveFrom)
		if !seen[k] {
			seen[k] = true
			rates = append(rates, r)
		}
	}
	c.Rates = rates
	return c
}

func randomCDR(rng *rand.Rand) CDR {
	num := make([]byte, 1+rng.IntN(7))
	for i := range num {
		num[i] = byte('0' + rng.IntN(3))
	}
	dst := string(num)
	if rng.IntN(10) == 0 {
		dst = "+" + dst
	}
	if rng.IntN(50) == 0 {
		dst += "x"
	}
	src := fmt.Sprint(rng.IntN(4))
	if rng.IntN(2) == 0 { // a longer origin number, to meet source codes
		src = []string{"", "+"}[rng.IntN(2)] + fmt.Sprint(rng.IntN(3), rng.IntN(3), rng.IntN(3), rng.IntN(3))
	}
	return CDR{ConnectTime: t0.Add(time.Duration(rng.Int64N(int64(12 * time.Hour)))), Duration: time.Duration(rng.Int64N(int64(200 * time.Second))),
		OrigAccount: fmt.Sprint(rng.IntN(4)), OrigIP: fmt.Sprint(rng.IntN(4)), SrcNumber: src, DstNumber: dst}
}

// TestEngineAgreesWithPlainDecimalRules rates a million random calls over many
// random catalogs both ways; the parent rule, effective dates, tech prefixes
// and the cost formula all have to agree to the last millionth.
func TestEngineAgreesWithPlainDecimalRules(t *testing.T) {
	calls := 1_000_000
	if testing.Short() {
		calls = 50_000
	}
	agree(t, calls, false)
}

// TestEngineAgreesOnRatesForGivenOriginsAndTablesThatChange: with source
// codes, the longest that starts the origin wins among a code's rates, else
// the one for any; a client's or account's rate table is the one assigned
// at the call's connect time.
func TestEngineAgreesOnRatesForGivenOriginsAndTablesThatChange(t *testing.T) {
	calls := 1_000_000
	if testing.Short() {
		calls = 50_000
	}
	agree(t, calls, true)
}

// TestEngineWalkingEachTableAgreesToo: past its budget for merged chain
// indexes the engine walks each table of a chain; that path must agree too.
func TestEngineWalkingEachTableAgreesToo(t *testing.T) {
	saved := mergeBudget
	mergeBudget = 0
	defer func() { mergeBudget = saved }()
	agree(t, 200_000, false)
	agree(t, 200_000, true)
}

func agree(t *testing.T, calls int, srcs bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	const perCatalog = 2000
	for n := 0; n < calls; n += perCatalog {
		c := randomCatalog(rng, srcs)
		e, err := NewEngine(c)
		if err != nil {
			t.Fatal(err)
		}
		ref := reference{c}
		for range perCatalog {
			cdr := randomCDR(rng)
			got := e.Rate(&cdr)
			st, id, billed, cost := ref.rate(&cdr)
			if got.Status != st || got.RateID != id || got.BilledSeconds != billed || !got.Cost.Decimal().Equal(cost) {
				t.Fatalf("call %+v\nengine:    %v rate %d %d s %s\nreference: %v rate %d %d s %s", cdr, got.Status, got.RateID, got.BilledSeconds, got.Cost, st, id, billed, cost)
			}
		}
	}
}
