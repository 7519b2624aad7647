package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/copytext"
	"github.com/billrun/billrun/internal/report"
)

// clientFilter is the condition on calls (alias c) of clients, as text for
// a COPY, which takes no parameters: client IDs are names (catalog.CheckName)
// and are quoted as literals all the same.
func clientFilter(clients []string) string {
	if clients == nil {
		return ""
	}
	if len(clients) == 0 {
		return " AND false"
	}
	quoted := make([]string, len(clients))
	for i, c := range clients {
		quoted[i] = "'" + strings.ReplaceAll(c, "'", "''") + "'"
	}
	return " AND c.client IN (" + strings.Join(quoted, ", ") + ")"
}

// Summary runs the summary report over the rated calls of [q.From, q.To).
//
// PostgreSQL streams the period's rated calls as COPY text, only the columns
// the keys need, and a report.Grouper sums them as they arrive, on a second
// core. Grouping in PostgreSQL costs about a microsecond a call on one core
// once a month holds tens of thousands of (client, destination) groups;
// streaming costs it a third of that (docs/benchmarks.md). The whole report
// reads one snapshot.
func (s *Store) Summary(ctx context.Context, q report.Summary) ([]report.SummaryRow, error) {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	g, err := report.NewGrouper(q.GroupBy, q.From.In(loc))
	if err != nil {
		return nil, err
	}
	cols := g.Columns()
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The session time zone places calls in days and months. JIT would
		// compile every day partition's scan of a month for nothing.
		if _, err := tx.Exec(ctx, `SELECT set_config('TimeZone', $1, true), set_config('jit', 'off', true)`, loc.String()); err != nil {
			return err
		}
		var inherited map[tableRate]int64
		var err error
		if cols.Rate {
			if inherited, err = summaryRates(ctx, tx, g, cols.Names); err != nil {
				return err
			}
		}
		// Calls rated by a rate deleted since are mismatched (deleted_rate):
		// not in the summary. Such rates are few; the reader skips them.
		rows, _ := tx.Query(ctx, `SELECT id FROM rates WHERE deleted_at IS NOT NULL`)
		deleted, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if cols.Src {
			if g.SrcName, _, err = originNamer(ctx, tx); err != nil {
				return err
			}
		}
		r := summaryReader{cols: cols, g: g, inherited: inherited}
		if len(deleted) > 0 {
			r.deleted = make(map[int64]bool, len(deleted))
			for _, id := range deleted {
				r.deleted[id] = true
			}
		}
		sql := `COPY (SELECT ` + strings.Join(r.selectList(g.Base()), ", ") + ` FROM cdrs c
			WHERE c.connect_time >= ` + quoteTime(q.From) + ` AND c.connect_time < ` + quoteTime(q.To) + ` AND c.status = 'rated'` +
			clientFilter(q.Clients) + `) TO STDOUT`
		w := &copytext.LineWriter{Line: r.add}
		g.Start()
		_, err = tx.Conn().PgConn().CopyTo(ctx, w, sql)
		g.Wait()
		if err == nil {
			err = w.Err()
		}
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		if cols.Account {
			return summaryAccounts(ctx, tx, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g.Rows(), nil
}

// tableRate is a rate as a call of a table that inherits it sees it.
type tableRate struct {
	table string
	rate  int64
}

// summaryRates names every rate for g: its code and the name the deck of the
// call's table gives the code, else the code itself (billing-rules §5), as
// invoices name it. A rate inherited by a table whose deck is not its own
// table's (rare: a chain shares a deck as a rule) gets an id of its own for
// calls of that table, returned by table and rate.
func summaryRates(ctx context.Context, tx pgx.Tx, g *report.Grouper, names bool) (map[tableRate]int64, error) {
	// Rows are (table, rate id, code, name): table is empty for a rate as
	// its own table names it, else the inheriting table whose deck names it.
	var buf [4][]byte
	var inherited map[tableRate]int64
	var next int64
	w := &copytext.LineWriter{Line: func(line []byte) error {
		f := copytext.SplitFields(line, buf[:])
		if len(f) != 4 {
			return fmt.Errorf("a rate row has %d fields", len(f))
		}
		id, err := copytext.Int(f[1])
		if err != nil {
			return fmt.Errorf("rate id %q", f[1])
		}
		if table := copytext.UnescapeBytes(f[0]); len(table) > 0 { // after every rate: next is past them all
			if inherited == nil {
				inherited, next = map[tableRate]int64{}, g.MaxRateID()
			}
			next++
			inherited[tableRate{string(table), id}] = next
			id = next
		}
		return g.AddRate(id, copytext.UnescapeBytes(f[2]), copytext.UnescapeBytes(f[3]))
	}}
	queries := []string{`COPY (SELECT '', r.id, r.code, '' FROM rates r) TO STDOUT`}
	if names {
		queries = []string{`COPY (SELECT '', r.id, r.code, coalesce(e.name, r.code) FROM rates r
			LEFT JOIN rate_tables rt ON rt.name = r.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = rt.deck AND e.code = r.code) TO STDOUT`,
			`COPY (WITH ` + tableChain + `
			SELECT ct.name, r.id, r.code, coalesce(e.name, r.code) FROM table_chain c
			JOIN rate_tables ct ON ct.name = c.name JOIN rate_tables own ON own.name = c.anc
			JOIN rates r ON r.rate_table = c.anc
			LEFT JOIN code_deck_entries e ON e.deck = ct.deck AND e.code = r.code
			WHERE c.anc <> c.name AND ct.deck IS DISTINCT FROM own.deck) TO STDOUT`}
	}
	for _, sql := range queries {
		_, err := tx.Conn().PgConn().CopyTo(ctx, w, sql)
		if err == nil {
			err = w.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("summary: rates: %w", err)
		}
	}
	return inherited, nil
}

// summaryAccounts labels the accounts g met, as kind:value #tech_prefix.
func summaryAccounts(ctx context.Context, tx pgx.Tx, g *report.Grouper) error {
	labels := map[int64]string{}
	rows, _ := tx.Query(ctx, `SELECT id, kind || ':' || value || CASE WHEN tech_prefix <> '' THEN ' #' || tech_prefix ELSE '' END
		FROM accounts WHERE id = ANY($1)`, g.Accounts())
	var id int64
	var label string
	_, err := pgx.ForEachRow(rows, []any{&id, &label}, func() error {
		labels[id] = label
		return nil
	})
	g.NameAccounts(labels)
	return err
}

// summaryReader parses the COPY rows of a summary into calls for its Grouper.
type summaryReader struct {
	cols   report.Columns
	g      *report.Grouper
	width  int
	fields [12][]byte // at most: client, account, rate, day, table, src, currency, seconds, cost, rate id, table
	call   report.Call
	// deleted are the deleted rates, whose calls are skipped; the rate id
	// is read last when no key needs it.
	deleted map[int64]bool
	rateID  bool
	// inherited are the ids of rates as calls of a table that inherits
	// them name them; the call's table is read last when there are any.
	inherited map[tableRate]int64
	table     bool
}

// selectList is what the COPY reads for each call, in Columns order. Only
// these fixed strings reach SQL; the date is formatted from a time.
func (r *summaryReader) selectList(base time.Time) []string {
	var cols []string
	if r.cols.Client {
		cols = append(cols, "c.client")
	}
	if r.cols.Account {
		cols = append(cols, "c.account_id")
	}
	if r.cols.Rate {
		cols = append(cols, "c.rate_id")
	}
	if r.cols.Day {
		cols = append(cols, "c.connect_time::date - DATE '"+base.Format(time.DateOnly)+"'")
	}
	if r.cols.Src {
		cols = append(cols, "c.rate_table", "c.src_number")
	}
	cols = append(cols, "c.currency", "c.billed_seconds", "c.cost")
	if r.rateID = r.deleted != nil && !r.cols.Rate; r.rateID {
		cols = append(cols, "c.rate_id")
	}
	if r.table = r.inherited != nil; r.table {
		cols = append(cols, "c.rate_table")
	}
	r.width = len(cols)
	return cols
}

func (r *summaryReader) add(line []byte) error {
	f := copytext.SplitFields(line, r.fields[:r.width])
	if len(f) != r.width {
		return fmt.Errorf("summary: a row has %d fields, not %d", len(f), r.width)
	}
	c := &r.call
	var err error
	if r.cols.Client {
		c.Client, f = nullable(f[0]), f[1:]
	}
	if r.cols.Account {
		if c.AccountID, err = copytext.Int(f[0]); err != nil {
			return fmt.Errorf("summary: account %q: %w", f[0], err)
		}
		f = f[1:]
	}
	if r.cols.Rate {
		if c.RateID, err = copytext.Int(f[0]); err != nil {
			return fmt.Errorf("summary: rate id %q", f[0])
		}
		f = f[1:]
	}
	if r.cols.Day {
		if c.Day, err = strconv.ParseInt(string(f[0]), 10, 32); err != nil {
			return fmt.Errorf("summary: day %q: %w", f[0], err)
		}
		f = f[1:]
	}
	if r.cols.Src {
		c.Table, c.Src, f = nullable(f[0]), nullable(f[1]), f[2:]
	}
	c.Currency = nullable(f[0])
	if c.Seconds, err = strconv.ParseInt(string(f[1]), 10, 64); err != nil {
		return fmt.Errorf("summary: billed seconds %q: %w", f[1], err)
	}
	if r.rateID {
		if c.RateID, err = copytext.Int(f[3]); err != nil {
			return fmt.Errorf("summary: rate id %q", f[3])
		}
	}
	if r.deleted[c.RateID] {
		return nil
	}
	if r.table {
		if id, ok := r.inherited[tableRate{string(copytext.UnescapeBytes(f[len(f)-1])), c.RateID}]; ok {
			c.RateID = id
		}
	}
	c.Cost, c.Big = copytext.Millionths(f[2])
	c.Big = !c.Big
	if c.Big {
		if c.BigCost, err = decimal.NewFromString(string(f[2])); err != nil {
			return fmt.Errorf("summary: cost %q: %w", f[2], err)
		}
	}
	return r.g.Add(c)
}

// nullable is a text field's value, nil for NULL.
func nullable(b []byte) []byte {
	if copytext.IsNull(b) {
		return nil
	}
	return copytext.UnescapeBytes(b)
}

// originNamer names origins, for the summary's src_name and the extended
// template: per rate table, the longest code of its source deck that starts
// the number (a leading + dropped), nil when the table has no source deck or
// no code fits; with the length of the longest source code of any deck (0:
// no table names origins).
func originNamer(ctx context.Context, tx pgx.Tx) (func(table, src []byte) []byte, int, error) {
	decks := map[string]map[string][]byte{}
	rows, _ := tx.Query(ctx, `SELECT t.name, e.code, e.name FROM rate_tables t JOIN code_deck_entries e ON e.deck = t.src_deck`)
	var table, code, name string
	longest := 0
	if _, err := pgx.ForEachRow(rows, []any{&table, &code, &name}, func() error {
		if decks[table] == nil {
			decks[table] = map[string][]byte{}
		}
		decks[table][code] = []byte(name)
		longest = max(longest, len(code))
		return nil
	}); err != nil {
		return nil, 0, err
	}
	return func(table, src []byte) []byte {
		deck := decks[string(table)]
		if deck == nil {
			return nil
		}
		if len(src) > 0 && src[0] == '+' {
			src = src[1:]
		}
		for l := min(len(src), longest); l > 0; l-- {
			if n, ok := deck[string(src[:l])]; ok {
				return n
			}
		}
		return nil
	}, longest, nil
}
