package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/copytext"
)

// RewriteCalls hands every selected call to w and writes back those whose
// rating w changed, and those that were stale (billing-rules §7: they are
// rated at sel.Revision now, changed or not), in one transaction: the calls are read (COPY out), and
// those that changed are deleted by ctid and copied back. Reading all and
// rewriting only what changed keeps a rerate after a rate change close to a
// plain read. Run again, it gives the same result; nothing is half done.
func (s *Store) RewriteCalls(ctx context.Context, sel cdr.Selection, w cdr.Rewriter) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The days' locks, which a file's ingestion takes too: a file
		// replaced meanwhile never misses the rows written back here.
		var days []int64
		for d := dayKey(sel.From); d < sel.To.Unix(); d += 86400 {
			days = append(days, d)
		}
		if err := lockDays(ctx, tx, days); err != nil {
			return err
		}
		issued, err := issuedInvoices(ctx, tx, sel.From, sel.To)
		if err != nil {
			return err
		}
		w.Begin(issued)
		where := fmt.Sprintf("c.connect_time >= %s AND c.connect_time < %s", quoteTime(sel.From), quoteTime(sel.To))
		if sel.Client != "" {
			where += " AND c.client = " + quoteLiteral(sel.Client)
		}
		mismatched := "(c.status <> 'rated' OR " + ratedByDeletedRate("c") + ")"
		switch sel.Match {
		case "matched":
			where += " AND NOT " + mismatched
		case "mismatched":
			where += " AND " + mismatched
		case "stale":
			where += " AND " + staleCall
		case "mismatched_or_stale":
			where += " AND (" + mismatched + " OR " + staleCall + ")"
		}
		var out bytes.Buffer
		if _, err := tx.Conn().PgConn().CopyTo(ctx, &out, `COPY (WITH `+staleWith+` SELECT `+storedColumns+`, `+staleCall+`
			FROM cdrs c`+staleJoins+` WHERE `+where+`) TO STDOUT`); err != nil {
			return fmt.Errorf("read calls: %w", err)
		}
		src := &storedCalls{data: out.Bytes()}
		changed := map[string][]string{} // partition → ctids
		var rows []storedCall
		for {
			c, part, ctid, err := src.next()
			if err != nil {
				return err
			}
			if c == nil {
				break
			}
			if w.Rewrite(&c.rec, &c.rating) || c.stale {
				changed[string(part)] = append(changed[string(part)], string(ctid))
				rows = append(rows, *c)
			}
		}
		if len(rows) == 0 {
			return nil
		}
		for part, ctids := range changed {
			tag, err := tx.Exec(ctx, `DELETE FROM `+part+` WHERE ctid = ANY($1::text[]::tid[])`, ctids)
			if err != nil {
				return fmt.Errorf("delete changed calls: %w", err)
			}
			if tag.RowsAffected() != int64(len(ctids)) {
				// A concurrent change (a file replaced) moved rows away: start over.
				return fmt.Errorf("rerate: %d of %d changed calls of %s were gone; retrying", int64(len(ctids))-tag.RowsAffected(), len(ctids), part)
			}
		}
		back := &storedSource{rows: rows}
		if err := s.copyCDRs(ctx, tx, &copyWriter{store: s, src: back, perRow: back, revision: sel.Revision}); err != nil {
			return err
		}
		return recordChanges(ctx, tx, sel.RunID, sel.From, w.Changes())
	})
}

