package rating

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Limits that keep the fixed-point arithmetic of the hot path exact.
const (
	ratePlaces  = 8               // rates and setup fees carry at most 8 decimal places
	maxSetupE8  = 1_000_000 * 1e8 // |setup fee| below 1,000,000
	productLimt = 1 << 62         // |rate × billed seconds| in 1e-8 units stays below this
)

// ErrCatalog is wrapped by every error NewEngine returns.
var ErrCatalog = errors.New("invalid catalog")

// Engine rates calls against one catalog snapshot. It is immutable and safe
// for concurrent use.
type Engine struct {
	byKind [numKinds]map[string][]account
}

type account struct {
	id         int64
	client     string
	techPrefix string
	table      *table // nil: no rate table
}

type table struct {
	name     string
	currency string
	chain    []*table   // itself first, then its ancestors
	trie     trie       // code → index in codes
	jump     []int32    // first jumpDigits digits → state, when no code ends before; else -1
	codes    []codeInfo // per code
	versions []version
	rates    []*Rate  // the catalog's rates, parallel to versions
	windows  []window // versions' windows, kept apart so a walk touches little memory
}

// window is when a version is in force: [from, end) in unix microseconds.
type window struct{ from, end int64 }

// codeInfo locates a code's versions, newest first, and copies the newest
// window so that the common case reads one record.
type codeInfo struct {
	window
	first, count int32
	newest       version // versions[first], here to save a cache miss
}

// version is the hot part of a rate: what the cost formula needs.
type version struct {
	rateE8    int64 // per minute, 1e-8 units
	setupE8   int64
	maxBilled int64 // billed seconds above this take the decimal path
	id        int64
	min       int32
	interval  int32
	grace     int32
	rate      int32 // index in table.rates, for the decimal path
}

// NewEngine compiles a catalog. It refuses what would make rating ambiguous:
// unknown or cyclic parents, a parent in another currency, a rate with more
// than 8 decimal places or an increment below 1.
func NewEngine(c Catalog) (*Engine, error) {
	tables := make(map[string]*table, len(c.Tables))
	parents := make(map[string]string, len(c.Tables))
	for _, t := range c.Tables {
		tables[t.Name] = &table{name: t.Name, currency: t.Currency, trie: trie{cells: []dcell{{check: -1, payload: -1}}}}
		parents[t.Name] = t.Parent
	}
	if err := CheckParents(parents); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCatalog, err)
	}
	for name, t := range tables {
		for p := name; p != ""; p = parents[p] {
			pt := tables[p]
			if pt.currency != t.currency {
				return nil, fmt.Errorf("%w: rate table %q (%s) has ancestor %q in %s", ErrCatalog, name, t.currency, p, pt.currency)
			}
			t.chain = append(t.chain, pt)
		}
	}
	if err := buildTries(tables, c.Rates); err != nil {
		return nil, err
	}

	clients := make(map[string]string, len(c.Clients))
	for _, cl := range c.Clients {
		clients[cl.ID] = cl.RateTable
	}
	e := &Engine{}
	for k := range e.byKind {
		e.byKind[k] = make(map[string][]account)
	}
	for _, a := range c.Accounts {
		if !a.Enabled {
			continue
		}
		if a.Kind >= numKinds {
			return nil, fmt.Errorf("%w: account %d has unknown kind %d", ErrCatalog, a.ID, a.Kind)
		}
		clientTable, ok := clients[a.Client]
		if !ok {
			return nil, fmt.Errorf("%w: account %d belongs to unknown client %q", ErrCatalog, a.ID, a.Client)
		}
		name := a.RateTable
		if name == "" {
			name = clientTable
		}
		acc := account{id: a.ID, client: a.Client, techPrefix: a.TechPrefix}
		if name != "" {
			if acc.table = tables[name]; acc.table == nil {
				return nil, fmt.Errorf("%w: account %d uses unknown rate table %q", ErrCatalog, a.ID, name)
			}
		}
		m := e.byKind[a.Kind]
		m[a.Value] = append(m[a.Value], acc)
	}
	for _, m := range e.byKind {
		for _, accs := range m {
			// Longest tech prefix first; ties keep a stable, documented order.
			sort.SliceStable(accs, func(i, j int) bool {
				if len(accs[i].techPrefix) != len(accs[j].techPrefix) {
					return len(accs[i].techPrefix) > len(accs[j].techPrefix)
				}
				return accs[i].id < accs[j].id
			})
		}
	}
	return e, nil
}

