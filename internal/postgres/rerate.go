package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/copytext"
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rerate"
)

// ErrRerateRunning is returned by BeginRerate when a run over an
// overlapping period is under way; the error is a *RerateRunningError.
var ErrRerateRunning = errors.New("a rerate over an overlapping period is running")

// RerateRunningError names the running rerate that a new one overlaps.
type RerateRunningError struct{ ID string }

func (e *RerateRunningError) Error() string { return ErrRerateRunning.Error() + ": " + e.ID }

// Is makes errors.Is(err, ErrRerateRunning) hold.
func (e *RerateRunningError) Is(target error) bool { return target == ErrRerateRunning }

// RerateSlice selects the calls one rerate batch revisits.
type RerateSlice struct {
	From, To time.Time
	Client   string // "" for every client
	Match    rerate.Match
}

// BeginRerate records a running rerate, refusing one that overlaps another.
func (s *Store) BeginRerate(ctx context.Context, id string, from, to time.Time, client string, match rerate.Match) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO rerate_runs (id, period, client, match, state) VALUES ($1, tstzrange($2, $3), nullif($4, ''), $5, 'running')
		ON CONFLICT (id) DO NOTHING`, id, from, to, client, string(match))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23P01" { // exclusion_violation
		var other string
		_ = s.pool.QueryRow(ctx, `SELECT id FROM rerate_runs WHERE state = 'running' AND period && tstzrange($1, $2) LIMIT 1`, from, to).Scan(&other)
		return &RerateRunningError{ID: other}
	}
	return err
}

// EndRerate records the end of a run: its figures, or its failure.
func (s *Store) EndRerate(ctx context.Context, id string, result any, failed bool) error {
	state := "done"
	if failed {
		state = "failed"
	}
	_, err := s.pool.Exec(ctx, `UPDATE rerate_runs SET state = $2, result = $3, finished_at = now() WHERE id = $1`, id, state, result)
	return err
}

// ReleaseRerate marks a run that is still recorded as running as failed.
func (s *Store) ReleaseRerate(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE rerate_runs SET state = 'failed', finished_at = now() WHERE id = $1 AND state = 'running'`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("no running rerate %s is recorded", id)
	}
	return err
}

// issuedInvoices returns the issued invoices whose period meets [from, to).
func issuedInvoices(ctx context.Context, tx pgx.Tx, from, to time.Time) ([]rerate.Invoice, error) {
	rows, _ := tx.Query(ctx, `SELECT id::text, coalesce(number, ''), client, currency, period_start, period_end FROM invoices
		WHERE state = 'issued' AND period_start < $2 AND period_end > $1`, from, to)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (rerate.Invoice, error) {
		var i rerate.Invoice
		err := r.Scan(&i.ID, &i.Number, &i.Client, &i.Currency, &i.From, &i.To)
		return i, err
	})
}

// rerateColumns are read back as COPY text; times and money as integers
// (microseconds, millionths) so that parsing them is exact and cheap. The
// row's partition and ctid let a changed row be deleted without an index.
const rerateColumns = `tableoid::regclass, ctid, file_id, line, call_id, (extract(epoch FROM connect_time) * 1000000)::bigint,
	(duration * 1000000)::bigint, orig_ip, orig_account, src_number, dst_number, disposition, status, client,
	account_id, rate_table, rate_id, code, billed_seconds, (cost * 1000000)::bigint, currency`

// Rerate rerates one slice in one transaction: its calls are read (COPY
// out), rated again with engine, and those that changed are deleted by
// ctid and copied back. Reading all and rewriting only what changed keeps a
// rerate after a rate change close to a plain read. A retry of the same slice
// gives the same result; nothing is half done.
func (s *Store) Rerate(ctx context.Context, sl RerateSlice, engine *rating.Engine) (rerate.Summary, error) {
	var tally rerate.Tally
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tally = rerate.Tally{}
		invoices, err := issuedInvoices(ctx, tx, sl.From, sl.To)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("connect_time >= %s AND connect_time < %s", quoteTime(sl.From), quoteTime(sl.To))
		if sl.Client != "" {
			where += " AND client = " + quoteLiteral(sl.Client)
		}
		deleted := ratedByDeletedRate("cdrs")
		switch sl.Match {
		case rerate.Matched:
			where += " AND status = 'rated' AND NOT " + deleted
		case rerate.Mismatched:
			where += " AND (status <> 'rated' OR " + deleted + ")"
		}
		var out bytes.Buffer
		if _, err := tx.Conn().PgConn().CopyTo(ctx, &out, `COPY (SELECT `+rerateColumns+` FROM cdrs WHERE `+where+`) TO STDOUT`); err != nil {
			return fmt.Errorf("read calls: %w", err)
		}
		src := &rerateSource{data: out.Bytes(), engine: engine, tally: &tally, invoices: invoices, changed: map[string][]string{}}
		var rows []rerated
		for {
			rec, res, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if src.lastChanged {
				rows = append(rows, rerated{fileID: src.fileID, rec: *rec, res: *res})
			}
		}
		if len(rows) == 0 {
			return nil
		}
		for part, ctids := range src.changed {
			tag, err := tx.Exec(ctx, `DELETE FROM `+part+` WHERE ctid = ANY($1::text[]::tid[])`, ctids)
			if err != nil {
				return fmt.Errorf("delete changed calls: %w", err)
			}
			if tag.RowsAffected() != int64(len(ctids)) {
				// A concurrent change (a file replaced) moved rows away: start over.
				return fmt.Errorf("rerate: %d of %d changed calls of %s were gone; retrying", int64(len(ctids))-tag.RowsAffected(), len(ctids), part)
			}
		}
		back := &reratedSource{rows: rows}
		return s.copyCDRs(ctx, tx, &copyWriter{store: s, src: back, perRow: back})
	})
	if err != nil {
		return rerate.Summary{}, err
	}
	return tally.Summary(), nil
}

