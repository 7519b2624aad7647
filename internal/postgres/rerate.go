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
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rerate"
)

// ErrRerateRunning is returned by BeginRerate when a run over an
// overlapping period is under way.
var ErrRerateRunning = errors.New("a rerate over an overlapping period is running")

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
		return fmt.Errorf("%w: %s", ErrRerateRunning, other)
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
// (microseconds, millionths) so that parsing them is exact and cheap.
const rerateColumns = `file_id, line, call_id, (extract(epoch FROM connect_time) * 1000000)::bigint,
	(duration * 1000000)::bigint, orig_ip, orig_account, src_number, dst_number, disposition, status, client,
	account_id, rate_id, code, billed_seconds, (cost * 1000000)::bigint, currency`

// Rerate rerates one slice in one transaction: its calls are taken out
// (DELETE … RETURNING, streamed as COPY), rated again with engine and copied
// back. A retry of the same slice gives the same result; nothing is half done.
func (s *Store) Rerate(ctx context.Context, sl RerateSlice, engine *rating.Engine) (rerate.Summary, error) {
	var tally rerate.Tally
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		invoices, err := issuedInvoices(ctx, tx, sl.From, sl.To)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("connect_time >= %s AND connect_time < %s", quoteTime(sl.From), quoteTime(sl.To))
		if sl.Client != "" {
			where += " AND client = " + quoteLiteral(sl.Client)
		}
		deleted := "rate_id IN (SELECT id FROM rates WHERE deleted_at IS NOT NULL)"
		switch sl.Match {
		case rerate.Matched:
			where += " AND status = 'rated' AND NOT coalesce(" + deleted + ", false)"
		case rerate.Mismatched:
			where += " AND (status <> 'rated' OR coalesce(" + deleted + ", false))"
		}
		var out bytes.Buffer
		if _, err := tx.Conn().PgConn().CopyTo(ctx, &out, `COPY (DELETE FROM cdrs WHERE `+where+` RETURNING `+rerateColumns+`) TO STDOUT`); err != nil {
			return fmt.Errorf("take out calls: %w", err)
		}
		src := &rerateSource{data: out.Bytes(), engine: engine, tally: &tally, invoices: invoices}
		w := &copyWriter{store: s, ctx: ctx, src: src, perRow: src}
		for !w.done {
			w.stopped = false
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, w, `COPY cdrs (`+cdrColumns+`) FROM STDIN`); err != nil {
				if w.err != nil {
					return w.err
				}
				return fmt.Errorf("copy calls back: %w", err)
			}
			if w.err != nil {
				return w.err
			}
			if w.pending != nil {
				if err := s.ensurePartition(ctx, w.pending.ConnectTime); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return rerate.Summary{}, err
	}
	return tally.Summary(), nil
}

// rerateSource parses the taken-out calls, rates each again and tallies.
type rerateSource struct {
	data     []byte
	engine   *rating.Engine
	tally    *rerate.Tally
	invoices []rerate.Invoice
	fileID   int64
	rec      cdr.Record
	res      rating.Result
	fields   [18][]byte
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
	f := r.fields[:0]
	for len(f) < len(r.fields)-1 {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			break
		}
		f = append(f, line[:i])
		line = line[i+1:]
	}
	f = append(f, line)
	if len(f) != len(r.fields) {
		return nil, nil, fmt.Errorf("rerate: a taken-out row has %d fields", len(f))
	}
	num := func(b []byte) int64 {
		if isNull(b) {
			return 0
		}
		v, _ := strconv.ParseInt(string(b), 10, 64)
		return v
	}
	r.fileID = num(f[0])
	r.rec = cdr.Record{Line: num(f[1]), CallID: unescape(f[2]), ConnectTime: time.UnixMicro(num(f[3])).UTC(),
		Duration: time.Duration(num(f[4])) * time.Microsecond, OrigIP: unescape(f[5]), OrigAccount: unescape(f[6]),
		SrcNumber: unescape(f[7]), DstNumber: unescape(f[8]), Disposition: unescape(f[9])}
	status, ok := rating.ParseStatus(string(f[10]))
	if !ok {
		return nil, nil, fmt.Errorf("rerate: unknown status %q", f[10])
	}
	old := rerate.Call{Status: status, Client: unescape(f[11]), AccountID: num(f[12]), RateID: num(f[13]), Code: unescape(f[14]),
		BilledSeconds: num(f[15]), Cost: rating.Money(num(f[16])), Currency: unescape(f[17])}
	r.engine.RateInto(&rating.CDR{ConnectTime: r.rec.ConnectTime, Duration: r.rec.Duration, OrigIP: r.rec.OrigIP,
		OrigAccount: r.rec.OrigAccount, SrcNumber: r.rec.SrcNumber, DstNumber: r.rec.DstNumber}, &r.res)
	now := rerate.Call{Status: r.res.Status, Client: r.res.Client, AccountID: r.res.AccountID, Currency: r.res.Currency}
	if r.res.Status == rating.Rated {
		now.RateID, now.Code, now.BilledSeconds, now.Cost = r.res.RateID, r.res.Code, r.res.BilledSeconds, r.res.Cost
	}
	r.tally.Add(r.rec.ConnectTime, old, now, r.invoices)
	return &r.rec, &r.res, nil
}

func (r *rerateSource) Rejects() ([]*cdr.LineError, int64) { return nil, 0 }

func isNull(b []byte) bool { return len(b) == 2 && b[0] == '\\' && b[1] == 'N' }

// unescape decodes a COPY text field ("" for NULL).
func unescape(b []byte) string {
	if isNull(b) {
		return ""
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'v':
			out = append(out, '\v')
		default:
			out = append(out, b[i])
		}
	}
	return string(out)
}

func quoteTime(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'::timestamptz"
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), "'", "''") + "'"
}