// CheckParents reports the first cycle or unknown parent in a table → parent
// map ("" for no parent). Import uses it to refuse cycles before they land.
func CheckParents(parents map[string]string) error {
	names := make([]string, 0, len(parents))
	for n := range parents {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		seen := map[string]bool{n: true}
		path := []string{n}
		for p := parents[n]; p != ""; p = parents[p] {
			if _, ok := parents[p]; !ok {
				return fmt.Errorf("rate table %q has unknown parent %q", path[len(path)-1], p)
			}
			path = append(path, p)
			if seen[p] {
				return fmt.Errorf("rate table parents form a cycle: %s", strings.Join(path, " → "))
			}
			seen[p] = true
		}
	}
	return nil
}

func buildTries(tables map[string]*table, rates []Rate) error {
	byTable := make(map[*table][]*Rate)
	for i := range rates {
		r := &rates[i]
		t := tables[r.Table]
		if t == nil {
			return fmt.Errorf("%w: rate %d belongs to unknown table %q", ErrCatalog, r.ID, r.Table)
		}
		byTable[t] = append(byTable[t], r)
	}
	for t, rs := range byTable {
		// Group by code, newest first, so a code's versions are contiguous.
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Code != rs[j].Code {
				return rs[i].Code < rs[j].Code
			}
			return rs[i].EffectiveFrom.After(rs[j].EffectiveFrom)
		})
		t.versions = make([]version, 0, len(rs))
		var codes []string
		for i := 0; i < len(rs); {
			j := i
			for j < len(rs) && rs[j].Code == rs[i].Code {
				j++
			}
			codes = append(codes, rs[i].Code)
			t.codes = append(t.codes, codeInfo{first: int32(len(t.versions)), count: int32(j - i)})
			next := int64(math.MaxInt64)
			for _, r := range rs[i:j] {
				v, err := compile(r)
				if err != nil {
					return err
				}
				w := window{from: r.EffectiveFrom.UnixMicro(), end: next}
				if !r.End.IsZero() && r.End.UnixMicro() < w.end {
					w.end = r.End.UnixMicro() // a newer version supersedes this one
				}
				v.rate = int32(len(t.rates))
				t.versions, t.windows, t.rates = append(t.versions, v), append(t.windows, w), append(t.rates, r)
				next = w.from
			}
			i = j
		}
		for k := range t.codes {
			t.codes[k].window = t.windows[t.codes[k].first]
			t.codes[k].newest = t.versions[t.codes[k].first]
		}
		var err error
		if t.trie, err = newTrie(codes); err != nil {
			return fmt.Errorf("%w: rate table %q: %w", ErrCatalog, t.name, err)
		}
		t.jump = t.trie.jumps()
	}
	return nil
}

func compile(r *Rate) (version, error) {
	bad := func(f string, a ...any) (version, error) {
		return version{}, fmt.Errorf("%w: rate %d (table %q, code %s): %s", ErrCatalog, r.ID, r.Table, r.Code, fmt.Sprintf(f, a...))
	}
	rateE8, ok := fixed8(r.PerMinute)
	if !ok {
		return bad("rate %s has more than %d decimal places or is too large", r.PerMinute, ratePlaces)
	}
	setupE8, ok := fixed8(r.SetupFee)
	if !ok || setupE8 >= maxSetupE8 || setupE8 <= -maxSetupE8 {
		return bad("setup fee %s has more than %d decimal places or is too large", r.SetupFee, ratePlaces)
	}
	if r.MinSeconds < 1 || r.IntervalSeconds < 1 || r.GraceSeconds < 0 {
		return bad("increment %d/%d/%d out of range", r.MinSeconds, r.IntervalSeconds, r.GraceSeconds)
	}
	maxBilled := int64(math.MaxInt64)
	if a := abs(rateE8); a != 0 {
		maxBilled = productLimt / a
	}
	return version{
		rateE8: rateE8, setupE8: setupE8, maxBilled: maxBilled, id: r.ID,
		min: r.MinSeconds, interval: r.IntervalSeconds, grace: r.GraceSeconds,
	}, nil
}

