package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/pdf"
)

// Issuer is the numbering sequence invoices are issued from.
const Issuer = "default"

// ErrNotFound is returned for an unknown invoice.
var ErrNotFound = errors.New("no such invoice")

// ErrIssued is returned for a draft over a period that has an issued invoice.
var ErrIssued = errors.New("an invoice is issued for this period")

// InvoiceBasis is what an invoice of a client and period is computed from.
type InvoiceBasis struct {
	Stored   invoice.Stored // identity and client details; no lines yet
	Input    invoice.Input
	Location *time.Location
}

// InvoiceBasis reads a client's master data and payable usage for month.
func (s *Store) InvoiceBasis(ctx context.Context, client, month string, issue time.Time) (InvoiceBasis, error) {
	var b InvoiceBasis
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var tz, profile string
		var day int
		st := &b.Stored
		st.Period = month
		if err := tx.QueryRow(ctx, `SELECT id, name, address, billing_email, currency, timezone, invoice_day, grace_days, template,
			coalesce(tax_profile, '') FROM clients WHERE id = $1`, client).
			Scan(&st.Client, &st.ClientName, &st.Address, &st.Email, &st.Currency, &tz, &day, &b.Input.GraceDays, &st.Template, &profile); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("no client %q", client)
			}
			return err
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return fmt.Errorf("client %s: time zone %q: %w", client, tz, err)
		}
		b.Location = loc
		if st.PeriodStart, st.PeriodEnd, err = invoice.Period(month, day, loc); err != nil {
			return err
		}
		b.Input.PeriodStart, b.Input.PeriodEnd = st.PeriodStart, st.PeriodEnd
		b.Input.IssueDate = dateIn(issue, loc)
		rows, _ := tx.Query(ctx, `SELECT name, percent FROM taxes WHERE profile = $1 ORDER BY name`, profile)
		var t invoice.Tax
		if _, err := pgx.ForEachRow(rows, []any{&t.Name, &t.Percent}, func() error {
			b.Input.Taxes = append(b.Input.Taxes, t)
			return nil
		}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT coalesce(e.name, c.code), min(c.code), count(*), sum(c.billed_seconds)::bigint, sum(c.cost),
			t.rates_include_taxes
			FROM cdrs c JOIN rate_tables t ON t.name = c.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
			WHERE `+billable+` GROUP BY 1, t.rates_include_taxes`, client, st.PeriodStart, st.PeriodEnd, st.Currency)
		var u invoice.Usage
		if _, err := pgx.ForEachRow(rows, []any{&u.Description, &u.Code, &u.Calls, &u.BilledSeconds, &u.Cost, &u.Gross}, func() error {
			b.Input.Usage = append(b.Input.Usage, u)
			return nil
		}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT p.name, s.quantity, s.start_on, s.end_on, p.monthly_fee, p.activation_fee, p.fees_include_taxes
			FROM subscriptions s JOIN packages p ON p.name = s.package
			WHERE s.client = $1 AND p.currency = $2 ORDER BY p.name, s.start_on`, client, st.Currency)
		var sub invoice.Subscription
		var end *time.Time
		_, err = pgx.ForEachRow(rows, []any{&sub.Package, &sub.Quantity, &sub.Start, &end, &sub.MonthlyFee, &sub.ActivationFee, &sub.FeesIncludeTax}, func() error {
			sub.End = time.Time{}
			if end != nil {
				sub.End = *end
			}
			b.Input.Subscriptions = append(b.Input.Subscriptions, sub)
			return nil
		})
		return err
	})
	return b, err
}

// billable selects an invoice's calls (alias c): the client's payable calls
// of the period ($1 client, $2 and $3 the period, $4 the client's currency),
// rated and not by a since-deleted rate. Lines, CSV and detail all use it, so
// that they always agree.
var billable = `c.client = $1 AND c.connect_time >= $2 AND c.connect_time < $3 AND c.status = 'rated' AND c.currency = $4
	AND (c.billed_seconds > 0 OR c.cost <> 0) AND NOT ` + ratedByDeletedRate("c")

