package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/report"
)

// summaryKeys maps each group-by key to the columns grouped in the inner
// aggregate over cdrs (as "expression AS name") and the expression the outer
// query, over the aggregate joined to names, shows. Only these fixed strings
// reach SQL.
var summaryKeys = map[report.Key]struct {
	inner []string
	outer string
}{
	report.Client:   {[]string{"c.client AS client"}, "g.client"},
	report.Account:  {[]string{"c.account_id AS account_id"}, "coalesce(a.kind || ':' || a.value || CASE WHEN a.tech_prefix <> '' THEN ' #' || a.tech_prefix ELSE '' END, g.account_id::text)"},
	report.DstCode:  {[]string{"c.code AS code"}, "g.code"},
	report.DstName:  {[]string{"c.rate_table AS rate_table", "c.code AS code"}, "coalesce(e.name, g.code)"},
	report.Day:      {[]string{"(c.connect_time AT TIME ZONE $3)::date AS day"}, "g.day::text"},
	report.Month:    {[]string{"to_char(c.connect_time AT TIME ZONE $3, 'YYYY-MM') AS month"}, "g.month"},
	report.Currency: {nil, "g.currency"},
}

// Summary runs the summary report over rated calls.
func (s *Store) Summary(ctx context.Context, q report.Summary) ([]report.SummaryRow, error) {
	inner := []string{"c.currency AS currency"}
	var aliases []string
	seen := map[string]bool{}
	var outer []string
	joins := ""
	for _, k := range q.GroupBy {
		m, ok := summaryKeys[k]
		if !ok {
			return nil, fmt.Errorf("unknown group-by key %q", k)
		}
		for _, col := range m.inner {
			if !seen[col] {
				seen[col] = true
				inner = append(inner, col)
			}
		}
		outer = append(outer, m.outer)
		switch k {
		case report.Account:
			joins += " LEFT JOIN accounts a ON a.id = g.account_id"
		case report.DstName:
			joins += " LEFT JOIN rate_tables rt ON rt.name = g.rate_table LEFT JOIN code_deck_entries e ON e.deck = rt.deck AND e.code = g.code"
		}
	}
	for _, col := range inner {
		_, alias, _ := strings.Cut(col, " AS ")
		aliases = append(aliases, alias)
	}
	groups := append(append([]string{}, outer...), "g.currency")
	sql := `WITH g AS (
		SELECT ` + strings.Join(inner, ", ") + `, count(*) AS calls, sum(c.billed_seconds) AS billed, sum(c.cost) AS amount
		FROM cdrs c
		WHERE c.connect_time >= $1 AND c.connect_time < $2 AND c.status = 'rated'
		GROUP BY ` + strings.Join(aliases, ", ") + `)
	SELECT ` + strings.Join(groups, ", ") + `, sum(g.calls)::bigint, sum(g.billed)::bigint, sum(g.amount)
	FROM g` + joins + `
	GROUP BY ` + strings.Join(groups, ", ") + `
	ORDER BY ` + strings.Join(groups, ", ")
	args := []any{q.From, q.To}
	if strings.Contains(sql, "$3") {
		loc := "UTC"
		if q.Location != nil {
			loc = q.Location.String()
		}
		args = append(args, loc)
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.SummaryRow, error) {
		vals := make([]*string, len(q.GroupBy))
		var row report.SummaryRow
		dest := make([]any, 0, len(vals)+4)
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		dest = append(dest, &row.Currency, &row.Calls, &row.BilledSeconds, &row.Amount)
		if err := r.Scan(dest...); err != nil {
			return row, err
		}
		row.Values = make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				row.Values[i] = *v
			}
		}
		return row, nil
	})
}

// mismatchSQL selects the mismatched CDRs of [$1, $2) with their category:
// the rating status, or deleted_rate for calls rated by a since-deleted rate.
const mismatchSQL = `SELECT CASE WHEN c.status <> 'rated' THEN c.status ELSE 'deleted_rate' END AS category, c.*
	FROM cdrs c
	WHERE c.connect_time >= $1 AND c.connect_time < $2
	AND (c.status <> 'rated' OR c.rate_id IN (SELECT id FROM rates WHERE deleted_at IS NOT NULL))`

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