// fixed8 returns d in 1e-8 units when that is exact and fits comfortably.
func fixed8(d decimal.Decimal) (int64, bool) {
	s := d.Shift(ratePlaces)
	if !s.IsInteger() {
		return 0, false
	}
	if s.Abs().GreaterThanOrEqual(decimal.New(1, 17)) {
		return 0, false
	}
	return s.IntPart(), true
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Rate rates one call. It never fails: a call that cannot be rated comes back
// with a mismatch status.
func (e *Engine) Rate(c *CDR) Result {
	var res Result
	e.rate(c, &res)
	return res
}

// RateInto rates c into res, which it overwrites; it saves Rate's copy of
// the result on bulk paths.
func (e *Engine) RateInto(c *CDR, res *Result) {
	*res = Result{}
	e.rate(c, res)
}

// RateAll rates cdrs into out, which must be at least as long.
func (e *Engine) RateAll(cdrs []CDR, out []Result) {
	out = out[:len(cdrs)]
	for i := range cdrs {
		out[i] = Result{}
		e.rate(&cdrs[i], &out[i])
	}
}

func (e *Engine) rate(c *CDR, res *Result) {
	t, num := e.prepare(c, res)
	if t == nil {
		return
	}
	at := c.ConnectTime.UnixMicro()
	var best *version
	var by *table
	var bestLen int32
	for _, tt := range t.chain {
		// An ancestor's rate wins only with a strictly longer code.
		if v, l := tt.lookup(num, at); l > bestLen {
			best, by, bestLen = v, tt, l
		}
	}
	if best == nil {
		res.Status = UnknownDestination
		return
	}
	res.RateID, res.Code, res.RatedBy = best.id, num[:bestLen], by.name
	res.BilledSeconds, res.Cost = best.cost(c.Duration, by)
}

// prepare matches the account and normalises the number. It returns the rate
// table to look the number up in, or nil when res is already final.
func (e *Engine) prepare(c *CDR, res *Result) (*table, string) {
	acc := e.match(c)
	if acc == nil {
		res.Status = UnknownAccount
		return nil, ""
	}
	res.AccountID, res.Client = acc.id, acc.client
	if acc.table == nil {
		res.Status = NoRateTable
		return nil, ""
	}
	t := acc.table
	res.RateTable, res.Currency = t.name, t.currency
	num := c.DstNumber[len(acc.techPrefix):]
	if len(num) > 0 && num[0] == '+' {
		num = num[1:]
	}
	res.Number = num
	if !allDigits(num) {
		res.Status = UnknownDestination
		return nil, ""
	}
	return t, num
}

func (e *Engine) match(c *CDR) *account {
	for k, key := range [numKinds]string{c.OrigAccount, c.OrigIP, c.SrcNumber} {
		if key == "" {
			continue
		}
		// Longest tech prefix first: the first that fits is the candidate
		// that wins, and the first kind with a candidate decides.
		accs := e.byKind[k][key]
		for i := range accs {
			if strings.HasPrefix(c.DstNumber, accs[i].techPrefix) {
				return &accs[i]
			}
		}
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// lookup returns the version in force at t with the longest code that
// prefixes num, and that code's length (0: none).
func (t *table) lookup(num string, at int64) (*version, int32) {
	cells := t.trie.cells
	var best *version
	var bestLen int32
	s, base, i := int32(0), cells[0].base, 0 // one load per digit: the cell holds base, check and payload
	if len(num) >= jumpDigits && t.jump != nil {
		// The first digits hold no code: start below them.
		switch j := t.jump[jumpIndex(num)]; {
		case j >= 0:
			s, base, i = j, cells[j].base, jumpDigits
		case j == jumpNothing:
			return nil, 0
		}
	}
	for ; i < len(num); i++ {
		n := base + int32(num[i]-'0')
		if uint(n) >= uint(len(cells)) {
			break
		}
		c := &cells[n]
		if c.check != s {
			break
		}
		s, base = n, c.base
		if c.payload < 0 {
			continue
		}
		if v := t.codes[c.payload].at(t, at); v != nil {
			best, bestLen = v, int32(i+1)
		}
	}
	return best, bestLen
}

// at returns the code's version in force at t, or nil.
func (c *codeInfo) at(tb *table, t int64) *version {
	if c.from <= t {
		if t < c.end {
			return &c.newest
		}
		return nil
	}
	for k := c.first + 1; k < c.first+c.count; k++ { // an older version
		if w := &tb.windows[k]; w.from <= t {
			if t < w.end {
				return &tb.versions[k]
			}
			return nil // older versions ended where this one began
		}
	}
	return nil
}

// cost applies increments, grace and setup fee (billing-rules §2).
func (v *version) cost(dur time.Duration, t *table) (int64, Money) {
	d := int64(dur / time.Second)
	if dur%time.Second > 0 {
		d++
	}
	if d <= 0 || d <= int64(v.grace) {
		return 0, 0
	}
	min, iv := int64(v.min), int64(v.interval)
	billed := min
	if d > min {
		billed += (d - min + iv - 1) / iv * iv
	}
	if billed > v.maxBilled {
		return billed, slowCost(t.rates[v.rate], billed)
	}
	// cost = setup + rate × billed / 60, in 1e-8/60 units, then to 1e-6.
	n := v.setupE8*60 + v.rateE8*billed
	return billed, Money(divRoundHalfAway(n, 6000))
}

// slowCost is the decimal path for products too large for int64.
func slowCost(r *Rate, billed int64) Money {
	c := r.SetupFee.Add(r.PerMinute.Mul(decimal.NewFromInt(billed)).Div(decimal.NewFromInt(60)))
	return Money(c.Round(MoneyPlaces).Shift(MoneyPlaces).IntPart())
}