// dateIn is t's calendar date in loc, as midnight UTC.
func dateIn(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// SaveDraft stores inv as the draft of its client and period, replacing an
// existing draft (and keeping its ID). An issued invoice for the period is
// an error: issued invoices never change.
func (s *Store) SaveDraft(ctx context.Context, inv invoice.Stored) (string, error) {
	id := inv.ID
	if id == "" {
		id = uuid.NewString()
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var existing, state, number string
		err := tx.QueryRow(ctx, `SELECT id::text, state, coalesce(number, '') FROM invoices WHERE client = $1 AND period_start = $2 AND state <> 'void' FOR UPDATE`,
			inv.Client, inv.PeriodStart).Scan(&existing, &state, &number)
		switch {
		case err == nil && state == "issued":
			return fmt.Errorf("%w: client %s, invoice %s; void it first to invoice again", ErrIssued, inv.Client, number)
		case err == nil:
			id = existing
			if _, err := tx.Exec(ctx, `DELETE FROM invoice_lines WHERE invoice_id = $1`, id); err != nil {
				return err
			}
		case errors.Is(err, pgx.ErrNoRows):
		default:
			return err
		}
		taxes, _ := json.Marshal(inv.Taxes)
		if _, err := tx.Exec(ctx, `INSERT INTO invoices (id, client, period_start, period_end, state, issuer, template, currency, subtotal, total,
				issue_date, due_date, taxes, client_name, address, email, period, timezone, documents)
			VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, '{}')
			ON CONFLICT (id) DO UPDATE SET template = excluded.template, currency = excluded.currency, subtotal = excluded.subtotal,
				total = excluded.total, issue_date = excluded.issue_date, due_date = excluded.due_date, taxes = excluded.taxes,
				client_name = excluded.client_name, address = excluded.address, email = excluded.email, documents = '{}'`,
			id, inv.Client, inv.PeriodStart, inv.PeriodEnd, Issuer, inv.Template, inv.Currency, inv.Subtotal, inv.Total,
			inv.IssueDate, inv.DueDate, taxes, inv.ClientName, inv.Address, inv.Email, inv.Period, inv.PeriodStart.Location().String()); err != nil {
			return err
		}
		rows := make([][]any, len(inv.Lines))
		for i, l := range inv.Lines {
			var calls, billed *int64
			var qty *int
			if l.Kind == invoice.KindUsage {
				calls, billed = &inv.Lines[i].Calls, &inv.Lines[i].BilledSeconds
			} else {
				qty = &inv.Lines[i].Quantity
			}
			rows[i] = []any{id, i + 1, l.Kind, l.Description, nullIfEmpty(l.Code), calls, billed, qty, l.Amount}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"invoice_lines"}, []string{"invoice_id", "position", "kind", "description", "code", "calls",
			"billed_seconds", "quantity", "amount"}, pgx.CopyFromRows(rows))
		return err
	})
	return id, err
}

// IssuedInvoice returns the issued invoice of a client's period, if any.
func (s *Store) IssuedInvoice(ctx context.Context, client string, periodStart time.Time) (id, number string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id::text, number FROM invoices WHERE client = $1 AND period_start = $2 AND state = 'issued'`,
		client, periodStart).Scan(&id, &number)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	return id, number, err
}

// Issue numbers a draft and makes it immutable, in one transaction: the
// issuer's counter row is locked, so that two issues never share or skip a
// number. Issuing an issued invoice again returns its number.
func (s *Store) Issue(ctx context.Context, id string, at time.Time, template string) (string, error) {
	var number string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var state, tz string
		var grace int
		var num *string
		if err := tx.QueryRow(ctx, `SELECT i.state, i.number, c.timezone, c.grace_days FROM invoices i JOIN clients c ON c.id = i.client
			WHERE i.id = $1 FOR UPDATE OF i`, id).Scan(&state, &num, &tz, &grace); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w: %s", ErrNotFound, id)
			}
			return err
		}
		switch state {
		case "issued":
			number = *num
			return nil
		case "void":
			return fmt.Errorf("invoice %s is void", id)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO invoice_sequences (issuer, template) VALUES ($1, $2) ON CONFLICT DO NOTHING`, Issuer, template); err != nil {
			return err
		}
		var seq int64
		var tpl string
		if err := tx.QueryRow(ctx, `SELECT next_seq, template FROM invoice_sequences WHERE issuer = $1 FOR UPDATE`, Issuer).Scan(&seq, &tpl); err != nil {
			return err
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return err
		}
		issued := dateIn(at, loc)
		if number, err = invoice.FormatNumber(tpl, seq, issued); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE invoice_sequences SET next_seq = next_seq + 1 WHERE issuer = $1`, Issuer); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE invoices SET state = 'issued', number = $2, issue_date = $3, due_date = $4, documents = '{}' WHERE id = $1`,
			id, number, issued, issued.AddDate(0, 0, grace))
		return err
	})
	return number, err
}

// Void voids an invoice; it keeps its number.
func (s *Store) Void(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE invoices SET state = 'void' WHERE id = $1 AND state <> 'void'`, id)
	if err == nil && tag.RowsAffected() == 0 {
		var exists bool
		_ = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE id = $1)`, id).Scan(&exists)
		if !exists {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
	}
	return err
}

// SetDocuments records where an invoice's documents are.
func (s *Store) SetDocuments(ctx context.Context, id string, docs map[string]string) error {
	_, err := s.pool.Exec(ctx, `UPDATE invoices SET documents = $2 WHERE id = $1`, id, docs)
	return err
}

