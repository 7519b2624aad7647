package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/copybin"
)

// cdrColumns is the order CDR rows are copied in.
const cdrColumns = `file_id, line, call_id, connect_time, duration, orig_ip, orig_account, src_number, dst_number,
	disposition, status, client, account_id, rate_table, rate_id, code, billed_seconds, cost, currency, revision`

// StartFile registers an inbox file as being ingested. It reports skip when
// the same content was ingested before.
func (s *Store) StartFile(ctx context.Context, f cdr.File) (id int64, skip bool, err error) {
	var status, checksum string
	err = s.pool.QueryRow(ctx, `INSERT INTO cdr_files (key, format, checksum, status) VALUES ($1, $2, $3, 'ingesting')
		ON CONFLICT (key) DO UPDATE SET format = excluded.format,
			status = CASE WHEN cdr_files.status = 'ingested' AND cdr_files.checksum = excluded.checksum THEN 'ingested' ELSE 'ingesting' END,
			error = CASE WHEN cdr_files.status = 'ingested' AND cdr_files.checksum = excluded.checksum THEN cdr_files.error ELSE '' END
		RETURNING id, status, checksum`, f.Key, string(f.Format), f.Checksum).Scan(&id, &status, &checksum)
	return id, status == "ingested" && checksum == f.Checksum, err
}

// FailFile records why a file could not be ingested.
func (s *Store) FailFile(ctx context.Context, key, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE cdr_files SET status = 'failed', error = $2 WHERE key = $1`, key, reason)
	return err
}

// LoadFile stores the calls of src as the CDRs of file id, in one
// transaction: they appear all at once or not at all, and they replace the
// CDRs an earlier content of the same key left. Rows go through COPY in text
// format, written straight from the records with no per-value boxing.
func (s *Store) LoadFile(ctx context.Context, id int64, f cdr.File, src cdr.Source) (cdr.FileStats, error) {
	st := cdr.FileStats{FileID: id}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the file's row: two loads of one key run one after the other.
		var first, last *time.Time
		if err := tx.QueryRow(ctx, `SELECT first_call, last_call FROM cdr_files WHERE id = $1 FOR UPDATE`, id).Scan(&first, &last); err != nil {
			return err
		}
		var held []int64
		if first != nil {
			// The days its calls are on, locked before they are deleted: a
			// rerate of those days (which takes the same locks) has either
			// written its rows back, and they are deleted here, or waits.
			rows, _ := tx.Query(ctx, `SELECT (extract(epoch FROM day))::bigint FROM call_keys WHERE file_id = $1 ORDER BY day`, id)
			days, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err == nil && len(days) == 0 { // ingested before call keys were kept: its days from its calls
				rows, _ = tx.Query(ctx, `SELECT DISTINCT (extract(epoch FROM date_trunc('day', connect_time AT TIME ZONE 'UTC')))::bigint
					FROM cdrs WHERE file_id = $1 AND connect_time BETWEEN $2 AND $3 ORDER BY 1`, id, *first, *last)
				days, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
			if err != nil {
				return err
			}
			held = days
		}
		// Days are locked in ascending order, here and as calls meet them
		// (see loadDayKeys): two loads never wait on each other in a cycle.
		held = slices.Compact(slices.Sorted(slices.Values(append(held, f.Days...))))
		if err := lockDays(ctx, tx, held); err != nil {
			return err
		}
		if first != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM cdrs WHERE file_id = $1 AND connect_time BETWEEN $2 AND $3`, id, *first, *last); err != nil {
				return err
			}
		}
		// A file judged again is judged against every file but itself.
		for _, table := range []string{"rejected_lines", "call_keys", "file_duplicates"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE file_id = $1`, id); err != nil {
				return err
			}
		}
		w := &copyWriter{store: s, src: src, id: id, revision: f.Revision, held: held}
		if !s.keepDuplicates {
			w.keys, w.loaded = cdr.NewKeys(id, int(min(f.Size/callBytes, 1<<26))), map[int64]bool{}
		}
		if err := s.copyCDRs(ctx, tx, w); err != nil {
			return err
		}
		if w.keys != nil {
			if err := storeKeys(ctx, tx, w); err != nil {
				return err
			}
		}
		st.CDRs, st.Duplicates, st.First, st.Last = w.rows, w.duplicates, w.first, w.last
		for day := range w.loaded {
			st.Days = append(st.Days, day)
		}
		rejects, total := src.Rejects()
		st.Rejected = total
		if len(rejects) > 0 {
			rows := make([][]any, len(rejects))
			for i, r := range rejects {
				rows[i] = []any{id, r.Line, r.Reason, r.Raw}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rejected_lines"}, []string{"file_id", "line", "reason", "raw"}, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("store rejected lines: %w", err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE cdr_files SET status = 'ingested', checksum = $2, format = $3, cdrs = $4, rejected = $5,
			error = '', first_call = $6, last_call = $7, ingested_at = now(), duplicates = $8 WHERE id = $1`,
			id, f.Checksum, string(f.Format), st.CDRs, st.Rejected, nullTime(st.First), nullTime(st.Last), st.Duplicates)
		return err
	})
	return st, err
}

