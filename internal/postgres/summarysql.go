package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/report"
)

// summarySQLKeys maps each group-by key to the expression SummarySQL groups
// and shows. Only these fixed strings reach SQL.
var summarySQLKeys = map[report.Key]string{
	report.Client: "c.client",
	report.Account: `(SELECT a.kind || ':' || a.value || CASE WHEN a.tech_prefix <> '' THEN ' #' || a.tech_prefix ELSE '' END
		FROM accounts a WHERE a.id = c.account_id)`,
	report.DstCode:  "c.code",
	report.DstName:  "coalesce(e.name, c.code)",
	report.Day:      "((c.connect_time AT TIME ZONE $3)::date)::text",
	report.Month:    "to_char(c.connect_time AT TIME ZONE $3, 'YYYY-MM')",
	report.Currency: "c.currency",
}

// SummarySQL is the summary report as one SQL GROUP BY, PostgreSQL grouping
// on both cores: the statement Summary must agree with, and the baseline the
// summary benchmark compares it with.
func (s *Store) SummarySQL(ctx context.Context, q report.Summary) ([]report.SummaryRow, error) {
	var sel, groups []string
	for i, k := range q.GroupBy {
		expr, ok := summarySQLKeys[k]
		if !ok {
			return nil, fmt.Errorf("unknown group-by key %q", k)
		}
		sel = append(sel, "coalesce("+expr+", '')")
		if k == report.Account {
			groups = append(groups, "c.account_id")
		} else {
			groups = append(groups, strconv.Itoa(i+1))
		}
	}
	sel = append(sel, "coalesce(c.currency, '')")
	groups = append(groups, strconv.Itoa(len(sel)))
	sql := `SELECT ` + strings.Join(sel, ", ") + `, count(*), sum(c.billed_seconds)::bigint, sum(c.cost)::text
		FROM cdrs c LEFT JOIN rate_tables rt ON rt.name = c.rate_table
		LEFT JOIN code_deck_entries e ON e.deck = rt.deck AND e.code = c.code
		WHERE c.connect_time >= $1 AND c.connect_time < $2 AND c.status = 'rated' AND $3::text IS NOT NULL
		GROUP BY ` + strings.Join(groups, ", ")
	loc := "UTC"
	if q.Location != nil {
		loc = q.Location.String()
	}
	var out []report.SummaryRow
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// Memory to aggregate a month in one pass, both cores (day partitions
		// are each too small for the planner to go parallel on its own), no JIT.
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL parallel_setup_cost = 0;
			SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL jit = off`); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, sql, q.From, q.To, loc)
		var err error
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.SummaryRow, error) {
			row := report.SummaryRow{Values: make([]string, len(q.GroupBy))}
			var amount string
			dest := make([]any, 0, len(q.GroupBy)+4)
			for i := range row.Values {
				dest = append(dest, &row.Values[i])
			}
			if err := r.Scan(append(dest, &row.Currency, &row.Calls, &row.BilledSeconds, &amount)...); err != nil {
				return row, err
			}
			row.Amount, err = decimal.NewFromString(amount)
			return row, err
		})
		return err
	})
	return out, err
}
