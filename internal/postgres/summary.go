package postgres

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/report"
)

// Summary runs the summary report over the rated calls of [q.From, q.To).
//
// PostgreSQL streams the period's rated calls as COPY text, only the columns
// the keys need, and billrun groups them as they arrive: one goroutine parses
// calls and names their keys, another sums them into groups. Grouping in
// PostgreSQL costs about a microsecond a call on one core once a month holds
// tens of thousands of (client, destination) groups; streaming costs it a
// third of that, and the parsing and summing run beside it
// (docs/benchmarks.md). The whole report reads one snapshot.
func (s *Store) Summary(ctx context.Context, q report.Summary) ([]report.SummaryRow, error) {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	g, err := newSummer(q.GroupBy, q.From.In(loc))
	if err != nil {
		return nil, err
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The session time zone places calls in days and months. JIT would
		// compile every day partition's scan of a month for nothing.
		if _, err := tx.Exec(ctx, `SELECT set_config('TimeZone', $1, true), set_config('jit', 'off', true)`, loc.String()); err != nil {
			return err
		}
		if g.cols.rate {
			if err := g.loadRates(ctx, tx); err != nil {
				return err
			}
		}
		sql := `COPY (SELECT ` + strings.Join(g.selectList(), ", ") + ` FROM cdrs c
			WHERE c.connect_time >= ` + quoteTime(q.From) + ` AND c.connect_time < ` + quoteTime(q.To) + ` AND c.status = 'rated') TO STDOUT`
		w := &lineWriter{line: g.add}
		g.start()
		_, err := tx.Conn().PgConn().CopyTo(ctx, w, sql)
		g.wait()
		if err == nil {
			err = w.err
		}
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		if g.cols.account {
			return g.loadAccountLabels(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g.rows(), nil
}

// summaryCols are the calls' columns a summary reads besides currency,
// billed seconds and cost, in this order.
type summaryCols struct {
	client, account, rate, day bool
}

// groupKey numbers a group's values: one number per group-by key, then the
// currency. Numbers come from the interners; 0 is NULL.
type groupKey [8]uint32 // seven keys at most, and the currency

// summer groups COPY text rows of rated calls.
type summer struct {
	keys  []report.Key
	cols  summaryCols
	width int       // fields a row has
	base  time.Time // the local date of the report's start: day numbers count from it

	clients, codes, names, currencies interner
	accounts                          map[int64]uint32
	accountIDs                        []int64 // by number - 1
	accountLabels                     map[int64]string
	// A rated call's code and destination name are its rate's: by rate id,
	// the numbers of each rate's code and name. Ids index a slice where
	// they are dense enough, as sequences leave them (a map otherwise).
	rates     []rateNames
	ratesByID map[int64]rateNames
	months    map[int64]uint32 // day number → month number
	fields    [8][]byte        // of the row being parsed

	// Parsed calls go to the summing goroutine in batches.
	batch      *callBatch
	full, free chan *callBatch
	done       chan struct{}

	// Owned by the summing goroutine.
	index  map[groupKey]int32
	packed map[uint64]int32 // the same for keys that pack into 64 bits
	groups []groupKey
	sums   []report.Sums
}

func newSummer(keys []report.Key, from time.Time) (*summer, error) {
	g := &summer{keys: keys, base: time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC),
		accounts: map[int64]uint32{},
		months:   map[int64]uint32{}, index: map[groupKey]int32{}, packed: map[uint64]int32{}}
	if len(keys) >= len(groupKey{}) {
		return nil, fmt.Errorf("%d group-by keys: at most %d", len(keys), len(groupKey{})-1)
	}
	for _, k := range keys {
		switch k {
		case report.Client:
			g.cols.client = true
		case report.Account:
			g.cols.account = true
		case report.DstCode, report.DstName:
			g.cols.rate = true
		case report.Day, report.Month:
			g.cols.day = true
		case report.Currency:
		default:
			return nil, fmt.Errorf("unknown group-by key %q", k)
		}
	}
	g.width = len(g.selectList())
	return g, nil
}

// selectList is what the COPY reads for each call, in summaryCols order.
// Only these fixed strings reach SQL; the date is formatted from a time.
func (g *summer) selectList() []string {
	var cols []string
	if g.cols.client {
		cols = append(cols, "c.client")
	}
	if g.cols.account {
		cols = append(cols, "c.account_id")
	}
	if g.cols.rate {
		cols = append(cols, "c.rate_id")
	}
	if g.cols.day {
		cols = append(cols, "c.connect_time::date - DATE '"+g.base.Format(time.DateOnly)+"'")
	}
	return append(cols, "c.currency", "c.billed_seconds", "c.cost")
}

// rateNames numbers a rate's code and destination name.
type rateNames struct{ code, name uint32 }

// loadRates numbers every rate's code and destination name: the name its
// table's deck gives the code, else the code itself (billing-rules §5).
func (g *summer) loadRates(ctx context.Context, tx pgx.Tx) error {
	type rate struct {
		id int64
		rateNames
	}
	var rates []rate
	var maxID int64
	byCode, byName := slices.Contains(g.keys, report.DstCode), slices.Contains(g.keys, report.DstName)
	var buf [3][]byte
	w := &lineWriter{line: func(line []byte) error {
		f := splitFields(line, buf[:])
		if len(f) != 3 {
			return fmt.Errorf("a rate row has %d fields", len(f))
		}
		id, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || id < 0 {
			return fmt.Errorf("rate id %q", f[0])
		}
		maxID = max(maxID, id)
		var r rateNames
		if byCode {
			r.code = g.codes.id(f[1])
		}
		if byName {
			r.name = g.names.id(f[2])
		}
		rates = append(rates, rate{id, r})
		return nil
	}}
	sql := `COPY (SELECT r.id, r.code, NULL FROM rates r) TO STDOUT`
	if byName {
		sql = `COPY (SELECT r.id, r.code, coalesce(e.name, r.code) FROM rates r
			LEFT JOIN rate_tables rt ON rt.name = r.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = rt.deck AND e.code = r.code) TO STDOUT`
	}
	_, err := tx.Conn().PgConn().CopyTo(ctx, w, sql)
	if err == nil {
		err = w.err
	}
	if err != nil {
		return fmt.Errorf("summary: rates: %w", err)
	}
	if maxID < int64(len(rates))*denseRates+1<<20 {
		g.rates = make([]rateNames, maxID+1)
		for _, r := range rates {
			g.rates[r.id] = r.rateNames
		}
		return nil
	}
	g.ratesByID = make(map[int64]rateNames, len(rates))
	for _, r := range rates {
		g.ratesByID[r.id] = r.rateNames
	}
	return nil
}

// denseRates bounds the ids per rate for which rates are indexed by id in a
// slice: re-imports (upserts) use up sequence numbers.
const denseRates = 16

// loadAccountLabels names the accounts met, as kind:value #tech_prefix.
func (g *summer) loadAccountLabels(ctx context.Context, tx pgx.Tx) error {
	g.accountLabels = map[int64]string{}
	rows, _ := tx.Query(ctx, `SELECT id, kind || ':' || value || CASE WHEN tech_prefix <> '' THEN ' #' || tech_prefix ELSE '' END
		FROM accounts WHERE id = ANY($1)`, g.accountIDs)
	var id int64
	var label string
	_, err := pgx.ForEachRow(rows, []any{&id, &label}, func() error {
		g.accountLabels[id] = label
		return nil
	})
	return err
}

// add groups one call.
func (g *summer) add(line []byte) error {
	f := splitFields(line, g.fields[:])
	if len(f) != g.width {
		return fmt.Errorf("summary: a row has %d fields, not %d", len(f), g.width)
	}
	var client, account, rate, day []byte
	if g.cols.client {
		client, f = f[0], f[1:]
	}
	if g.cols.account {
		account, f = f[0], f[1:]
	}
	if g.cols.rate {
		rate, f = f[0], f[1:]
	}
	if g.cols.day {
		day, f = f[0], f[1:]
	}
	seconds, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return fmt.Errorf("summary: billed seconds %q: %w", f[1], err)
	}
	cost, costFits := parseMillionths(f[2])
	var costDecimal decimal.Decimal
	if !costFits {
		if costDecimal, err = decimal.NewFromString(string(f[2])); err != nil {
			return fmt.Errorf("summary: cost %q: %w", f[2], err)
		}
	}
	var names rateNames
	if g.cols.rate {
		if names, err = g.rate(rate); err != nil {
			return err
		}
	}
	var k groupKey
	for i, key := range g.keys {
		switch key {
		case report.Client:
			k[i] = g.clients.id(client)
		case report.Account:
			if k[i], err = g.account(account); err != nil {
				return err
			}
		case report.DstCode:
			k[i] = names.code
		case report.DstName:
			k[i] = names.name
		case report.Day, report.Month:
			d, err := strconv.ParseInt(string(day), 10, 32)
			if err != nil {
				return fmt.Errorf("summary: day %q: %w", day, err)
			}
			k[i] = uint32(d) + 1
			if key == report.Month {
				k[i] = g.month(d)
			}
		case report.Currency:
			k[i] = g.currencies.id(f[0])
		}
	}
	k[len(g.keys)] = g.currencies.id(f[0])
	b := g.batch
	c := summedCall{key: k, seconds: seconds, cost: cost}
	if !costFits {
		b.bigs = append(b.bigs, costDecimal)
		c.big = int32(len(b.bigs))
	}
	b.calls = append(b.calls, c)
	if len(b.calls) == cap(b.calls) {
		g.full <- b
		g.batch = <-g.free
	}
	return nil
}

// summedCall is a parsed call on its way to its group.
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

// start starts the summing goroutine; wait hands it the last calls and
// waits until it has summed them.
func (g *summer) start() {
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

func (g *summer) wait() {
	g.full <- g.batch
	close(g.full)
	<-g.done
}

// group numbers the group of k, a new one when k is new. Keys of up to three
// numbers below 2^21, the usual reports, are found by one uint64: a month's
// tens of thousands of groups leave a wider key a cache miss slower.
func (g *summer) group(k groupKey) int32 {
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
		g.sums = append(g.sums, report.Sums{})
	}
	return i
}

func (g *summer) account(b []byte) (uint32, error) {
	if isNull(b) {
		return 0, nil
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("summary: account %q: %w", b, err)
	}
	n, ok := g.accounts[id]
	if !ok {
		g.accountIDs = append(g.accountIDs, id)
		n = uint32(len(g.accountIDs))
		g.accounts[id] = n
	}
	return n, nil
}

// rate numbers the code and destination name of a call's rate.
func (g *summer) rate(b []byte) (rateNames, error) {
	if isNull(b) {
		return rateNames{}, nil
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return rateNames{}, fmt.Errorf("summary: rate id %q", b)
	}
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
func (g *summer) month(d int64) uint32 {
	m, ok := g.months[d]
	if !ok {
		t := g.base.AddDate(0, 0, int(d))
		m = uint32(t.Year()*12+int(t.Month())-1) + 1
		g.months[d] = m
	}
	return m
}

// rows turns the groups into report rows in the byte order of their values.
// Groups sort by the ranks of their numbers, each value compared once.
func (g *summer) rows() []report.SummaryRow {
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
	out := make([]report.SummaryRow, len(order))
	values := make([]string, len(order)*n)
	for i, gi := range order {
		k, sums := &g.groups[gi], &g.sums[gi]
		r := report.SummaryRow{Values: values[i*n : (i+1)*n : (i+1)*n], Calls: sums.Calls, BilledSeconds: sums.BilledSeconds,
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
func (g *summer) labels(j int) []string {
	key := report.Currency
	if j < len(g.keys) {
		key = g.keys[j]
	}
	switch key {
	case report.Client:
		return g.clients.labels()
	case report.DstCode:
		return g.codes.labels()
	case report.DstName:
		return g.names.labels()
	case report.Currency:
		return g.currencies.labels()
	case report.Account:
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
			if key == report.Day {
				out[n] = g.base.AddDate(0, 0, int(n)-1).Format(time.DateOnly)
			} else {
				out[n] = time.Date(int(n-1)/12, time.Month(int(n-1)%12+1), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
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

// interner numbers distinct COPY text values from 1; 0 is NULL.
type interner struct {
	ids    map[string]uint32
	values []string
}

func (in *interner) id(b []byte) uint32 {
	if isNull(b) {
		return 0
	}
	if n, ok := in.ids[string(b)]; ok { // no allocation for the lookup
		return n
	}
	if in.ids == nil {
		in.ids = map[string]uint32{}
	}
	in.values = append(in.values, unescape(b))
	n := uint32(len(in.values))
	in.ids[string(b)] = n
	return n
}

// labels returns the values by number, "" for NULL.
func (in *interner) labels() []string {
	return append([]string{""}, in.values...)
}

// parseMillionths parses a cost as COPY prints numeric(20,6), e.g. "-1.105991",
// into millionths; ok is false when it does not fit an int64 or has more
// than six places.
func parseMillionths(b []byte) (v int64, ok bool) {
	s := b
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	places := -1
	for _, c := range s {
		switch {
		case c == '.' && places < 0:
			places = 0
		case c >= '0' && c <= '9' && places < 6 && v < (1<<63-1)/100:
			v = v*10 + int64(c-'0')
			if places >= 0 {
				places++
			}
		default:
			return 0, false
		}
	}
	if len(s) == 0 || places == 0 {
		return 0, false
	}
	for places = max(places, 0); places < 6; places++ {
		if v > (1<<63-1)/10 {
			return 0, false
		}
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// lineWriter hands each line of COPY text data to line.
type lineWriter struct {
	line    func([]byte) error
	partial []byte
	err     error
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && w.err == nil {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		line := p[:i]
		p = p[i+1:]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = line[:0]
		}
		w.err = w.line(line)
	}
	return n, w.err
}
