package postgres_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/report"
)

// summaryLines renders rows for comparison; ordered checks their order.
func summaryLines(t *testing.T, rows []report.SummaryRow, ordered bool) []string {
	t.Helper()
	var out []string
	for i, r := range rows {
		if i > 0 && ordered {
			prev := rows[i-1]
			if c := slices.Compare(prev.Values, r.Values); c > 0 || c == 0 && prev.Currency >= r.Currency {
				t.Fatalf("rows out of order: %v %s before %v %s", prev.Values, prev.Currency, r.Values, r.Currency)
			}
		}
		vals := []any{}
		for _, v := range r.Values {
			vals = append(vals, v)
		}
		vals = append(vals, r.Currency, r.Calls, r.BilledSeconds, r.Amount.String())
		out = append(out, fmt.Sprint(vals...))
	}
	return out
}

// TestSummaryAgreesWithOneSQLGroupBy compares the summary with SummarySQL,
// the report as one SQL GROUP BY, over generated calls that reach into every corner: calls just
// outside the period, mismatched calls, codes the deck does not name, rate
// tables without a deck, NULL accounts, negative and large costs, text that
// COPY must escape, and a time zone whose clocks change in the period.
func TestSummaryAgreesWithOneSQLGroupBy(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	db := pgtest.Pool(s)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for d := at("2026-09-29 00:00:00"); d.Before(at("2026-11-03 00:00:00")); d = d.AddDate(0, 0, 1) {
		exec(`SELECT ensure_cdr_partition($1)`, d)
	}
	exec(`INSERT INTO code_deck_entries (deck, code, name) VALUES ('world', '3361', E'Back\\slash\tand tab')`)
	exec(`INSERT INTO rate_tables (name, currency) VALUES ('no-deck', 'EUR')`)
	exec(`INSERT INTO rates (rate_table, code, rate, effective_from, min_seconds, interval_seconds)
		VALUES ('no-deck', '49', 0.01, '2026-01-01', 1, 1), ('wholesale-usd', '999', 0.01, '2026-01-01', 1, 1),
		('retail-eur', '3361', 0.01, '2026-01-01', 1, 1) ON CONFLICT DO NOTHING`)
	calls := func(from, to int, rates string) {
		exec(`INSERT INTO cdrs (file_id, line, call_id, connect_time, duration, status, client, account_id, rate_table, rate_id,
				code, billed_seconds, cost, currency)
			SELECT 1, i, 'c' || i, timestamptz '2026-09-29 20:00:00+00' + (i * 7919 % 3000) * interval '16 minutes', 60,
				CASE WHEN i % 13 = 0 THEN 'unknown_account' ELSE 'rated' END,
				(ARRAY['acme', 'globex', 'initech', E'we\\ird\tclient'])[1 + i % 4],
				CASE WHEN i % 11 = 0 THEN NULL ELSE (SELECT min(id) FROM accounts) + i % 5 END,
				r.rate_table, r.id, r.code,
				i % 400, ((i * 104729 % 2000003) - 1000000) / 1000000.0 + CASE WHEN i % 97 = 0 THEN 90000000000000 ELSE 0 END,
				(ARRAY['EUR', 'USD'])[1 + i % 2]
			FROM generate_series($1::int, $2::int) i
			CROSS JOIN LATERAL (SELECT * FROM rates WHERE `+rates+` ORDER BY id
				OFFSET i * 31 % (SELECT count(*) FROM rates WHERE `+rates+`) LIMIT 1) r`, from, to)
	}
	calls(1, 3000, "true")
	// Calls rated by a rate deleted since are mismatched (deleted_rate): not
	// in the summary.
	exec(`UPDATE rates SET deleted_at = now() WHERE id IN (SELECT rate_id FROM cdrs WHERE status = 'rated'
		AND connect_time >= '2026-10-05' AND connect_time < '2026-10-25' ORDER BY line LIMIT 3)`)
	// Half of retail-eur's calls are of acme-special, which inherits its
	// rates and names codes by a deck of its own: those calls are named by
	// that deck, as invoices name them.
	exec(`INSERT INTO code_decks (name) VALUES ('acme-names')`)
	exec(`INSERT INTO code_deck_entries (deck, code, name) SELECT 'acme-names', code, 'Acme: ' || name FROM code_deck_entries WHERE deck = 'world'`)
	exec(`UPDATE rate_tables SET deck = 'acme-names' WHERE name = 'acme-special'`)
	exec(`UPDATE cdrs SET rate_table = 'acme-special' WHERE rate_table = 'retail-eur' AND line % 2 = 0`)
	keySets := [][]report.Key{
		nil,
		{report.Client}, {report.Account}, {report.DstCode}, {report.DstName}, {report.Day}, {report.Month}, {report.Currency},
		{report.Client, report.DstName},
		{report.DstName, report.Client, report.Day},
		{report.Month, report.Account, report.DstCode},
		report.Keys,
	}
	compare := func(t *testing.T, zone string) {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, keys := range keySets {
			q := report.Summary{From: time.Date(2026, 10, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 11, 1, 0, 0, 0, 0, loc), GroupBy: keys, Location: loc}
			t.Run(fmt.Sprint(zone, keys), func(t *testing.T) {
				t.Helper()
				rows, err := s.Summary(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				sqlRows, err := pgtest.SummarySQL(ctx, pgtest.Pool(s), q)
				if err != nil {
					t.Fatal(err)
				}
				got, want := summaryLines(t, rows, true), summaryLines(t, sqlRows, false)
				slices.Sort(got)
				slices.Sort(want)
				if len(got) < 2 && len(keys) > 0 {
					t.Fatalf("%d rows: the data does not exercise the keys", len(got))
				}
				if !slices.Equal(got, want) {
					t.Fatalf("got  %q\nwant %q", got, want)
				}
			})
		}
	}
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		compare(t, zone)
	}
	// Rate ids far apart, as many re-imports leave them: rates are then
	// looked up by id in a map instead of a slice.
	exec(`INSERT INTO rates (id, rate_table, code, rate, effective_from, min_seconds, interval_seconds)
		OVERRIDING SYSTEM VALUE VALUES (900000000, 'acme-special', '4420', 0.01, '2026-01-01', 1, 1)`)
	calls(3001, 3100, "id = 900000000")
	t.Run("sparse rate ids", func(t *testing.T) { compare(t, "UTC") })

	// A reseller's summary: the rows of its clients, as the whole summary has them.
	t.Run("only some clients", func(t *testing.T) {
		q := report.Summary{From: at("2026-10-01 00:00:00"), To: at("2026-11-01 00:00:00"), GroupBy: []report.Key{report.Client, report.Currency}}
		all, err := s.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, l := range summaryLines(t, all, true) {
			if strings.HasPrefix(l, "acme") || strings.HasPrefix(l, "we\\ird\tclient") {
				want = append(want, l)
			}
		}
		q.Clients = []string{"acme", "we\\ird\tclient"}
		some, err := s.Summary(ctx, q)
		if got := summaryLines(t, some, true); err != nil || len(want) < 2 || !slices.Equal(got, want) {
			t.Fatalf("%v: got %q\nwant %q", err, got, want)
		}
		q.Clients = []string{}
		if none, err := s.Summary(ctx, q); err != nil || len(none) != 0 {
			t.Fatalf("no clients: %v %v", err, none)
		}
	})

	// Origins named by the source deck of each call's rate table.
	t.Run("by source name", func(t *testing.T) {
		exec(`UPDATE rate_tables SET src_deck = 'world' WHERE name IN ('retail-eur', 'wholesale-usd')`)
		exec(`UPDATE cdrs SET src_number = (ARRAY['4915112345', '+447700900123', '4930111', '999', ''])[1 + line % 5]`)
		q := report.Summary{From: at("2026-10-01 00:00:00"), To: at("2026-11-01 00:00:00"), GroupBy: []report.Key{report.SrcName}}
		rows, err := s.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range rows {
			got[r.Values[0]+" "+r.Currency] += r.Calls
		}
		want := map[string]int64{}
		sqlRows, err := db.Query(ctx, `SELECT coalesce((SELECT e.name FROM rate_tables t JOIN code_deck_entries e ON e.deck = t.src_deck
				WHERE t.name = c.rate_table AND ltrim(c.src_number, '+') LIKE e.code || '%' ORDER BY length(e.code) DESC LIMIT 1), '') || ' ' || c.currency,
				count(*)
			FROM cdrs c WHERE c.connect_time >= '2026-10-01' AND c.connect_time < '2026-11-01' AND c.status = 'rated'
				AND NOT EXISTS (SELECT 1 FROM rates r WHERE r.id = c.rate_id AND r.deleted_at IS NOT NULL) GROUP BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var k string
		var n int64
		if _, err := pgx.ForEachRow(sqlRows, []any{&k, &n}, func() error { want[k] = n; return nil }); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) || len(want) < 4 {
			t.Fatalf("got  %v\nwant %v", got, want)
		}
	})

	// Reconciliation gives every call one group: a client's over its period
	// (the demo's are in Berlin and New York), the others' (a client not
	// in the master data, none) over the month in UTC.
	t.Run("reconciliation accounts for every call", func(t *testing.T) {
		groups, err := s.ReconcileGroups(ctx, "2026-10", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, g := range groups {
			got += g.Calls
		}
		var want int64
		if err := db.QueryRow(ctx, `SELECT count(*) FROM cdrs c LEFT JOIN clients k ON k.id = c.client
			WHERE c.connect_time >= CASE k.timezone WHEN 'Europe/Berlin' THEN timestamptz '2026-09-30 22:00Z'
				WHEN 'America/New_York' THEN timestamptz '2026-10-01 04:00Z' ELSE timestamptz '2026-10-01 00:00Z' END
			AND c.connect_time < CASE k.timezone WHEN 'Europe/Berlin' THEN timestamptz '2026-10-31 23:00Z'
				WHEN 'America/New_York' THEN timestamptz '2026-11-01 04:00Z' ELSE timestamptz '2026-11-01 00:00Z' END`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got != want || want < 2000 {
			t.Fatalf("%d calls accounted for, the periods hold %d", got, want)
		}
	})
}

func TestSummaryRefusesACallWhoseRateIsGone(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	if _, err := pgtest.Pool(s).Exec(ctx, `SELECT ensure_cdr_partition('2026-10-05')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pgtest.Pool(s).Exec(ctx, `INSERT INTO cdrs (file_id, line, call_id, connect_time, duration, status, client,
		rate_table, rate_id, code, billed_seconds, cost, currency)
		VALUES (1, 1, 'x', '2026-10-05 10:00:00+00', 60, 'rated', 'acme', 'retail-eur', 77777, '49', 60, 1, 'EUR')`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Summary(ctx, report.Summary{From: at("2026-10-01 00:00:00"), To: at("2026-11-01 00:00:00"), GroupBy: []report.Key{report.DstName}})
	if err == nil || !strings.Contains(err.Error(), "rate 77777") {
		t.Fatalf("err %v, want one naming rate 77777", err)
	}
}

func TestSummaryOfAnEmptyPeriodIsEmpty(t *testing.T) {
	s := pgtest.New(t)
	rows, err := s.Summary(ctx, report.Summary{From: at("2030-01-01 00:00:00"), To: at("2030-02-01 00:00:00"), GroupBy: report.Keys})
	if err != nil || len(rows) != 0 {
		t.Fatalf("%v %v", rows, err)
	}
}