// callBytes is about twice the size of a call in a CDR file: a file's
// key table from its size; a compressed file's table grows as it fills.
const callBytes = 100

// callKeysLock is the first key of the advisory locks that make the
// ingestions of one day judge duplicates one after the other.
const callKeysLock = 0x6b657973

// lockDays takes the day locks of days (UTC midnights in unix seconds,
// ascending) for tx: the lock loadDayKeys takes, which rerates take too.
func lockDays(ctx context.Context, tx pgx.Tx, days []int64) error {
	for _, day := range days {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, callKeysLock, int32(day/86400)); err != nil {
			return fmt.Errorf("lock the calls of %s: %w", time.Unix(day, 0).UTC().Format(time.DateOnly), err)
		}
	}
	return nil
}

// loadDayKeys locks day for tx, so that a file ingested at the same time
// sees this one's keys or this one sees its keys, and loads the keys the
// other files have on day. It waits for the lock only when day is later
// than every day tx holds; for an earlier day it only tries, and a day held
// elsewhere ends the load with a DaysOutOfOrderError.
func loadDayKeys(ctx context.Context, tx pgx.Tx, w *copyWriter, day int64) error {
	if len(w.held) == 0 || day > w.held[len(w.held)-1] {
		if err := lockDays(ctx, tx, []int64{day}); err != nil {
			return err
		}
		w.held = append(w.held, day)
	} else if !slices.Contains(w.held, day) {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, callKeysLock, int32(day/86400)).Scan(&got); err != nil {
			return fmt.Errorf("lock the calls of %s: %w", time.Unix(day, 0).UTC().Format(time.DateOnly), err)
		}
		if !got {
			return &cdr.DaysOutOfOrderError{Days: slices.Sorted(slices.Values(append(slices.Clone(w.held), day)))}
		}
		w.held = append(w.held, day)
		slices.Sort(w.held)
	}
	rows, _ := tx.Query(ctx, `SELECT file_id, keys FROM call_keys WHERE day = $1 AND file_id <> $2`, time.Unix(day, 0).UTC(), w.id)
	var file int64
	var keys []byte
	if _, err := pgx.ForEachRow(rows, []any{&file, &keys}, func() error {
		w.keys.Load(file, keys)
		return nil
	}); err != nil {
		return fmt.Errorf("load the call keys of %s: %w", time.Unix(day, 0).UTC().Format(time.DateOnly), err)
	}
	w.loaded[day] = true
	return nil
}

