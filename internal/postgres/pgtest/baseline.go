package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/report"
)

// The baselines billrun is measured and checked against: what plain
// PostgreSQL does with the same data. Tests and benchmarks only.

// StoredRows is every stored call as COPY text, in the columns of cdrs: the
// input of CopyFloor.
func StoredRows(ctx context.Context, pool *pgxpool.Pool) ([]byte, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	var out bytes.Buffer
	_, err = conn.Conn().PgConn().CopyTo(ctx, &out, `COPY (SELECT * FROM cdrs ORDER BY file_id, line) TO STDOUT`)
	return out.Bytes(), err
}

// CopyFloor copies rows into a fresh unindexed, unpartitioned table with the
// columns of cdrs and returns how long the COPY took: the floor ingestion
// is measured against. Each of indexes (column lists) adds a b-tree to the
// table first, to measure what an index would cost.
func CopyFloor(ctx context.Context, pool *pgxpool.Pool, rows []byte, indexes ...string) (time.Duration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS copy_floor; CREATE TABLE copy_floor (LIKE cdrs)`); err != nil {
		return 0, err
	}
	for _, cols := range indexes {
		if _, err := conn.Exec(ctx, `CREATE INDEX ON copy_floor (`+cols+`)`); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	_, err = conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(rows), `COPY copy_floor FROM STDIN`)
	took := time.Since(start)
	_, _ = conn.Exec(ctx, `DROP TABLE copy_floor`)
	return took, err
}

// summarySQLKeys maps each group-by key to the expression SummarySQL groups
// and shows. Only these fixed strings reach SQL.
var summarySQLKeys = map[report.Key]string{
	report.Client: "c.client",
	report.Account: `(SELECT a.kind || ':' || a.value || CASE WHEN a.tech_prefix <> '' THEN ' #' || a.tech_prefix ELSE '' END
		FROM accounts a WHERE a.id = c.account_id)`,
	report.DstCode: "c.code",
	report.DstName: "coalesce(e.name, c.code)",
	report.SrcName: `(SELECT s.name FROM code_deck_entries s WHERE s.deck = rt.src_deck AND ltrim(c.src_number, '+') LIKE s.code || '%'
		ORDER BY length(s.code) DESC LIMIT 1)`,
	report.Day:      "((c.connect_time AT TIME ZONE $3)::date)::text",
	report.Month:    "to_char(c.connect_time AT TIME ZONE $3, 'YYYY-MM')",
	report.Currency: "c.currency",
}

// SummarySQL is the summary report as one SQL GROUP BY, PostgreSQL grouping
// on both cores: the statement Summary must agree with, and the baseline the
// summary benchmark compares it with.
func SummarySQL(ctx context.Context, pool *pgxpool.Pool, q report.Summary) ([]report.SummaryRow, error) {
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
			AND NOT EXISTS (SELECT 1 FROM rates r WHERE r.id = c.rate_id AND r.deleted_at IS NOT NULL)
		GROUP BY ` + strings.Join(groups, ", ")
	loc := "UTC"
	if q.Location != nil {
		loc = q.Location.String()
	}
	var out []report.SummaryRow
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
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

// RerateSQL rerates the rated calls of [from, to) as one UPDATE … FROM with a
// longest-prefix join over each call's table chain, in PostgreSQL alone: the
// baseline the rerate benchmark compares billrun with. It follows billing
// rules §2 for tech prefixes, the parent rule, explicit ends and increments;
// it does not apply the implicit end at a code's next version.
func RerateSQL(ctx context.Context, pool *pgxpool.Pool, from, to time.Time) (int64, error) {
	tag, err := pool.Exec(ctx, `
	WITH RECURSIVE chain(root, name, depth) AS (
		SELECT name, name, 0 FROM rate_tables
		UNION ALL
		SELECT c.root, t.parent, c.depth + 1 FROM chain c JOIN rate_tables t ON t.name = c.name WHERE t.parent IS NOT NULL
	), calls AS (
		SELECT c.file_id, c.line, c.connect_time, c.rate_table, ceil(c.duration) AS d,
			ltrim(substr(c.dst_number, length(a.tech_prefix) + 1), '+') AS num
		FROM cdrs c JOIN accounts a ON a.id = c.account_id
		WHERE c.connect_time >= $1 AND c.connect_time < $2 AND c.status = 'rated'
	), best AS (
		SELECT DISTINCT ON (k.file_id, k.line) k.file_id, k.line, k.connect_time, k.d, r.id, r.code, r.rate,
			r.min_seconds, r.interval_seconds, r.grace_seconds, r.setup_fee
		FROM calls k
		JOIN chain ch ON ch.root = k.rate_table
		CROSS JOIN LATERAL generate_series(1, length(k.num)) AS p(len)
		JOIN rates r ON r.rate_table = ch.name AND r.code = left(k.num, p.len) AND r.deleted_at IS NULL
			AND r.effective_from <= k.connect_time AND (r.end_at IS NULL OR r.end_at > k.connect_time)
		ORDER BY k.file_id, k.line, length(r.code) DESC, ch.depth, r.effective_from DESC
	), priced AS (
		SELECT b.*, CASE WHEN b.d = 0 OR b.d <= b.grace_seconds THEN 0
			WHEN b.d <= b.min_seconds THEN b.min_seconds
			ELSE b.min_seconds + ceil((b.d - b.min_seconds) / b.interval_seconds) * b.interval_seconds END AS billed
		FROM best b
	)
	UPDATE cdrs c SET rate_id = p.id, code = p.code, billed_seconds = p.billed,
		cost = CASE WHEN p.billed = 0 THEN 0 ELSE round(p.setup_fee + p.rate * p.billed / 60, 6) END
	FROM priced p
	WHERE c.file_id = p.file_id AND c.line = p.line AND c.connect_time = p.connect_time
		AND c.connect_time >= $1 AND c.connect_time < $2`, from, to)
	return tag.RowsAffected(), err
}
