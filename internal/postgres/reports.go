package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/report"
)

// summaryKeys maps each group-by key to the expression grouped and shown.
// Only these fixed strings reach SQL.
var summaryKeys = map[report.Key]string{
	report.Client: "c.client",
	// Grouped by id; the label is looked up once per group.
	report.Account: `(SELECT a.kind || ':' || a.value || CASE WHEN a.tech_prefix <> '' THEN ' #' || a.tech_prefix ELSE '' END
		FROM accounts a WHERE a.id = c.account_id)`,
	report.DstCode: "c.code",
	// Names join calls before grouping: many codes share a name.
	report.DstName:  "coalesce(e.name, c.code)",
	report.Day:      "((c.connect_time AT TIME ZONE $3)::date)::text",
	report.Month:    "to_char(c.connect_time AT TIME ZONE $3, 'YYYY-MM')",
	report.Currency: "c.currency",
}

// Summary runs the summary report over rated calls.
func (s *Store) Summary(ctx context.Context, q report.Summary) ([]report.SummaryRow, error) {
	var sel, groups []string
	joins := ""
	for i, k := range q.GroupBy {
		expr, ok := summaryKeys[k]
		if !ok {
			return nil, fmt.Errorf("unknown group-by key %q", k)
		}
		switch k {
		case report.Account:
			sel = append(sel, expr)
			groups = append(groups, "c.account_id")
			continue
		case report.DstName:
			joins = " LEFT JOIN rate_tables rt ON rt.name = c.rate_table LEFT JOIN code_deck_entries e ON e.deck = rt.deck AND e.code = c.code"
		}
		sel = append(sel, expr)
		groups = append(groups, strconv.Itoa(i+1))
	}
	sel = append(sel, "c.currency")
	groups = append(groups, strconv.Itoa(len(q.GroupBy)+1))
	order := make([]string, len(sel))
	for i := range sel {
		order[i] = strconv.Itoa(i + 1)
	}
	sql := `SELECT ` + strings.Join(sel, ", ") + `, count(*), sum(c.billed_seconds)::bigint, sum(c.cost)::text
		FROM cdrs c` + joins + `
		WHERE c.connect_time >= $1 AND c.connect_time < $2 AND c.status = 'rated'
		GROUP BY ` + strings.Join(groups, ", ") + `
		ORDER BY ` + strings.Join(order, ", ")
	args := []any{q.From, q.To}
	if strings.Contains(sql, "$3") {
		loc := "UTC"
		if q.Location != nil {
			loc = q.Location.String()
		}
		args = append(args, loc)
	}
	var out []report.SummaryRow
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// Enough memory to aggregate a month in one pass, not in spills,
		// and both cores on it: day partitions are each too small for the
		// planner to go parallel on its own.
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL parallel_setup_cost = 0;
			SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanSummary(len(q.GroupBy)))
		return err
	})
	return out, err
}

func scanSummary(keys int) pgx.RowToFunc[report.SummaryRow] {
	return func(r pgx.CollectableRow) (report.SummaryRow, error) {
		vals := make([]*string, keys)
		var row report.SummaryRow
		var amount string
		dest := make([]any, 0, len(vals)+4)
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		dest = append(dest, &row.Currency, &row.Calls, &row.BilledSeconds, &amount)
		if err := r.Scan(dest...); err != nil {
			return row, err
		}
		// As text: parsing it is several times cheaper than decoding numeric.
		var err error
		if row.Amount, err = decimal.NewFromString(amount); err != nil {
			return row, err
		}
		row.Values = make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				row.Values[i] = *v
			}
		}
		return row, nil
	}
}

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
