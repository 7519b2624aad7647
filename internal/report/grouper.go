package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/billrun/billrun/internal/period"
	"github.com/shopspring/decimal"
)

// Columns are the call fields a summary reads besides currency, billed
// seconds and cost: a store sends only these.
type Columns struct {
	Client, Account, Rate, Day bool
	Src                        bool // the call's rate table and src_number, for SrcName
	// Which names of a rate the report shows.
	Codes, Names bool
}

// Call is one rated call as the Grouper takes it. Byte slices are only read
// during Add; a nil or empty one is a NULL value.
type Call struct {
	Client    []byte
	AccountID int64  // 0: none
	RateID    int64  // 0: none
	Day       int64  // days since the Grouper's Base
	Table     []byte // the rate table, with Columns.Src
	Src       []byte // src_number, with Columns.Src
	Currency  []byte
	Seconds   int64
	// Cost in millionths, unless Big: then BigCost.
	Cost    int64
	Big     bool
	BigCost decimal.Decimal
}

// groupKey numbers a group's values: one number per group-by key, then the
// currency. Numbers come from the interners; 0 is NULL.
type groupKey [9]uint32 // eight keys at most, and the currency

// Grouper sums rated calls into summary groups, a call at a time. Keys are
// numbered as calls arrive (one goroutine) and summed by another, between
// Start and Wait: a month of calls takes two cores.
type Grouper struct {
	keys []Key
	cols Columns
	base time.Time // the local date of the report's start: day numbers count from it

	clients, codes, names, currencies interner
	srcNames                          interner
	// SrcName names an origin for a rate table (Columns.Src).
	SrcName       func(table, src []byte) []byte
	accounts      map[int64]uint32
	accountIDs    []int64 // by number - 1
	accountLabels map[int64]string
	// A rated call's code and destination name are its rate's, by rate id.
	// Ids index a slice where they are dense enough, as sequences leave
	// them (a map otherwise).
	loaded    []loadedRate
	maxRateID int64
	rates     []rateNames
	ratesByID map[int64]rateNames
	months    map[int64]uint32 // day number → month number

	// Numbered calls go to the summing goroutine in batches.
	batch      *callBatch
	full, free chan *callBatch
	done       chan struct{}

	// Owned by the summing goroutine.
	index  map[groupKey]int32
	packed map[uint64]int32 // the same for keys that pack into 64 bits
	groups []groupKey
	sums   []Sums
}

// NewGrouper groups by keys; from, in the report's zone, is where day
// numbers start.
func NewGrouper(keys []Key, from time.Time) (*Grouper, error) {
	g := &Grouper{keys: keys, base: time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC),
		accounts: map[int64]uint32{}, months: map[int64]uint32{}, index: map[groupKey]int32{}, packed: map[uint64]int32{}}
	if len(keys) >= len(groupKey{}) {
		return nil, fmt.Errorf("%d group-by keys: at most %d", len(keys), len(groupKey{})-1)
	}
	for _, k := range keys {
		switch k {
		case Client:
			g.cols.Client = true
		case Account:
			g.cols.Account = true
		case DstCode:
			g.cols.Rate, g.cols.Codes = true, true
		case DstName:
			g.cols.Rate, g.cols.Names = true, true
		case SrcName:
			g.cols.Src = true
		case Day, Month:
			g.cols.Day = true
		case Currency:
		default:
			return nil, fmt.Errorf("unknown group-by key %q", k)
		}
	}
	return g, nil
}

// Columns says which fields of a call the report needs.
func (g *Grouper) Columns() Columns { return g.cols }

// Base is the date day numbers count from (midnight UTC of the report's
// first local day).
func (g *Grouper) Base() time.Time { return g.base }

// rateNames numbers a rate's code and destination name.
type rateNames struct{ code, name uint32 }

type loadedRate struct {
	id int64
	rateNames
}

// AddRate names a rate before calls arrive: its code and destination name
// (the name its table's deck gives the code, else the code: billing-rules §5).
func (g *Grouper) AddRate(id int64, code, name []byte) error {
	if id <= 0 {
		return fmt.Errorf("summary: rate id %d", id)
	}
	g.maxRateID = max(g.maxRateID, id)
	var r rateNames
	if g.cols.Codes {
		r.code = g.codes.id(code)
	}
	if g.cols.Names {
		r.name = g.names.id(name)
	}
	g.loaded = append(g.loaded, loadedRate{id, r})
	return nil
}

// MaxRateID is the largest rate id added.
func (g *Grouper) MaxRateID() int64 { return g.maxRateID }

// denseRates bounds the ids per rate for which rates are indexed by id in a
// slice: re-imports (upserts) use up sequence numbers.
const denseRates = 16

