package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/period"
)

// ArchiveBlockers says why month's calls may not leave the database yet:
// drafts of periods that overlap it, files not yet ingested (or failing),
// a running rerate over it. None: it may be archived. since is the
// database's clock before the checks, for DropArchivedMonth.
func (s *Store) ArchiveBlockers(ctx context.Context, month period.Month) (blockers []string, since time.Time, err error) {
	lo, hi := month.Start(time.UTC), month.Next().Start(time.UTC)
	if err := s.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&since); err != nil {
		return nil, since, err
	}
	var out []string
	var drafts int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM invoices WHERE state = 'draft' AND period_start < $2 AND period_end > $1`, lo, hi).
		Scan(&drafts); err != nil {
		return nil, since, err
	}
	if drafts > 0 {
		out = append(out, fmt.Sprintf("%d draft invoices or notes cover %s: issue or void them first", drafts, month))
	}
	rows, _ := s.pool.Query(ctx, `SELECT key FROM cdr_files WHERE status IN ('pending', 'ingesting') ORDER BY key`)
	files, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, since, err
	}
	if len(files) > 0 {
		out = append(out, fmt.Sprintf("%d files are being ingested (%s): wait for them", len(files), files[0]))
	}
	var rerates int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM rerate_runs WHERE state = 'running' AND period && tstzrange($1, $2)`, lo, hi).
		Scan(&rerates); err != nil {
		return nil, since, err
	}
	if rerates > 0 {
		out = append(out, fmt.Sprintf("a rerate of %s is running: wait for it", month))
	}
	return out, since, nil
}

