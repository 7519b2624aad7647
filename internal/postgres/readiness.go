package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/readiness"
)

// ReadinessFacts gathers what the readiness checks judge for a period
// and the active clients of scope. Each client is judged
// over its own period: its invoice day in its time zone. Inbox files that
// are not ingested come from the caller, who lists the bucket.
func (s *Store) ReadinessFacts(ctx context.Context, month period.Month, scope readiness.Scope, pending []readiness.File) (readiness.Facts, error) {
	client := scope.Client
	f := readiness.Facts{Period: string(month), Calls: map[string]int64{}, Mismatches: map[string]map[string]int64{},
		UnnamedCodes: map[string][]string{}, Stale: map[string]int64{}, Files: pending}
	if err := s.analyzeCalls(ctx, month); err != nil {
		return f, err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		fixed, err := readPeriods(ctx, tx, month, oneOrAll(client))
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT c.id, c.currency, c.timezone, c.invoice_day, coalesce(c.rate_table, ''), coalesce(t.currency, '')
			FROM clients c LEFT JOIN rate_tables t ON t.name = c.rate_table
			WHERE c.status = 'active' AND ($1 = '' OR c.id = $1) AND (NOT $2 OR c.autoinvoice) ORDER BY c.id`, client, scope.Billed)
		var ids []string
		var froms, tos []time.Time
		index := map[string]int{}
		var c readiness.Client
		var tz string
		var day int
		if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Currency, &tz, &day, &c.RateTable, &c.RateTableCurrency}, func() error {
			span, err := fixed.of(c.ID, day, tz)
			if err != nil {
				return err
			}
			index[c.ID] = len(f.Clients)
			f.Clients = append(f.Clients, c)
			ids, froms, tos = append(ids, c.ID), append(froms, span.Start), append(tos, span.End)
			return nil
		}); err != nil {
			return err
		}
		if client != "" && len(ids) == 0 {
			return fmt.Errorf("%w: no active client %q", invoice.ErrNoClient, client)
		}
		rows, _ = tx.Query(ctx, `SELECT a.client, a.kind || ':' || a.value || CASE WHEN a.tech_prefix <> '' THEN ' #' || a.tech_prefix ELSE '' END,
			a.enabled, coalesce(a.rate_table, ''), coalesce(t.currency, '')
			FROM accounts a LEFT JOIN rate_tables t ON t.name = a.rate_table WHERE a.client = ANY($1) ORDER BY a.id`, ids)
		var owner string
		var a readiness.Account
		if _, err := pgx.ForEachRow(rows, []any{&owner, &a.Label, &a.Enabled, &a.RateTable, &a.RateTableCurrency}, func() error {
			f.Clients[index[owner]].Accounts = append(f.Clients[index[owner]].Accounts, a)
			return nil
		}); err != nil {
			return err
		}
		// Each client's own period, as rows to join on.
		const periods = `WITH p AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS p(client, f, t))`
		var pkg, currency string
		rows, _ = tx.Query(ctx, periods+` SELECT DISTINCT p.client, k.name, k.currency FROM p JOIN subscriptions s ON s.client = p.client
			AND s.start_on < (p.t AT TIME ZONE 'UTC')::date + 1 AND (s.end_on IS NULL OR s.end_on > (p.f AT TIME ZONE 'UTC')::date)
			JOIN packages k ON k.name = s.package ORDER BY 1, 2`, ids, froms, tos)
		if _, err := pgx.ForEachRow(rows, []any{&owner, &pkg, &currency}, func() error {
			c := &f.Clients[index[owner]]
			if currency != c.Currency { // its fees cannot be on the client's invoice
				c.ForeignPackages = append(c.ForeignPackages, pkg+" ("+currency+")")
				return nil
			}
			c.HasSubscription = true
			return nil
		}); err != nil {
			return err
		}
		lo, hi := period.Cover(froms, tos)
		// One pass over the periods' calls: each client's rated calls,
		// mismatched ones by category, and stale ones (billing-rules §7).
		rows, _ = tx.Query(ctx, `WITH `+staleWith+`, p AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS p(client, f, t))
			SELECT p.client,
				CASE WHEN c.status <> 'rated' THEN c.status WHEN `+ratedByDeletedRate("c")+` THEN 'deleted_rate' END,
				`+staleCall+`, count(*)
			FROM p JOIN cdrs c ON c.client = p.client AND c.connect_time >= p.f AND c.connect_time < p.t`+staleJoins+`
			WHERE c.connect_time >= $4 AND c.connect_time < $5 GROUP BY 1, 2, 3`, ids, froms, tos, lo, hi)
		var category *string
		var stale bool
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&owner, &category, &stale, &n}, func() error {
			if stale {
				f.Stale[owner] += n
			}
			if category == nil {
				f.Calls[owner] += n
				return nil
			}
			if f.Mismatches[owner] == nil {
				f.Mismatches[owner] = map[string]int64{}
			}
			f.Mismatches[owner][*category] += n
			return nil
		}); err != nil {
			return err
		}
		if client == "" { // calls of no client: judged over the calendar month in UTC
			var unknown int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM cdrs WHERE client IS NULL AND connect_time >= $1 AND connect_time < $2`,
				month.Start(time.UTC), month.Next().Start(time.UTC)).Scan(&unknown); err != nil {
				return err
			}
			if unknown > 0 {
				f.Mismatches[""] = map[string]int64{"unknown_account": unknown}
			}
		}
		rows, _ = tx.Query(ctx, periods+` SELECT p.client, c.code FROM p
			JOIN cdrs c ON c.client = p.client AND c.connect_time >= p.f AND c.connect_time < p.t AND c.status = 'rated'
			JOIN rate_tables t ON t.name = c.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
			WHERE c.connect_time >= $4 AND c.connect_time < $5 AND e.code IS NULL
			GROUP BY 1, 2 ORDER BY 1, 2`, ids, froms, tos, lo, hi)
		var code string
		if _, err := pgx.ForEachRow(rows, []any{&owner, &code}, func() error {
			f.UnnamedCodes[owner] = append(f.UnnamedCodes[owner], code)
			return nil
		}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT key, error FROM cdr_files WHERE status = 'failed' ORDER BY key`)
		var file readiness.File
		_, err = pgx.ForEachRow(rows, []any{&file.Key, &file.Reason}, func() error {
			file.Status = "failed"
			f.Files = append(f.Files, file)
			return nil
		})
		return err
	})
	return f, err
}

// PeriodSpan is the smallest range that holds every active client's period
// of month (YYYY-MM), each from its invoice day in its time zone: what a bill
// run checks and rerates. It is the month in UTC when no client is active.
func (s *Store) PeriodSpan(ctx context.Context, month period.Month) (time.Time, time.Time, error) {
	rows, _ := s.pool.Query(ctx, `SELECT DISTINCT timezone, invoice_day FROM clients WHERE status = 'active'`)
	var froms, tos []time.Time
	var tz string
	var day int
	_, err := pgx.ForEachRow(rows, []any{&tz, &day}, func() error {
		loc, err := loadZone(tz)
		if err != nil {
			return fmt.Errorf("time zone %q: %w", tz, err)
		}
		from, to, err := invoice.Period(month, day, loc)
		froms, tos = append(froms, from), append(tos, to)
		return err
	})
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if len(froms) == 0 {
		from, to, err := invoice.Period(month, 1, time.UTC)
		return from, to, err
	}
	// A transition period (invoice.PeriodOf) starts where the month
	// before's issued invoice ended and ends where the next month's starts.
	var before, after *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT min(period_end) FROM invoices WHERE period = $1 AND kind = 'invoice' AND state = 'issued' AND NOT preview),
		(SELECT max(period_start) FROM invoices WHERE period = $2 AND kind = 'invoice' AND state = 'issued' AND NOT preview)`,
		string(month.Prev()), string(month.Next())).Scan(&before, &after); err != nil {
		return time.Time{}, time.Time{}, err
	}
	for _, t := range []*time.Time{before, after} {
		if t != nil { // an instant, as a range of none
			froms, tos = append(froms, *t), append(tos, *t)
		}
	}
	from, to := period.Cover(froms, tos)
	return from, to, nil
}

// analyzeCalls gives the planner statistics of the calls of month's
// periods (analyze_cdrs): the day partitions a month's clients' periods may
// cover, from a day before the calendar month to a day after the next (an
// invoice day moves a period up to a month later), that were never analyzed
// or changed much since. Fresh partitions otherwise look empty to it.
func (s *Store) analyzeCalls(ctx context.Context, month period.Month) error {
	lo, hi := month.Start(time.UTC).AddDate(0, 0, -1), month.Next().Next().Start(time.UTC).AddDate(0, 0, 1)
	if _, err := s.pool.Exec(ctx, `SELECT analyze_cdrs($1, $2)`, lo, hi); err != nil {
		return fmt.Errorf("analyze the calls of %s: %w", month, err)
	}
	return nil
}