func (g *Grouper) indexRates() {
	if g.maxRateID < int64(len(g.loaded))*denseRates+1<<20 {
		g.rates = make([]rateNames, g.maxRateID+1)
		for _, r := range g.loaded {
			g.rates[r.id] = r.rateNames
		}
	} else {
		g.ratesByID = make(map[int64]rateNames, len(g.loaded))
		for _, r := range g.loaded {
			g.ratesByID[r.id] = r.rateNames
		}
	}
	g.loaded = nil
}

// Accounts lists the accounts met, for NameAccounts.
func (g *Grouper) Accounts() []int64 { return g.accountIDs }

// NameAccounts labels the accounts met (kind:value #tech_prefix).
func (g *Grouper) NameAccounts(labels map[int64]string) { g.accountLabels = labels }

// Start starts summing; calls are added after it and before Wait.
func (g *Grouper) Start() {
	g.indexRates()
	const batches, size = 4, 2048
	g.full, g.free, g.done = make(chan *callBatch, batches), make(chan *callBatch, batches), make(chan struct{})
	for range batches - 1 {
		g.free <- &callBatch{calls: make([]summedCall, 0, size)}
	}
	g.batch = &callBatch{calls: make([]summedCall, 0, size)}
	go func() {
		defer close(g.done)
		for b := range g.full {
			for _, c := range b.calls {
				i := g.group(c.key)
				if c.big == 0 {
					g.sums[i].Add(c.seconds, c.cost)
				} else {
					g.sums[i].AddDecimal(c.seconds, b.bigs[c.big-1])
				}
			}
			b.calls, b.bigs = b.calls[:0], b.bigs[:0]
			g.free <- b
		}
	}()
}

// Wait hands the last calls to the summing goroutine and waits until it has
// summed them.
func (g *Grouper) Wait() {
	g.full <- g.batch
	close(g.full)
	<-g.done
}

// Add groups one call.
func (g *Grouper) Add(c *Call) error {
	var names rateNames
	if g.cols.Rate && c.RateID != 0 {
		var err error
		if names, err = g.rate(c.RateID); err != nil {
			return err
		}
	}
	var k groupKey
	for i, key := range g.keys {
		switch key {
		case Client:
			k[i] = g.clients.id(c.Client)
		case Account:
			k[i] = g.account(c.AccountID)
		case DstCode:
			k[i] = names.code
		case DstName:
			k[i] = names.name
		case SrcName:
			var name []byte
			if g.SrcName != nil {
				name = g.SrcName(c.Table, c.Src)
			}
			k[i] = g.srcNames.id(name)
		case Day:
			k[i] = uint32(c.Day) + 1
		case Month:
			k[i] = g.month(c.Day)
		case Currency:
			k[i] = g.currencies.id(c.Currency)
		}
	}
	k[len(g.keys)] = g.currencies.id(c.Currency)
	b := g.batch
	s := summedCall{key: k, seconds: c.Seconds, cost: c.Cost}
	if c.Big {
		b.bigs = append(b.bigs, c.BigCost)
		s.big = int32(len(b.bigs))
	}
	b.calls = append(b.calls, s)
	if len(b.calls) == cap(b.calls) {
		g.full <- b
		g.batch = <-g.free
	}
	return nil
}

// summedCall is a numbered call on its way to its group.
type summedCall struct {
	key     groupKey
	seconds int64
	cost    int64 // millionths, unless big > 0
	big     int32 // then the cost is the batch's bigs[big-1]
}

type callBatch struct {
	calls []summedCall
	bigs  []decimal.Decimal
}

// group numbers the group of k, a new one when k is new. Keys of up to three
// numbers below 2^21, the usual reports, are found by one uint64: a month's
// tens of thousands of groups leave a wider key a cache miss slower.
func (g *Grouper) group(k groupKey) int32 {
	var p uint64
	packs := len(g.keys) < 3
	for j := 0; packs && j <= len(g.keys); j++ {
		packs = k[j] < 1<<21
		p = p<<21 | uint64(k[j])
	}
	var i int32
	var ok bool
	if packs {
		i, ok = g.packed[p]
	} else {
		i, ok = g.index[k]
	}
	if !ok {
		i = int32(len(g.sums))
		if packs {
			g.packed[p] = i
		} else {
			g.index[k] = i
		}
		g.groups = append(g.groups, k)
		g.sums = append(g.sums, Sums{})
	}
	return i
}