// storeKeys stores the keys of the calls w stored and lists its duplicates.
func storeKeys(ctx context.Context, tx pgx.Tx, w *copyWriter) error {
	var sets [][]any
	for day, keys := range w.keys.Encoded() {
		sets = append(sets, []any{time.Unix(day, 0).UTC(), w.id, keys})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"call_keys"}, []string{"day", "file_id", "keys"}, pgx.CopyFromRows(sets)); err != nil {
		return fmt.Errorf("store call keys: %w", err)
	}
	if len(w.dups) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO file_duplicates (file_id, calls) VALUES ($1, $2)`, w.id, w.dups); err != nil {
			return fmt.Errorf("list duplicate calls: %w", err)
		}
	}
	return nil
}

// dayKey is the UTC day of t, the unit of CDR partitions.
func dayKey(t time.Time) int64 {
	return t.Unix() - (t.Unix()%86400+86400)%86400
}

// partition returns the name of the day partition of t, made first when
// this process has not seen it (ensure_cdr_partition names it).
func (s *Store) partition(ctx context.Context, t time.Time) (string, error) {
	if name, ok := s.partitions.Load(dayKey(t)); ok {
		return name.(string), nil
	}
	var name string
	if err := s.pool.QueryRow(ctx, `SELECT ensure_cdr_partition($1)`, t).Scan(&name); err != nil {
		return "", fmt.Errorf("create the CDR partition for %s: %w", t.UTC().Format(time.DateOnly), err)
	}
	s.partitions.Store(dayKey(t), name)
	return name, nil
}

// forgetDroppedPartitions empties the cache of partition names when err
// says a partition is gone (another process archived its month, see
// drop_cdr_month): the load fails, and its retry makes the partitions again.
func (s *Store) forgetDroppedPartitions(err error) {
	var pgErr *pgconn.PgError
	// undefined_table: a cached day partition; check_violation: no partition
	// of cdrs for a row copied through the parent.
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "23514") {
		s.partitions.Clear()
	}
}

// copyCDRs copies w's calls into cdrs within tx, each day's straight into
// its day partition (routing every row through the parent costs the server
// 5-8 %): a COPY ends at a call of another day, or of a day not ready; the
// partition is made (in its own transaction, see ensure_cdr_partition), the
// day's call keys are loaded, and a new COPY takes up the call. Calls that
// switch days often (past maxDayCopies) go through the parent instead.
func (s *Store) copyCDRs(ctx context.Context, tx pgx.Tx, w *copyWriter) error {
	for copies := 0; !w.done; copies++ {
		if w.pending == nil {
			if err := w.prime(); err != nil {
				return err
			}
			if w.done {
				break
			}
		}
		t := w.pending.ConnectTime
		name, err := s.partition(ctx, t)
		if err != nil {
			return err
		}
		if w.keys != nil && !w.loaded[dayKey(t)] {
			if err := loadDayKeys(ctx, tx, w, dayKey(t)); err != nil {
				return err
			}
		}
		table := "cdrs"
		w.into, w.day = viaParent, viaParent
		if copies < maxDayCopies {
			table, w.into = pgx.Identifier{name}.Sanitize(), dayKey(t)
		}
		w.stopped = false
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, w, `COPY `+table+` (`+cdrColumns+`) FROM STDIN (FORMAT binary)`); err != nil {
			if w.err != nil {
				return w.err
			}
			s.forgetDroppedPartitions(err)
			return fmt.Errorf("copy calls: %w", err)
		}
		if w.err != nil {
			return w.err
		}
	}
	return nil
}

// maxDayCopies bounds the COPYs of one load into single day partitions.
const maxDayCopies = 100

// viaParent is copyWriter.into when the COPY goes through the parent.
const viaParent = math.MinInt64

// copyWriter renders a Source as a binary COPY. It ends a COPY early
// (io.EOF) at a call the COPY cannot take (see ready), keeping it pending.
type copyWriter struct {
	store       *Store
	src         cdr.Source
	buf         []byte
	off         int
	pending     *cdr.Record
	pendingRes  *cdr.Rating
	rows        int64
	first, last time.Time
	done        bool
	stopped     bool // ended a COPY at a day not ready
	open        bool // a COPY's header is written and its trailer not
	err         error
	day         int64 // the day last found ready
	into        int64 // the day the COPY writes to (viaParent: any)
	// keys, when set, are the call keys of the days loaded: calls whose key
	// is known are not stored but listed in dups.
	keys   *cdr.Keys
	loaded map[int64]bool
	// held are the days whose locks the load holds, ascending.
	held   []int64
	keyBuf []byte
	id     int64
	// dups lists the duplicates (cdr.AppendDuplicate).
	dups       []byte
	duplicates int64
	// revision is the catalogue revision the calls were rated at (0: not
	// known, stored as NULL).
	revision int64
	// perRow, when set, gives each row's file (rerating copies calls of
	// many files at once); else every row is id's.
	perRow interface{ FileID() int64 }
}

func (w *copyWriter) Read(p []byte) (int, error) {
	for w.off == len(w.buf) {
		if w.done || w.err != nil || w.stopped {
			if w.open {
				w.open = false
				w.buf, w.off = append(w.buf[:0], copybin.Trailer...), 0
				continue
			}
			return 0, io.EOF
		}
		w.buf, w.off = w.buf[:0], 0
		if !w.open { // a new COPY
			w.open = true
			w.buf = append(w.buf, copybin.Header...)
		}
		for len(w.buf) < 64<<10 {
			rec, res := w.pending, w.pendingRes
			w.pending, w.pendingRes = nil, nil
			if rec == nil {
				var err error
				if rec, res, err = w.src.Next(); errors.Is(err, io.EOF) {
					w.done = true
					break
				} else if err != nil {
					w.err = err
					return 0, io.EOF
				}
			}
			if !w.ready(rec.ConnectTime) {
				// End this COPY; copyCDRs readies the day and resumes.
				r, s := *rec, *res
				w.pending, w.pendingRes, w.stopped = &r, &s, true
				break
			}
			if w.keys != nil && w.duplicate(rec) {
				continue
			}
			w.append(rec, res)
		}
	}
	n := copy(p, w.buf[w.off:])
	w.off += n
	return n, nil
}

// prime reads the next call into pending, or marks w done.
func (w *copyWriter) prime() error {
	rec, res, err := w.src.Next()
	switch {
	case errors.Is(err, io.EOF):
		w.done = true
		return nil
	case err != nil:
		return err
	}
	r, s := *rec, *res
	w.pending, w.pendingRes = &r, &s
	return nil
}

// ready reports whether t's day is the COPY's (any, through the parent),
// has a partition and, when w judges duplicates, its keys loaded.
func (w *copyWriter) ready(t time.Time) bool {
	k := dayKey(t)
	if k == w.day {
		return true
	}
	if w.into != viaParent && k != w.into {
		return false
	}
	if _, ok := w.store.partitions.Load(k); !ok {
		return false
	}
	if w.keys != nil && !w.loaded[k] {
		return false
	}
	w.day = k
	return true
}

// duplicate reports whether rec's key is known, and lists it if so.
func (w *copyWriter) duplicate(rec *cdr.Record) bool {
	var key cdr.Key
	key, w.keyBuf = cdr.KeyOf(rec, w.keyBuf)
	first, dup := w.keys.Add(key, w.day)
	if dup {
		w.dups = cdr.AppendDuplicate(w.dups, rec, first)
		w.duplicates++
	}
	return dup
}

// cdrFields is the number of cdrColumns.
var cdrFields = int16(strings.Count(cdrColumns, ",") + 1)

// append renders one row in binary COPY format.
func (w *copyWriter) append(rec *cdr.Record, res *cdr.Rating) {
	if w.rows == 0 || rec.ConnectTime.Before(w.first) {
		w.first = rec.ConnectTime
	}
	if w.rows == 0 || rec.ConnectTime.After(w.last) {
		w.last = rec.ConnectTime
	}
	w.rows++
	b := copybin.AppendRow(w.buf, cdrFields)
	if w.perRow != nil {
		b = copybin.AppendInt8(b, w.perRow.FileID())
	} else {
		b = copybin.AppendInt8(b, w.id)
	}
	b = copybin.AppendInt8(b, rec.Line)
	b = copybin.AppendText(b, rec.CallID)
	b = copybin.AppendTimestamptz(b, rec.ConnectTime)
	b = copybin.AppendSeconds(b, rec.Duration)
	for _, f := range [...]string{rec.OrigIP, rec.OrigAccount, rec.SrcNumber, rec.DstNumber, rec.Disposition, res.Status} {
		b = copybin.AppendText(b, f)
	}
	b = copybin.AppendNullText(b, res.Client)
	if res.AccountID != 0 {
		b = copybin.AppendInt8(b, res.AccountID)
	} else {
		b = copybin.AppendNull(b)
	}
	b = copybin.AppendNullText(b, res.RateTable)
	if res.RateID != 0 {
		b = copybin.AppendInt8(b, res.RateID)
		b = copybin.AppendText(b, res.Code)
	} else {
		b = copybin.AppendNull(copybin.AppendNull(b))
	}
	b = copybin.AppendInt8(b, res.BilledSeconds)
	b = copybin.AppendMillionths(b, res.Cost)
	b = copybin.AppendNullText(b, res.Currency)
	if w.revision > 0 {
		b = copybin.AppendInt4(b, int32(w.revision))
	} else {
		b = copybin.AppendNull(b)
	}
	w.buf = b
}

// IngestedChecksums maps those of keys that are ingested to their checksums.
func (s *Store) IngestedChecksums(ctx context.Context, keys []string) (map[string]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT key, checksum FROM cdr_files WHERE status = 'ingested' AND key = ANY($1)`, keys)
	m := map[string]string{}
	var k, c string
	_, err := pgx.ForEachRow(rows, []any{&k, &c}, func() error {
		m[k] = c
		return nil
	})
	return m, err
}

