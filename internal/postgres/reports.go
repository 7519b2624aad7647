package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/report"
)

// mismatchSQL selects the mismatched CDRs of [$1, $2) with their category:
// the rating status, or deleted_rate for calls rated by a since-deleted rate.
var mismatchSQL = `SELECT CASE WHEN c.status <> 'rated' THEN c.status ELSE 'deleted_rate' END AS category, c.*
	FROM cdrs c
	WHERE c.connect_time >= $1 AND c.connect_time < $2
	AND (c.status <> 'rated' OR ` + ratedByDeletedRate("c") + `)`

// Mismatches counts mismatched calls of [from, to) by category and client.
func (s *Store) Mismatches(ctx context.Context, from, to time.Time) ([]report.MismatchRow, error) {
	rows, _ := s.pool.Query(ctx, `SELECT m.category, coalesce(m.client, ''), count(*), sum(ceil(m.duration))::bigint
		FROM (`+mismatchSQL+`) m GROUP BY 1, 2 ORDER BY 1, 2`, from, to)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.MismatchRow, error) {
		var m report.MismatchRow
		err := r.Scan(&m.Category, &m.Client, &m.Calls, &m.Seconds)
		return m, err
	})
}

// MismatchDetails lists up to limit mismatched calls of [from, to), and how
// many there are in all.
func (s *Store) MismatchDetails(ctx context.Context, from, to time.Time, limit int) ([]report.MismatchDetail, int64, error) {
	var total int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (`+mismatchSQL+`) m`, from, to).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT m.category, coalesce(m.client, ''), m.connect_time, m.orig_ip, m.orig_account,
		m.src_number, m.dst_number, coalesce(f.key, ''), m.line
		FROM (`+mismatchSQL+`) m LEFT JOIN cdr_files f ON f.id = m.file_id
		ORDER BY m.connect_time, m.file_id, m.line LIMIT $3`, from, to, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.MismatchDetail, error) {
		var d report.MismatchDetail
		err := r.Scan(&d.Category, &d.Client, &d.ConnectTime, &d.OrigIP, &d.OrigAccount, &d.SrcNumber, &d.DstNumber, &d.File, &d.Line)
		return d, err
	})
	return out, total, err
}