const invoiceColumns = `id::text, coalesce(number, ''), state, client, period, client_name, address, email, period_start, period_end,
	coalesce(issue_date, '0001-01-01'), coalesce(due_date, '0001-01-01'), currency, template, subtotal, total, taxes, documents, timezone`

func scanInvoice(r pgx.Row) (invoice.Stored, error) {
	var s invoice.Stored
	var taxes []byte
	var tz string
	err := r.Scan(&s.ID, &s.Number, &s.State, &s.Client, &s.Period, &s.ClientName, &s.Address, &s.Email, &s.PeriodStart, &s.PeriodEnd,
		&s.IssueDate, &s.DueDate, &s.Currency, &s.Template, &s.Subtotal, &s.Total, &taxes, &s.Documents, &tz)
	if err != nil {
		return s, err
	}
	// Periods are shown and grouped in the client's zone.
	if loc, err := time.LoadLocation(tz); err == nil {
		s.PeriodStart, s.PeriodEnd = s.PeriodStart.In(loc), s.PeriodEnd.In(loc)
	}
	return s, json.Unmarshal(taxes, &s.Taxes)
}

// Invoice reads one invoice with its lines.
func (s *Store) Invoice(ctx context.Context, id string) (invoice.Stored, error) {
	inv, err := scanInvoice(s.pool.QueryRow(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE id::text = $1 OR number = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return inv, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT kind, description, coalesce(code, ''), coalesce(calls, 0), coalesce(billed_seconds, 0),
		coalesce(quantity, 0), amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY position`, inv.ID)
	var l invoice.Line
	_, err = pgx.ForEachRow(rows, []any{&l.Kind, &l.Description, &l.Code, &l.Calls, &l.BilledSeconds, &l.Quantity, &l.Amount}, func() error {
		inv.Lines = append(inv.Lines, l)
		return nil
	})
	return inv, err
}

// Invoices lists invoices, optionally of one month (period start) and client.
func (s *Store) Invoices(ctx context.Context, month, client string) ([]invoice.Stored, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE ($1 = '' OR period = $1) AND ($2 = '' OR client = $2)
		ORDER BY period_start, client, created_at`, month, client)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (invoice.Stored, error) { return scanInvoice(r) })
}

// InvoiceCalls streams the billable calls of an invoice to fn, in time order.
func (s *Store) InvoiceCalls(ctx context.Context, inv invoice.Stored, fn func(invoice.Call) error) error {
	rows, err := s.pool.Query(ctx, `SELECT c.connect_time, c.call_id, c.src_number, c.dst_number, c.code, coalesce(e.name, c.code),
		c.duration, c.billed_seconds, c.cost
		FROM cdrs c JOIN rate_tables t ON t.name = c.rate_table
		LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
		WHERE `+billable+` ORDER BY c.connect_time, c.file_id, c.line`, inv.Client, inv.PeriodStart, inv.PeriodEnd, inv.Currency)
	if err != nil {
		return err
	}
	var c invoice.Call
	_, err = pgx.ForEachRow(rows, []any{&c.ConnectTime, &c.CallID, &c.Source, &c.Destination, &c.Code, &c.Description, &c.Duration,
		&c.BilledSeconds, &c.Cost}, func() error { return fn(c) })
	return err
}

// InvoiceDetail reads what the extended template adds: use per rate and per
// day (in the client's zone) of the invoice's payable calls.
func (s *Store) InvoiceDetail(ctx context.Context, inv invoice.Stored) (*pdf.Extended, error) {
	ext := &pdf.Extended{}
	rows, _ := s.pool.Query(ctx, `SELECT coalesce(e.name, c.code), c.code, r.rate, count(*), sum(c.billed_seconds)::bigint, sum(c.cost)
		FROM cdrs c JOIN rates r ON r.id = c.rate_id JOIN rate_tables t ON t.name = c.rate_table
		LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
		WHERE `+billable+` GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, inv.Client, inv.PeriodStart, inv.PeriodEnd, inv.Currency)
	var r pdf.RateDetail
	if _, err := pgx.ForEachRow(rows, []any{&r.Description, &r.Code, &r.PerMinute, &r.Calls, &r.BilledSeconds, &r.Amount}, func() error {
		ext.Rates = append(ext.Rates, r)
		return nil
	}); err != nil {
		return nil, err
	}
	rows, _ = s.pool.Query(ctx, `SELECT (c.connect_time AT TIME ZONE $5)::date, count(*), sum(c.billed_seconds)::bigint, sum(c.cost)
		FROM cdrs c WHERE `+billable+` GROUP BY 1 ORDER BY 1`, inv.Client, inv.PeriodStart, inv.PeriodEnd, inv.Currency, inv.PeriodStart.Location().String())
	var d pdf.DayTotal
	_, err := pgx.ForEachRow(rows, []any{&d.Day, &d.Calls, &d.BilledSeconds, &d.Amount}, func() error {
		ext.Days = append(ext.Days, d)
		return nil
	})
	return ext, err
}