// StoredMonths lists the months before before whose calls are in the
// database, oldest first.
func (s *Store) StoredMonths(ctx context.Context, before period.Month) ([]period.Month, error) {
	rows, _ := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'cdrs'::regclass ORDER BY 1`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out []period.Month
	for _, n := range names {
		t, err := time.Parse("cdrs_2006_01", n)
		if err != nil {
			continue // not a month partition
		}
		if m := period.Of(t); m < before {
			out = append(out, m)
		}
	}
	return out, nil
}

// StoredDays lists the days of month that have a partition, in order.
func (s *Store) StoredDays(ctx context.Context, month period.Month) ([]time.Time, error) {
	rows, _ := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass($1) ORDER BY 1`, monthPartition(month))
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, 0, len(names))
	for _, n := range names {
		d, err := time.Parse("cdrs_2006_01_02", n)
		if err != nil {
			return nil, fmt.Errorf("partition %s of %s: %w", n, month, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func monthPartition(m period.Month) string {
	return "cdrs_" + m.Start(time.UTC).Format("2006_01")
}

func dayPartition(day time.Time) string { return "cdrs_" + day.UTC().Format("2006_01_02") }

// utcSession makes a transaction read and write timestamps in UTC, so that
// an archive restores the same instants wherever it is read.
const utcSession = `SET LOCAL TimeZone = 'UTC'`

// ExportDay writes the calls stored on day (a UTC midnight) to w as CSV
// with a header of the stored columns, and returns how many it wrote.
func (s *Store) ExportDay(ctx context.Context, day time.Time, w io.Writer) (int64, error) {
	var n int64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, utcSession); err != nil {
			return err
		}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, w, `COPY (SELECT * FROM `+pgx.Identifier{dayPartition(day)}.Sanitize()+
			` ORDER BY connect_time, file_id, line) TO STDOUT (FORMAT csv, HEADER)`)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// RecordArchives records where days' calls were archived, replacing what
// an earlier attempt recorded.
func (s *Store) RecordArchives(ctx context.Context, as []cdr.Archive) error {
	var b pgx.Batch
	for _, a := range as {
		b.Queue(`INSERT INTO cdr_archives (day, month, key, calls, bytes, sha256) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (day) DO UPDATE SET month = excluded.month, key = excluded.key, calls = excluded.calls, bytes = excluded.bytes,
				sha256 = excluded.sha256, archived_at = now()`, a.Day, a.Month, a.Key, a.Calls, a.Bytes, a.SHA256)
	}
	return s.pool.SendBatch(ctx, &b).Close()
}

// Archives lists the archived days of month, in order.
func (s *Store) Archives(ctx context.Context, month period.Month) ([]cdr.Archive, error) {
	rows, _ := s.pool.Query(ctx, `SELECT day, month, key, calls, bytes, sha256 FROM cdr_archives WHERE month = $1 ORDER BY day`, month)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (cdr.Archive, error) {
		var a cdr.Archive
		err := r.Scan(&a.Day, &a.Month, &a.Key, &a.Calls, &a.Bytes, &a.SHA256)
		a.Day = time.Date(a.Day.Year(), a.Day.Month(), a.Day.Day(), 0, 0, 0, 0, time.UTC)
		return a, err
	})
}

// ErrArchiveStale is wrapped by the error of DropArchivedMonth when the
// month's calls changed after they were archived: archive it again.
var ErrArchiveStale = errors.New("the calls changed since they were archived")

// DropArchivedMonth drops month's partitions (drop_cdr_month: only once
// every day of it is archived with as many calls as it holds, which catches
// a file stored meanwhile), unless a rerate (which changes calls, not their
// number) started over the month since archiving began at since (the
// database's clock, from ArchiveBlockers). The days are locked as ingestion
// and rerates lock them, so none writes them meanwhile.
func (s *Store) DropArchivedMonth(ctx context.Context, month period.Month, since time.Time) error {
	days, err := s.StoredDays(ctx, month)
	if err != nil {
		return err
	}
	lo, hi := month.Start(time.UTC), month.Next().Start(time.UTC)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		secs := make([]int64, len(days))
		for i, d := range days {
			secs[i] = d.Unix()
		}
		if err := lockDays(ctx, tx, secs); err != nil {
			return err
		}
		var changed bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rerate_runs WHERE period && tstzrange($1, $2) AND (started_at >= $3 OR state = 'running'))
			OR EXISTS (SELECT 1 FROM cdr_files WHERE ingested_at >= $3 AND first_call < $2 AND last_call >= $1)`, lo, hi, since).Scan(&changed); err != nil {
			return err
		}
		if changed {
			return fmt.Errorf("%s: %w (a file or a rerate)", month, ErrArchiveStale)
		}
		_, err := tx.Exec(ctx, `SELECT drop_cdr_month($1)`, lo)
		return err
	})
	s.partitions.Clear() // the month's days are made again if a late file brings calls of them
	return err
}

// RestoreDay copies an archived day's calls (CSV with a header, as
// ExportDay writes them) back into its partition and forgets the archive
// row, in one transaction: all of the day or nothing. check runs after the
// copy and before the commit (the caller's checksum of what it read).
func (s *Store) RestoreDay(ctx context.Context, a cdr.Archive, r io.Reader, check func() error) error {
	part, err := s.ensurePartition(ctx, a.Day)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, 1<<16)
	header, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("%s: header: %w", a.Key, err)
	}
	cols := strings.Split(strings.TrimRight(header, "\r\n"), ",")
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockDays(ctx, tx, []int64{a.Day.Unix()}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, utcSession); err != nil {
			return err
		}
		tag, err := tx.Conn().PgConn().CopyFrom(ctx, br, `COPY `+pgx.Identifier{part}.Sanitize()+` (`+identifiers(cols)+`) FROM STDIN (FORMAT csv)`)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Key, err)
		}
		if tag.RowsAffected() != a.Calls {
			return fmt.Errorf("%s holds %d calls, %d were archived", a.Key, tag.RowsAffected(), a.Calls)
		}
		if err := check(); err != nil {
			return fmt.Errorf("%s: %w", a.Key, err)
		}
		_, err = tx.Exec(ctx, `DELETE FROM cdr_archives WHERE day = $1`, a.Day)
		return err
	})
}

// ensurePartition makes the day partition of day, in its own transaction
// as ensure_cdr_partition asks, and returns its name.
func (s *Store) ensurePartition(ctx context.Context, day time.Time) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `SELECT ensure_cdr_partition($1)`, day).Scan(&name)
	return name, err
}

func identifiers(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}
