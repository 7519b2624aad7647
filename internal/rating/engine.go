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
	table      *table     // nil: no rate table; with hist, the first segment's
	hist       *[]segment // nil when one table covers all time (a pointer: accounts stay small)
}

// segment is a span of an account's history with one rate table (its own,
// or its client's), from an instant (unix microseconds) to the next.
type segment struct {
	from  int64
	table *table
}

// tableAt is the account's rate table at t.
func (a *account) tableAt(t int64) *table {
	if a.hist == nil {
		return a.table
	}
	h := *a.hist
	i := sort.Search(len(h), func(i int) bool { return h[i].from > t }) - 1
	return h[max(i, 0)].table
}

type table struct {
	name     string
	currency string
	chain    []*table // itself first, then its ancestors
	own      *index   // this table's rates
	merged   *index   // the whole chain's, in one trie; nil: walk each table's own
}

type version struct {
	rateE8    int64 // per minute, 1e-8 units
	setupE8   int64
	maxBilled int64 // billed seconds above this take the decimal path
	id        int64
	min       int32
	interval  int32
	grace     int32
	tbl       *table // the table the rate is in
	src       *Rate  // for the decimal path
}

// NewEngine compiles a catalog. It refuses what would make rating ambiguous:
// unknown or cyclic parents, a parent in another currency, a rate with more
// than 8 decimal places or an increment below 1.
func NewEngine(c Catalog) (*Engine, error) {
	tables := make(map[string]*table, len(c.Tables))
	parents := make(map[string]string, len(c.Tables))
	for _, t := range c.Tables {
		tables[t.Name] = &table{name: t.Name, currency: t.Currency}
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
	clientHist, accountHist := histories(c.Assignments)
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
		acc := account{id: a.ID, client: a.Client, techPrefix: a.TechPrefix}
		own := accountHist[a.ID]
		if own == nil {
			own = []named{{math.MinInt64, a.RateTable}}
		}
		of := clientHist[a.Client]
		if of == nil {
			of = []named{{math.MinInt64, clientTable}}
		}
		var hist []segment
		for _, seg := range merge(own, of) {
			var t *table
			if seg.name != "" {
				if t = tables[seg.name]; t == nil {
					return nil, fmt.Errorf("%w: account %d uses unknown rate table %q", ErrCatalog, a.ID, seg.name)
				}
			}
			hist = append(hist, segment{seg.from, t})
		}
		if acc.table = hist[0].table; len(hist) > 1 {
			acc.hist = &hist
		}
		m := e.byKind[a.Kind]
		m[a.Value] = append(m[a.Value], acc)
	}
	roots := map[*table]bool{}
	for _, m := range e.byKind {
		for _, accs := range m {
			for _, a := range accs {
				if a.table != nil {
					roots[a.table] = true
				}
				if a.hist != nil {
					for _, s := range *a.hist {
						if s.table != nil {
							roots[s.table] = true
						}
					}
				}
			}
		}
	}
	list := make([]*table, 0, len(roots))
	for t := range roots {
		list = append(list, t)
	}
	if err := mergeChains(list); err != nil {
		return nil, err
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
// map ("" for no parent).
func CheckParents(parents map[string]string) error {
	names := make([]string, 0, len(parents))
	for n := range parents {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if p := parents[n]; p != "" {
			if _, ok := parents[p]; !ok {
				return fmt.Errorf("rate table %q has unknown parent %q", n, p)
			}
		}
	}
	// Every chain must end within as many steps as there are tables.
	for _, n := range names {
		path := []string{n}
		for p := parents[n]; p != ""; p = parents[p] {
			if path = append(path, p); len(path) > len(parents)+1 {
				return fmt.Errorf("rate table parents form a cycle from %q: %s …", n, strings.Join(path[:len(parents)+1], " → "))
			}
		}
	}
	return nil
}

func buildTries(tables map[string]*table, rates []Rate) error {
	byTable := make(map[*table][]entry, len(tables))
	counts := make(map[string]int, len(tables))
	for i := range rates {
		counts[rates[i].Table]++
	}
	for i := range rates {
		r := &rates[i]
		t := tables[r.Table]
		if t == nil {
			return fmt.Errorf("%w: rate %d belongs to unknown table %q", ErrCatalog, r.ID, r.Table)
		}
		v, err := compile(r)
		if err != nil {
			return fmt.Errorf("%w: rate table %q: %w", ErrCatalog, t.name, err)
		}
		v.tbl = t
		if byTable[t] == nil {
			byTable[t] = make([]entry, 0, counts[r.Table])
		}
		byTable[t] = append(byTable[t], entry{code: r.Code, src: r.SrcCode, from: r.EffectiveFrom.UnixMicro(), v: v})
	}
	for _, t := range tables {
		var err error
		if t.own, err = newIndex(byTable[t], false); err != nil {
			return fmt.Errorf("%w: rate table %q: %w", ErrCatalog, t.name, err)
		}
	}
	return nil
}

// mergeBudget bounds the rates copied into merged chain indexes: a chain
// walked as one trie is faster, but a base table under many children would
// be copied once per child. (A variable, so that tests cover both ways.)
var mergeBudget = 4_000_000

// mergeChains gives each table that accounts rate against, and that has
// ancestors, one index of its whole chain, while the budget lasts.
func mergeChains(roots []*table) error {
	sort.Slice(roots, func(i, j int) bool { return roots[i].name < roots[j].name })
	budget := mergeBudget
	for _, t := range roots {
		if t.merged != nil || len(t.chain) < 2 {
			continue
		}
		n := 0
		for _, tt := range t.chain {
			n += len(tt.own.versions)
		}
		if n > budget {
			continue
		}
		budget -= n
		var err error
		if t.merged, err = newIndex(mergeOwn(t.chain, n), true); err != nil {
			return fmt.Errorf("%w: rate table %q: %w", ErrCatalog, t.name, err)
		}
	}
	return nil
}

// mergeOwn merges the own indexes of chain, each already in code order,
// into the entries of one index over all n of their versions, in byCode
// order: a merge, not a sort, since chains are short.
func mergeOwn(chain []*table, n int) []entry {
	out := make([]entry, 0, n)
	next := make([]int, len(chain)) // per table, its next code
	for {
		pos := -1
		var code string
		for p, tt := range chain {
			if next[p] < len(tt.own.codes) {
				if c := tt.own.trieCode(next[p]); pos < 0 || c < code {
					pos, code = p, c
				}
			}
		}
		if pos < 0 {
			return out
		}
		for p, tt := range chain { // equal codes: nearer tables first
			if next[p] < len(tt.own.codes) && tt.own.trieCode(next[p]) == code {
				ci := tt.own.codes[next[p]]
				for k := ci.first; k < ci.first+ci.count; k++ {
					out = append(out, entry{code: code, src: tt.own.versions[k].src.SrcCode, from: tt.own.windows[k].from, pos: p, v: tt.own.versions[k]})
				}
				next[p]++
			}
		}
	}
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
	if strings.Trim(r.SrcCode, "0123456789") != "" {
		return bad("source code %q is not digits", r.SrcCode)
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
		min: r.MinSeconds, interval: r.IntervalSeconds, grace: r.GraceSeconds, src: r,
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
	src := c.SrcNumber
	if len(src) > 0 && src[0] == '+' {
		src = src[1:]
	}
	var best *version
	var bestLen int32
	if t.merged != nil {
		best, bestLen = t.merged.lookup(num, at, src)
	} else {
		for _, tt := range t.chain {
			// An ancestor's rate wins only with a strictly longer code.
			if v, l := tt.own.lookup(num, at, src); l > bestLen {
				best, bestLen = v, l
			}
		}
	}
	if best == nil {
		res.Status = UnknownDestination
		return
	}
	res.RateID, res.Code, res.RatedBy = best.id, num[:bestLen], best.tbl.name
	res.BilledSeconds, res.Cost = best.cost(c.Duration)
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
	t := acc.table
	if acc.hist != nil {
		t = acc.tableAt(c.ConnectTime.UnixMicro())
	}
	if t == nil {
		res.Status = NoRateTable
		return nil, ""
	}
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

// cost applies increments, grace and setup fee (billing-rules §2).
func (v *version) cost(dur time.Duration) (int64, Money) {
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
		return billed, slowCost(v.src, billed)
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

// named is a rate table's name from an instant (unix microseconds) on.
type named struct {
	from int64
	name string
}

// histories sorts assignments into each client's and account's, oldest
// first, the first of each stretched back over all time before it.
func histories(as []Assignment) (clients map[string][]named, accounts map[int64][]named) {
	clients, accounts = map[string][]named{}, map[int64][]named{}
	for _, a := range as {
		n := named{a.From.UnixMicro(), a.RateTable}
		if a.Account == 0 {
			clients[a.Client] = append(clients[a.Client], n)
		} else {
			accounts[a.Account] = append(accounts[a.Account], n)
		}
	}
	for _, h := range clients {
		sortNamed(h)
	}
	for _, h := range accounts {
		sortNamed(h)
	}
	return clients, accounts
}

func sortNamed(h []named) {
	sort.Slice(h, func(i, j int) bool { return h[i].from < h[j].from })
	h[0].from = math.MinInt64
}

// merge is an account's rate table over time: its own where it has one,
// else its client's, in spans where the name stays the same.
func merge(own, client []named) []named {
	at := func(h []named, t int64) string {
		i := sort.Search(len(h), func(i int) bool { return h[i].from > t }) - 1
		return h[max(i, 0)].name
	}
	var froms []int64
	for _, h := range [][]named{own, client} {
		for _, n := range h {
			froms = append(froms, n.from)
		}
	}
	sort.Slice(froms, func(i, j int) bool { return froms[i] < froms[j] })
	var out []named
	for _, f := range froms {
		name := at(own, f)
		if name == "" {
			name = at(client, f)
		}
		if len(out) == 0 || out[len(out)-1].name != name {
			out = append(out, named{f, name})
		}
	}
	return out
}