// rerated is a call whose rating changed, to be copied back.
type rerated struct {
	fileID int64
	rec    cdr.Record
	res    rating.Result
}

// reratedSource replays changed calls for the copy writer.
type reratedSource struct {
	rows []rerated
	i    int
}

func (r *reratedSource) Next() (*cdr.Record, *rating.Result, error) {
	if r.i == len(r.rows) {
		return nil, nil, io.EOF
	}
	r.i++
	return &r.rows[r.i-1].rec, &r.rows[r.i-1].res, nil
}

func (r *reratedSource) FileID() int64                      { return r.rows[r.i-1].fileID }
func (r *reratedSource) Rejects() ([]*cdr.LineError, int64) { return nil, 0 }

// rerateSource parses the taken-out calls, rates each again and tallies.
type rerateSource struct {
	data     []byte
	engine   *rating.Engine
	tally    *rerate.Tally
	invoices []rerate.Invoice
	fileID   int64
	rec      cdr.Record
	res      rating.Result
	fields   [21][]byte
	// changed collects, per partition, the ctids of calls whose rating
	// changed; lastChanged tells whether the call just returned did.
	changed     map[string][]string
	lastChanged bool
}

func (r *rerateSource) FileID() int64 { return r.fileID }

func (r *rerateSource) Next() (*cdr.Record, *rating.Result, error) {
	if len(r.data) == 0 {
		return nil, nil, io.EOF
	}
	line := r.data
	if i := bytes.IndexByte(r.data, '\n'); i >= 0 {
		line, r.data = r.data[:i], r.data[i+1:]
	} else {
		r.data = nil
	}
	f := copytext.SplitFields(line, r.fields[:])
	if len(f) != len(r.fields) {
		return nil, nil, fmt.Errorf("rerate: a taken-out row has %d fields", len(f))
	}
	num := func(b []byte) int64 {
		if copytext.IsNull(b) {
			return 0
		}
		v, _ := strconv.ParseInt(string(b), 10, 64)
		return v
	}
	part, ctid := f[0], f[1]
	f = f[2:]
	r.fileID = num(f[0])
	r.rec = cdr.Record{Line: num(f[1]), CallID: copytext.Unescape(f[2]), ConnectTime: time.UnixMicro(num(f[3])).UTC(),
		Duration: time.Duration(num(f[4])) * time.Microsecond, OrigIP: copytext.Unescape(f[5]), OrigAccount: copytext.Unescape(f[6]),
		SrcNumber: copytext.Unescape(f[7]), DstNumber: copytext.Unescape(f[8]), Disposition: copytext.Unescape(f[9])}
	status, ok := rating.ParseStatus(string(f[10]))
	if !ok {
		return nil, nil, fmt.Errorf("rerate: unknown status %q", f[10])
	}
	old := rerate.Call{Status: status, Client: copytext.Unescape(f[11]), AccountID: num(f[12]), RateTable: copytext.Unescape(f[13]), RateID: num(f[14]),
		Code: copytext.Unescape(f[15]), BilledSeconds: num(f[16]), Cost: rating.Money(num(f[17])), Currency: copytext.Unescape(f[18])}
	r.engine.RateInto(&rating.CDR{ConnectTime: r.rec.ConnectTime, Duration: r.rec.Duration, OrigIP: r.rec.OrigIP,
		OrigAccount: r.rec.OrigAccount, SrcNumber: r.rec.SrcNumber, DstNumber: r.rec.DstNumber}, &r.res)
	now := rerate.Call{Status: r.res.Status, Client: r.res.Client, AccountID: r.res.AccountID, RateTable: r.res.RateTable, Currency: r.res.Currency}
	if r.res.Status == rating.Rated {
		now.RateID, now.Code, now.BilledSeconds, now.Cost = r.res.RateID, r.res.Code, r.res.BilledSeconds, r.res.Cost
	}
	r.tally.Add(r.rec.ConnectTime, old, now, r.invoices)
	r.lastChanged = old != now
	if r.lastChanged {
		p := string(part)
		r.changed[p] = append(r.changed[p], string(ctid))
	}
	return &r.rec, &r.res, nil
}

func (r *rerateSource) Rejects() ([]*cdr.LineError, int64) { return nil, 0 }

func quoteTime(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'::timestamptz"
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), "'", "''") + "'"
}
