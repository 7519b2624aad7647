package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