// DeleteRate deletes a code's rates softly (only the version from from, when
// from is not zero), so that calls they rated are reported as deleted_rate
// until they are rerated. It returns how many rates it deleted.
func (s *Store) DeleteRate(ctx context.Context, table, code string, from time.Time) (int64, error) {
	var n int64
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE rates SET deleted_at = now() WHERE rate_table = $1 AND code = $2
			AND ($3::timestamptz IS NULL OR effective_from = $3) AND deleted_at IS NULL`, table, code, nullTime(from))
		n = tag.RowsAffected()
		if err == nil && n == 0 {
			err = fmt.Errorf("rate table %q has no rate for code %s to delete", table, code)
		}
		return err
	})
	return n, err
}

// ReconcileGroups groups the calls of month for reconciliation (billing-rules
// §7): each client's calls over its own period, for every client whatever its
// status, and the calls of no client over the calendar month in UTC; of one
// client only when client is not "". due lists, by client, the descriptions
// of the lines whose calls are adjustment_due. It reads one snapshot.
func (s *Store) ReconcileGroups(ctx context.Context, month period.Month, client string, due map[string][]string) ([]report.ReconcileGroup, error) {
	var out []report.ReconcileGroup
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('jit', 'off', true)`); err != nil {
			return err
		}
		periods, err := readPeriods(ctx, tx, month, oneOrAll(client))
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, currency, timezone, invoice_day FROM clients WHERE $1 = '' OR id = $1 ORDER BY id`, client)
		var ids, currencies []string
		var froms, tos []time.Time
		var id, currency, tz string
		var day int
		if _, err := pgx.ForEachRow(rows, []any{&id, &currency, &tz, &day}, func() error {
			span, err := periods.of(id, day, tz)
			ids, currencies, froms, tos = append(ids, id), append(currencies, currency), append(froms, span.Start), append(tos, span.End)
			return err
		}); err != nil {
			return err
		}
		if client != "" && len(ids) == 0 {
			return fmt.Errorf("%w: %q", invoice.ErrNoClient, client)
		}
		mf, mt := month.Start(time.UTC), month.Next().Start(time.UTC)
		lo, hi := period.Cover(append(froms, mf), append(tos, mt))
		// Deleted rates are few (a partial index lists them): one hashed
		// array beats a lookup a call.
		rows, _ = tx.Query(ctx, `SELECT id FROM rates WHERE deleted_at IS NOT NULL`)
		deleted, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		args := []any{ids, currencies, froms, tos, lo, hi, mf, mt, deleted, client}
		dueExpr, joins := "false", ""
		var dueClients, dueLines []string
		for c, lines := range due {
			for _, l := range lines {
				dueClients, dueLines = append(dueClients, c), append(dueLines, l)
			}
		}
		if len(dueLines) > 0 {
			// The line a call is on: its code's name in the deck of the
			// table it was rated with, as invoices name it.
			dueExpr = `coalesce((c.client, coalesce(e.name, c.code)) IN (SELECT * FROM unnest($11::text[], $12::text[])), false)`
			args = append(args, dueClients, dueLines)
			joins = ` LEFT JOIN rate_tables rt ON rt.name = c.rate_table LEFT JOIN code_deck_entries e ON e.deck = rt.deck AND e.code = c.code`
		}
		rows, _ = tx.Query(ctx, `WITH p AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS p(client, currency, f, t))
			SELECT coalesce(p.client, c.client, ''), coalesce(c.currency, ''), coalesce(p.currency, ''), c.status,
				coalesce(c.rate_id = ANY($9::bigint[]), false), c.billed_seconds = 0 AND c.cost = 0, `+dueExpr+`, count(*), sum(c.cost)
			FROM cdrs c LEFT JOIN p ON p.client = c.client`+joins+`
			WHERE c.connect_time >= $5 AND c.connect_time < $6 AND ($10 = '' OR c.client = $10)
				AND CASE WHEN p.client IS NULL THEN c.connect_time >= $7 AND c.connect_time < $8
					ELSE c.connect_time >= p.f AND c.connect_time < p.t END
			GROUP BY 1, 2, 3, 4, 5, 6, 7`, args...)
		var g report.ReconcileGroup
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.ReconcileGroup, error) {
			err := r.Scan(&g.Client, &g.Currency, &g.ClientCurrency, &g.Status, &g.DeletedRate, &g.NotPayable, &g.Due, &g.Calls, &g.Amount)
			return g, err
		})
		return err
	})
	return out, err
}

// MismatchPage lists mismatched calls of [from, to) of one category ("":
// all), offset rows in, at most limit; more is whether there are others.
func (s *Store) MismatchPage(ctx context.Context, from, to time.Time, category string, offset, limit int) (page []report.MismatchDetail, more bool, err error) {
	query := `SELECT m.category, coalesce(m.client, ''), m.connect_time, m.orig_ip, m.orig_account,
		m.src_number, m.dst_number, coalesce(f.key, ''), m.line
		FROM (` + mismatchSQL + `) m LEFT JOIN cdr_files f ON f.id = m.file_id
		WHERE $3 = '' OR m.category = $3
		ORDER BY m.connect_time, m.file_id, m.line OFFSET $4 LIMIT $5`
	if category != "" && category != "deleted_rate" {
		// Calls that were never rated, in the order of their partial index
		// (migration 027): no scan of the month's rated calls.
		query = `SELECT c.status, coalesce(c.client, ''), c.connect_time, c.orig_ip, c.orig_account,
			c.src_number, c.dst_number, coalesce(f.key, ''), c.line
			FROM cdrs c LEFT JOIN cdr_files f ON f.id = c.file_id
			WHERE c.connect_time >= $1 AND c.connect_time < $2 AND c.status <> 'rated' AND c.status = $3
			ORDER BY c.connect_time, c.file_id, c.line OFFSET $4 LIMIT $5`
	}
	rows, _ := s.pool.Query(ctx, query, from, to, category, offset, limit+1)
	page, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.MismatchDetail, error) {
		var d report.MismatchDetail
		err := r.Scan(&d.Category, &d.Client, &d.ConnectTime, &d.OrigIP, &d.OrigAccount, &d.SrcNumber, &d.DstNumber, &d.File, &d.Line)
		return d, err
	})
	if len(page) > limit {
		return page[:limit], true, err
	}
	return page, false, err
}