func (g *Grouper) account(id int64) uint32 {
	if id == 0 {
		return 0
	}
	n, ok := g.accounts[id]
	if !ok {
		g.accountIDs = append(g.accountIDs, id)
		n = uint32(len(g.accountIDs))
		g.accounts[id] = n
	}
	return n
}

// rate numbers the code and destination name of a call's rate.
func (g *Grouper) rate(id int64) (rateNames, error) {
	var r rateNames
	ok := false
	if g.rates != nil {
		if ok = id >= 0 && id < int64(len(g.rates)); ok {
			r = g.rates[id]
			ok = r != rateNames{}
		}
	} else {
		r, ok = g.ratesByID[id]
	}
	if !ok {
		return r, fmt.Errorf("summary: a call was rated by rate %d, which rates no longer holds", id)
	}
	return r, nil
}

// month numbers the month of day number d.
func (g *Grouper) month(d int64) uint32 {
	m, ok := g.months[d]
	if !ok {
		t := g.base.AddDate(0, 0, int(d))
		m = uint32(t.Year()*12+int(t.Month())-1) + 1
		g.months[d] = m
	}
	return m
}

// Rows turns the groups into report rows in the byte order of their values.
// Groups sort by the ranks of their numbers, each value compared once.
func (g *Grouper) Rows() []SummaryRow {
	n := len(g.keys)
	labels, ranks := make([][]string, n+1), make([][]uint32, n+1)
	for j := range n + 1 {
		labels[j] = g.labels(j)
		ranks[j] = rank(labels[j])
	}
	order := make([]int32, len(g.groups))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ka, kb := &g.groups[a], &g.groups[b]
		for j := range n + 1 {
			if c := cmp.Compare(ranks[j][ka[j]], ranks[j][kb[j]]); c != 0 {
				return c
			}
		}
		return 0
	})
	out := make([]SummaryRow, len(order))
	values := make([]string, len(order)*n)
	for i, gi := range order {
		k, sums := &g.groups[gi], &g.sums[gi]
		r := SummaryRow{Values: values[i*n : (i+1)*n : (i+1)*n], Calls: sums.Calls, BilledSeconds: sums.BilledSeconds,
			Amount: sums.Amount(), Currency: labels[n][k[n]]}
		for j := range n {
			r.Values[j] = labels[j][k[j]]
		}
		out[i] = r
	}
	return out
}

// labels returns the strings of group key part j (the currency when j is
// the number of keys), indexed by their numbers.
func (g *Grouper) labels(j int) []string {
	key := Currency
	if j < len(g.keys) {
		key = g.keys[j]
	}
	switch key {
	case Client:
		return g.clients.labels()
	case DstCode:
		return g.codes.labels()
	case DstName:
		return g.names.labels()
	case SrcName:
		return g.srcNames.labels()
	case Currency:
		return g.currencies.labels()
	case Account:
		out := make([]string, len(g.accountIDs)+1)
		for i, id := range g.accountIDs {
			out[i+1] = g.accountLabels[id]
		}
		return out
	}
	var top uint32 // day and month numbers: as many labels as the largest
	for i := range g.groups {
		top = max(top, g.groups[i][j])
	}
	out := make([]string, top+1)
	seen := make([]bool, top+1)
	for i := range g.groups {
		if n := g.groups[i][j]; !seen[n] {
			seen[n] = true
			if key == Day {
				out[n] = g.base.AddDate(0, 0, int(n)-1).Format(time.DateOnly)
			} else {
				out[n] = string(period.Of(time.Date(int(n-1)/12, time.Month(int(n-1)%12+1), 1, 0, 0, 0, 0, time.UTC)))
			}
		}
	}
	return out
}

// rank numbers labels by their byte order, equal labels alike.
func rank(labels []string) []uint32 {
	idx := make([]int32, len(labels))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return strings.Compare(labels[a], labels[b]) })
	ranks := make([]uint32, len(labels))
	for i, x := range idx {
		if i > 0 && labels[x] != labels[idx[i-1]] {
			ranks[x] = ranks[idx[i-1]] + 1
		} else if i > 0 {
			ranks[x] = ranks[idx[i-1]]
		}
	}
	return ranks
}

// interner numbers distinct values from 1; 0 is NULL (nil or empty).
type interner struct {
	ids    map[string]uint32
	values []string
}

func (in *interner) id(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	if n, ok := in.ids[string(b)]; ok { // no allocation for the lookup
		return n
	}
	if in.ids == nil {
		in.ids = map[string]uint32{}
	}
	s := string(b)
	in.values = append(in.values, s)
	n := uint32(len(in.values))
	in.ids[s] = n
	return n
}

// labels returns the values by number, "" for NULL.
func (in *interner) labels() []string {
	return append([]string{""}, in.values...)
}