// Files lists every file ingestion has seen, by key.
func (s *Store) Files(ctx context.Context) ([]cdr.FileState, error) {
	rows, _ := s.pool.Query(ctx, `SELECT key, format, status, checksum, cdrs, rejected, duplicates, error, ingested_at FROM cdr_files ORDER BY key`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (cdr.FileState, error) {
		var f cdr.FileState
		err := r.Scan(&f.Key, &f.Format, &f.Status, &f.Checksum, &f.CDRs, &f.Rejected, &f.Duplicates, &f.Error, &f.IngestedAt)
		return f, err
	})
}

// Duplicates lists the duplicate calls of file key, by line.
func (s *Store) Duplicates(ctx context.Context, key string) ([]cdr.Duplicate, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT id FROM cdr_files WHERE key = $1`, key).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", cdr.ErrUnknownFile, key)
	} else if err != nil {
		return nil, err
	}
	var list []byte
	if err := s.pool.QueryRow(ctx, `SELECT calls FROM file_duplicates WHERE file_id = $1`, id).Scan(&list); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	dups, err := cdr.ParseDuplicates(list)
	if err != nil {
		return nil, fmt.Errorf("duplicates of %s: %w", key, err)
	}
	keys := map[int64]string{}
	for _, d := range dups {
		keys[d.FirstID] = ""
	}
	rows, _ := s.pool.Query(ctx, `SELECT id, key FROM cdr_files WHERE id = ANY($1)`, slices.Collect(maps.Keys(keys)))
	var fid int64
	var fkey string
	if _, err := pgx.ForEachRow(rows, []any{&fid, &fkey}, func() error { keys[fid] = fkey; return nil }); err != nil {
		return nil, err
	}
	for i := range dups {
		dups[i].First = keys[dups[i].FirstID]
	}
	return dups, nil
}