// recordChanges keeps a day's cost differences as run's, in the day's
// transaction: the run's figures are whole whatever becomes of its
// workflow. A day rerated again changes nothing more, and adds nothing.
// Each day has rows of its own (keyed by its start), so that days running
// at once never wait on each other's rows.
func recordChanges(ctx context.Context, tx pgx.Tx, run string, day time.Time, changes []cdr.CostChange) error {
	if run == "" || len(changes) == 0 {
		return nil
	}
	// One row a key (a tally's changes are), so one statement each.
	var dc, dcur []string
	var damt []decimal.Decimal
	var ids, nums, ac, acur, aper []string
	var aamt []decimal.Decimal
	for _, c := range changes {
		amount := decimal.New(c.Amount, -6) // millionths
		if i := c.Invoice; i != nil {
			ids, nums, ac, acur, aper, aamt = append(ids, i.ID), append(nums, i.Number), append(ac, i.Client), append(acur, i.Currency),
				append(aper, i.Period), append(aamt, amount)
		} else {
			dc, dcur, damt = append(dc, c.Client), append(dcur, c.Currency), append(damt, amount)
		}
	}
	d := day.Format(time.DateOnly)
	if _, err := tx.Exec(ctx, `INSERT INTO rerate_differences (run_id, day, client, currency, amount)
		SELECT $1, $5::date, * FROM unnest($2::text[], $3::text[], $4::numeric[])
		ON CONFLICT (run_id, day, client, currency) DO UPDATE SET amount = rerate_differences.amount + excluded.amount`, run, dc, dcur, damt, d); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO rerate_adjustments (run_id, day, invoice_id, number, client, currency, period, amount)
		SELECT $1, $8::date, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[])
		ON CONFLICT (run_id, day, invoice_id) DO UPDATE SET amount = rerate_adjustments.amount + excluded.amount`, run, ids, nums, ac, acur, aper, aamt, d)
	return err
}

// issuedInvoices returns the issued invoices whose period meets [from, to).
func issuedInvoices(ctx context.Context, tx pgx.Tx, from, to time.Time) ([]cdr.Issued, error) {
	rows, _ := tx.Query(ctx, `SELECT id::text, coalesce(number, ''), client, currency, period, period_start, period_end FROM invoices
		WHERE state = 'issued' AND kind = 'invoice' AND period_start < $2 AND period_end > $1`, from, to)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (cdr.Issued, error) {
		var i cdr.Issued
		err := r.Scan(&i.ID, &i.Number, &i.Client, &i.Currency, &i.Period, &i.From, &i.To)
		return i, err
	})
}

// storedColumns are read back as COPY text; times and money as integers
// (microseconds, millionths) so that parsing them is exact and cheap. The
// row's partition and ctid let a changed row be deleted without an index.
const storedColumns = `c.tableoid::regclass, c.ctid, c.file_id, c.line, c.call_id, (extract(epoch FROM c.connect_time) * 1000000)::bigint,
	(c.duration * 1000000)::bigint, c.orig_ip, c.orig_account, c.src_number, c.dst_number, c.disposition, c.status, c.client,
	c.account_id, c.rate_table, c.rate_id, c.code, c.billed_seconds, (c.cost * 1000000)::bigint, c.currency`

// storedCall is a call as read back.
type storedCall struct {
	fileID int64
	rec    cdr.Record
	rating cdr.Rating
	stale  bool
}

// storedCalls parses the rows of storedColumns.
type storedCalls struct {
	data   []byte
	fields [22][]byte
	call   storedCall
}

// next returns the next call (nil at the end) with its partition and ctid.
func (r *storedCalls) next() (c *storedCall, part, ctid []byte, err error) {
	if len(r.data) == 0 {
		return nil, nil, nil, nil
	}
	line := r.data
	if i := bytes.IndexByte(r.data, '\n'); i >= 0 {
		line, r.data = r.data[:i], r.data[i+1:]
	} else {
		r.data = nil
	}
	f := copytext.SplitFields(line, r.fields[:])
	if len(f) != len(r.fields) {
		return nil, nil, nil, fmt.Errorf("rerate: a stored row has %d fields", len(f))
	}
	num := func(b []byte) int64 {
		v, _ := copytext.Int(b)
		return v
	}
	part, ctid = f[0], f[1]
	f = f[2:]
	text := copytext.Unescape
	r.call = storedCall{fileID: num(f[0]),
		rec: cdr.Record{Line: num(f[1]), CallID: text(f[2]), ConnectTime: time.UnixMicro(num(f[3])).UTC(),
			Duration: time.Duration(num(f[4])) * time.Microsecond, OrigIP: text(f[5]), OrigAccount: text(f[6]),
			SrcNumber: text(f[7]), DstNumber: text(f[8]), Disposition: text(f[9])},
		rating: cdr.Rating{Status: status(f[10]), Client: text(f[11]), AccountID: num(f[12]), RateTable: text(f[13]), RateID: num(f[14]),
			Code: text(f[15]), BilledSeconds: num(f[16]), Cost: num(f[17]), Currency: text(f[18])},
		stale: string(f[19]) == "t"}
	return &r.call, part, ctid, nil
}

// status reads a call's status without a copy for the usual ones.
func status(b []byte) string {
	switch string(b) {
	case cdr.Rated:
		return cdr.Rated
	case "unknown_account":
		return "unknown_account"
	case "no_rate_table":
		return "no_rate_table"
	case "unknown_destination":
		return "unknown_destination"
	}
	return copytext.Unescape(b)
}

// storedSource replays rewritten calls for the copy writer.
type storedSource struct {
	rows []storedCall
	i    int
}

func (r *storedSource) Next() (*cdr.Record, *cdr.Rating, error) {
	if r.i == len(r.rows) {
		return nil, nil, io.EOF
	}
	r.i++
	return &r.rows[r.i-1].rec, &r.rows[r.i-1].rating, nil
}

func (r *storedSource) FileID() int64                      { return r.rows[r.i-1].fileID }
func (r *storedSource) Rejects() ([]*cdr.LineError, int64) { return nil, 0 }

func quoteTime(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'::timestamptz"
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), "'", "''") + "'"
}
