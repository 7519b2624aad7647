package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// NumberSequence is the sequence invoices are numbered from (the issuer
// column); notes are numbered from one per kind.
const NumberSequence = "default"

func sequenceOf(kind string) string {
	if kind == invoice.KindInvoice {
		return NumberSequence
	}
	return kind
}

// issuerOf is the sequence (the issuer column) a reseller's documents of a
// kind are numbered from: the carrier's are sequenceOf(kind).
func issuerOf(reseller, kind string) string {
	if reseller == "" {
		return sequenceOf(kind)
	}
	return reseller + "/" + kind
}

// resellerTemplate is the number template of a reseller's documents of a
// kind when it sets none: its ID in capitals before the carrier's.
func resellerTemplate(reseller, carrier string) string {
	return strings.ToUpper(reseller) + "-" + carrier
}

// InvoiceBases reads the master data and, withUsage, the payable usage of
// clients (each once) for month, in one snapshot and with one scan of the
// month's calls for all of them, in the order of clients. Issued is set
// where the period already has an issued invoice. Without usage, the caller
// adds it from the calls it reads itself (InvoiceCalls).
func (s *Store) InvoiceBases(ctx context.Context, clients []string, month period.Month, issue time.Time, withUsage bool) ([]invoice.Basis, error) {
	if err := s.analyzeCalls(ctx, month); err != nil {
		return nil, err
	}
	out := make([]invoice.Basis, len(clients))
	at := make(map[string]int, len(clients))
	for i, c := range clients {
		at[c] = i
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var client, tz, profile string
		var day, grace int
		var name, address, email, currency, template, reseller string
		var rounding invoice.Rounding
		profiles := map[string][]int{}
		periods, err := readPeriods(ctx, tx, month, clients)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, name, address, billing_email, currency, timezone, invoice_day, grace_days, template,
			coalesce(tax_profile, ''), rounding, coalesce(reseller, '') FROM clients WHERE id = ANY($1)`, clients)
		if _, err := pgx.ForEachRow(rows, []any{&client, &name, &address, &email, &currency, &tz, &day, &grace, &template, &profile, &rounding, &reseller}, func() error {
			i := at[client]
			b := &out[i]
			b.Stored = invoice.Stored{Client: client, ClientName: name, Address: address, Email: email, Currency: currency, Template: template,
				Period: month, Reseller: reseller}
			b.Input.GraceDays, b.Input.Rounding = grace, rounding
			span, err := periods.of(client, day, tz)
			if err != nil {
				return err
			}
			// An issued period keeps the zone it was issued in.
			b.Location = span.Start.Location()
			b.Stored.PeriodStart, b.Stored.PeriodEnd = span.Start, span.End
			b.Input.PeriodStart, b.Input.PeriodEnd, b.Input.RegularDays = span.Start, span.End, invoice.MonthDays(month)
			b.Input.IssueDate = period.DateIn(issue, b.Location)
			profiles[profile] = append(profiles[profile], i)
			return nil
		}); err != nil {
			return err
		}
		for _, c := range clients { // a client named twice gets the same basis, copied at the end
			if out[at[c]].Stored.Client == "" {
				return fmt.Errorf("%w: %q", invoice.ErrNoClient, c)
			}
		}
		var t invoice.Tax
		rows, _ = tx.Query(ctx, `SELECT profile, name, percent FROM taxes WHERE profile = ANY($1) ORDER BY profile, name`, slices.Collect(maps.Keys(profiles)))
		if _, err := pgx.ForEachRow(rows, []any{&profile, &t.Name, &t.Percent}, func() error {
			for _, i := range profiles[profile] {
				out[i].Input.Taxes = append(out[i].Input.Taxes, t)
			}
			return nil
		}); err != nil {
			return err
		}
		var sub invoice.Subscription
		var end *time.Time
		rows, _ = tx.Query(ctx, `SELECT s.client, p.name, s.quantity, s.start_on, s.end_on, p.monthly_fee, p.activation_fee, p.fees_include_taxes
			FROM subscriptions s JOIN packages p ON p.name = s.package JOIN clients c ON c.id = s.client AND c.currency = p.currency
			WHERE s.client = ANY($1) ORDER BY s.client, p.name, s.start_on`, clients)
		if _, err := pgx.ForEachRow(rows, []any{&client, &sub.Package, &sub.Quantity, &sub.Start, &end, &sub.MonthlyFee, &sub.ActivationFee, &sub.FeesIncludeTax}, func() error {
			sub.End = time.Time{}
			if end != nil {
				sub.End = *end
			}
			out[at[client]].Input.Subscriptions = append(out[at[client]].Input.Subscriptions, sub)
			return nil
		}); err != nil {
			return err
		}
		stored := make([]invoice.Stored, len(out))
		for i := range out {
			stored[i] = out[i].Stored
		}
		if withUsage {
			if _, err := tx.Exec(ctx, hashJoins); err != nil {
				return err
			}
			from, where, args := billableOf(stored)
			var n int
			var u invoice.Usage
			rows, _ = tx.Query(ctx, `SELECT p.n, coalesce(e.name, c.code), min(c.code), count(*), sum(c.billed_seconds)::bigint, sum(c.cost),
				t.rates_include_taxes
				`+from+` JOIN rate_tables t ON t.name = c.rate_table
				LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
				WHERE `+where+` GROUP BY 1, 2, t.rates_include_taxes`, args...)
			if _, err := pgx.ForEachRow(rows, []any{&n, &u.Description, &u.Code, &u.Calls, &u.BilledSeconds, &u.Cost, &u.Gross}, func() error {
				out[n-1].Input.Usage = append(out[n-1].Input.Usage, u)
				return nil
			}); err != nil {
				return err
			}
		}
		var id, number string
		rows, _ = tx.Query(ctx, `SELECT i.client, i.id::text, i.number FROM invoices i
			WHERE i.period = $2 AND i.client = ANY($1) AND i.state = 'issued' AND i.kind = 'invoice' AND NOT i.preview
			ORDER BY i.created_at`, clients, string(month))
		if _, err := pgx.ForEachRow(rows, []any{&client, &id, &number}, func() error {
			out[at[client]].Issued = invoice.IssuedRef{ID: id, Number: number}
			return nil
		}); err != nil {
			return err
		}
		for i, c := range clients {
			if j := at[c]; j != i {
				out[i] = out[j]
			}
		}
		return nil
	})
	return out, err
}

// hashJoins makes a transaction join a batch of invoices with the calls of
// their month by hashing the batch and reading the month once. Right after
// ingestion the statistics of the day partitions are often missing; the
// planner then estimates a handful of calls and picks a nested loop that
// compares every call with every invoice of the batch (a second per batch of
// 100 with 60,000 calls). (Merge joins, which sort the whole month first,
// are off for every connection: see Open.)
const hashJoins = `SET LOCAL enable_nestloop = off`

// billableOf is the FROM and WHERE clauses, with their arguments, that select the
// billable calls (alias c) of invoices (alias p, p.n one past the index in
// invs, p.zone the client's time zone): each
// client's payable calls of its period in its currency, rated and not by a
// since-deleted rate. Lines, CSV and detail all use it, so that they always
// agree; a batch of invoices takes one scan of the month.
func billableOf(invs []invoice.Stored) (from, where string, args []any) {
	clients, currencies, zones := make([]string, len(invs)), make([]string, len(invs)), make([]string, len(invs))
	starts, ends := make([]time.Time, len(invs)), make([]time.Time, len(invs))
	var lo, hi time.Time
	for i, inv := range invs {
		clients[i], currencies[i], starts[i], ends[i] = inv.Client, inv.Currency, inv.PeriodStart, inv.PeriodEnd
		zones[i] = inv.PeriodStart.Location().String()
		if i == 0 || inv.PeriodStart.Before(lo) {
			lo = inv.PeriodStart
		}
		if i == 0 || inv.PeriodEnd.After(hi) {
			hi = inv.PeriodEnd
		}
	}
	// The overall range repeats on c so that only its partitions are scanned.
	return `FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[])
			WITH ORDINALITY AS p(client, period_start, period_end, currency, zone, n)
		JOIN cdrs c ON c.client = p.client AND c.currency = p.currency AND c.connect_time >= p.period_start AND c.connect_time < p.period_end`,
		`c.connect_time >= $6 AND c.connect_time < $7 AND c.status = 'rated' AND (c.billed_seconds > 0 OR c.cost <> 0)
		AND NOT ` + ratedByDeletedRate("c"), []any{clients, starts, ends, currencies, zones, lo, hi}
}

// SaveDrafts stores each of invs as the draft of its client and period, in
// one transaction, replacing an existing draft (and keeping its ID). A
// period with an issued invoice is left alone and reported. No two of invs
// may share a client and period.
func (s *Store) SaveDrafts(ctx context.Context, invs []invoice.Stored) ([]invoice.Saved, error) {
	out := make([]invoice.Saved, len(invs))
	if len(invs) == 0 { // a batch whose clients all had nothing to invoice
		return out, nil
	}
	clients, months, corrects, previews := make([]string, len(invs)), make([]string, len(invs)), make([]*string, len(invs)), make([]bool, len(invs))
	for i, inv := range invs {
		clients[i], months[i], previews[i] = inv.Client, string(inv.Period), inv.Preview
		if inv.Corrects != nil {
			corrects[i] = &inv.Corrects.ID
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		type current struct{ id, state, number string }
		have := map[int]current{}
		var n int
		var c current
		// An invoice replaces the live one of its client and period; a
		// preview, the period's preview; a note, the draft note of the
		// invoice it corrects.
		// (Two joins an index serves each, rather than one that none does.)
		// A note's invoice is locked before its draft note (lockInvoices):
		// two adjusts of one invoice save one after the other, the second
		// replacing the first's draft.
		if slices.ContainsFunc(corrects, func(c *string) bool { return c != nil }) {
			if err := lockInvoices(ctx, tx, `id = ANY($1::uuid[])`, corrects); err != nil {
				return err
			}
			// An invoice voided since its note was computed takes no note.
			var number string
			err := tx.QueryRow(ctx, `SELECT coalesce(number, id::text) FROM invoices WHERE id = ANY($1::uuid[]) AND state <> 'issued' LIMIT 1`,
				corrects).Scan(&number)
			if err == nil {
				return fmt.Errorf("invoice %s is no longer issued: %w", number, invoice.ErrNoteOutdated)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		// The period is the month's, whatever its days: an invoice day
		// changed since a draft was made replaces that draft.
		for _, join := range []string{`i.client = p.client AND i.period = p.period AND p.corrects IS NULL
			AND i.kind = 'invoice' AND i.state <> 'void' AND i.preview = p.preview`, `i.corrects = p.corrects AND i.state = 'draft'`} {
			rows, _ := tx.Query(ctx, `SELECT p.n, i.id::text, i.state, coalesce(i.number, '')
				FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bool[]) WITH ORDINALITY AS p(client, period, corrects, preview, n)
				JOIN invoices i ON `+join+` ORDER BY i.id FOR UPDATE OF i`, clients, months, corrects, previews)
			if _, err := pgx.ForEachRow(rows, []any{&n, &c.id, &c.state, &c.number}, func() error {
				have[n-1] = c
				return nil
			}); err != nil {
				return err
			}
		}
		var batch pgx.Batch
		var lines [][]any
		for i, inv := range invs {
			id, cur := inv.ID, have[i]
			switch {
			case cur.state == "issued":
				out[i] = invoice.Saved{ID: cur.id, Issued: cur.number}
				continue
			case cur.id != "":
				id = cur.id
				batch.Queue(`DELETE FROM invoice_lines WHERE invoice_id = $1`, id)
			case id == "":
				id = uuid.NewString()
			}
			out[i].ID = id
			if !inv.Preview && inv.Corrects == nil { // the period's first real draft drops its preview
				batch.Queue(`DELETE FROM invoices WHERE preview AND client = $1 AND period = $2`, inv.Client, string(inv.Period))
			}
			taxes, _ := json.Marshal(inv.Taxes)
			var basis *int
			if inv.Corrects != nil {
				basis = &invs[i].NotesBefore
			}
			kind, rounding := cmp.Or(inv.Kind, invoice.KindInvoice), cmp.Or(inv.Rounding, invoice.RoundThenSum)
			batch.Queue(`INSERT INTO invoices (id, client, period_start, period_end, state, issuer, template, currency, subtotal, total,
					issue_date, due_date, taxes, client_name, address, email, period, timezone, documents, kind, corrects, rounding, preview, reseller,
				basis_notes, made_by)
				VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, '{}', $18, $19, $20, $21, $22, $23, $24)
				ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, issuer = excluded.issuer, rounding = excluded.rounding, reseller = excluded.reseller,
					template = excluded.template, currency = excluded.currency, subtotal = excluded.subtotal,
					total = excluded.total, issue_date = excluded.issue_date, due_date = excluded.due_date, taxes = excluded.taxes,
					client_name = excluded.client_name, address = excluded.address, email = excluded.email, documents = '{}', document_sums = '{}',
					snapshot_calls = NULL, snapshot_detail = NULL, period_start = excluded.period_start, period_end = excluded.period_end,
					timezone = excluded.timezone, basis_notes = excluded.basis_notes, made_by = excluded.made_by`,
				id, inv.Client, inv.PeriodStart, inv.PeriodEnd, issuerOf(inv.Reseller, kind), inv.Template, inv.Currency, inv.Subtotal, inv.Total,
				inv.IssueDate, inv.DueDate, taxes, inv.ClientName, inv.Address, inv.Email, inv.Period, inv.PeriodStart.Location().String(),
				kind, corrects[i], rounding, inv.Preview, nullIfEmpty(inv.Reseller), basis, nullIfEmpty(inv.MadeBy))
			for j, l := range inv.Lines {
				var calls, billed *int64
				var qty *int
				if l.Kind == invoice.KindUsage {
					calls, billed = &inv.Lines[j].Calls, &inv.Lines[j].BilledSeconds
				} else {
					qty = &inv.Lines[j].Quantity
				}
				lines = append(lines, []any{id, j + 1, l.Kind, l.Description, nullIfEmpty(l.Code), calls, billed, qty, l.Amount, l.Exact})
			}
		}
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"invoice_lines"}, []string{"invoice_id", "position", "kind", "description", "code", "calls",
			"billed_seconds", "quantity", "amount", "exact"}, pgx.CopyFromRows(lines))
		return err
	})
	return out, err
}

// Issue numbers drafts and makes them immutable, in one transaction, and
// returns their numbers in the order of ids: each sequence's counter row is
// locked, so that two issues never share or skip a number, and the drafts
// are numbered in the order given. Issuing an issued invoice again returns
// its number. templates number each kind the first time its sequence is
// used; snaps (by ID) are kept with the invoices in the same transaction,
// for their documents. One draft that cannot be issued (a preview, a void
// invoice, an unknown ID) fails the whole call and none is issued.
func (s *Store) Issue(ctx context.Context, ids []string, at time.Time, templates map[string]string, snaps map[string]invoice.Snapshot) ([]string, error) {
	return s.IssueNotes(ctx, ids, at, templates, snaps, time.Time{})
}

// IssueNotes is Issue for drafts that may be notes computed from the
// database as it was at since (zero: unknown). A draft note is issued only
// while it is the correction due (billing-rules §7): its invoice, locked,
// has had no note issued since the note was computed (invoice.ErrNoteOutdated
// otherwise), and no rerate over its period runs or started since (a
// *RerateRunningError).
func (s *Store) IssueNotes(ctx context.Context, ids []string, at time.Time, templates map[string]string, snaps map[string]invoice.Snapshot, since time.Time) ([]string, error) {
	numbers := make([]string, len(ids))
	if len(ids) == 0 {
		return numbers, nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkNotes(ctx, tx, ids, since); err != nil {
			return err
		}
		type draft struct {
			state, tz, kind string
			grace           int
			num             *string
			preview         bool
			issuer          string    // the sequence it is numbered from
			reseller        string    // "" for the carrier
			tpl             [3]string // the reseller's templates: invoice, credit note, debit note
		}
		found := make(map[string]draft, len(ids))
		var id string
		var d draft
		// Locked in ID order, as every writer of invoices locks them.
		rows, _ := tx.Query(ctx, `SELECT i.id::text, i.state, i.number, c.timezone, c.grace_days, i.kind, i.preview, i.issuer,
				coalesce(i.reseller, ''), coalesce(r.invoice_template, ''), coalesce(r.credit_note_template, ''), coalesce(r.debit_note_template, '')
			FROM invoices i JOIN clients c ON c.id = i.client LEFT JOIN resellers r ON r.id = i.reseller
			WHERE i.id = ANY($1::uuid[]) ORDER BY i.id FOR UPDATE OF i`, ids)
		if _, err := pgx.ForEachRow(rows, []any{&id, &d.state, &d.num, &d.tz, &d.grace, &d.kind, &d.preview, &d.issuer,
			&d.reseller, &d.tpl[0], &d.tpl[1], &d.tpl[2]}, func() error {
			found[id] = d
			return nil
		}); err != nil {
			return err
		}
		// A sequence's template the first time it is used: the carrier's by
		// kind, a reseller's own or the carrier's under its ID. A reseller's
		// own template, as imported now, numbers its documents whenever it
		// is set (billctl, which imports it, does not write sequences).
		firstTemplate, ownTemplate := map[string]string{}, map[string]string{}
		for _, d := range found {
			kind := cmp.Or(d.kind, invoice.KindInvoice)
			tpl := templates[kind]
			if d.reseller != "" {
				own := map[string]string{invoice.KindInvoice: d.tpl[0], invoice.KindCreditNote: d.tpl[1], invoice.KindDebitNote: d.tpl[2]}[kind]
				tpl = cmp.Or(own, resellerTemplate(d.reseller, tpl))
				if own != "" {
					ownTemplate[d.issuer] = own
				}
			}
			firstTemplate[d.issuer] = tpl
		}
		next := map[string]int64{} // sequence → its next number
		tpls := map[string]string{}
		for _, id := range ids {
			d, ok := found[id]
			switch {
			case !ok:
				return fmt.Errorf("%w: %s", invoice.ErrNotFound, id)
			case d.preview:
				return fmt.Errorf("%w: %s", invoice.ErrPreview, id)
			case d.state == "void":
				return fmt.Errorf("invoice %s is void", id)
			case d.state == "draft":
				next[d.issuer] = 0
			}
		}
		// Counter rows are locked in name order: two batches never wait on each other in a cycle.
		for _, sequence := range slices.Sorted(maps.Keys(next)) {
			if _, err := tx.Exec(ctx, `INSERT INTO invoice_sequences (issuer, template) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sequence, firstTemplate[sequence]); err != nil {
				return err
			}
			var seq int64
			var tpl string
			if err := tx.QueryRow(ctx, `SELECT next_seq, template FROM invoice_sequences WHERE issuer = $1 FOR UPDATE`, sequence).Scan(&seq, &tpl); err != nil {
				return err
			}
			next[sequence], tpls[sequence] = seq, cmp.Or(ownTemplate[sequence], tpl)
		}
		var batch pgx.Batch
		taken := map[string]int64{}
		first := make(map[string]int, len(ids))
		for i, id := range ids {
			d := found[id]
			if j, twice := first[id]; twice { // the same draft twice: one number
				numbers[i] = numbers[j]
				continue
			}
			first[id] = i
			if d.state == "issued" {
				numbers[i] = *d.num
				continue
			}
			loc, err := loadZone(d.tz)
			if err != nil {
				return err
			}
			issued := period.DateIn(at, loc)
			sequence := d.issuer
			if numbers[i], err = invoice.FormatNumber(tpls[sequence], next[sequence], issued); err != nil {
				return err
			}
			next[sequence]++
			taken[sequence]++
			snap := snaps[id]
			batch.Queue(`UPDATE invoices SET state = 'issued', number = $2, issue_date = $3, due_date = $4, documents = '{}',
				document_sums = '{}', snapshot_calls = $5, snapshot_detail = $6 WHERE id = $1`,
				id, numbers[i], issued, issued.AddDate(0, 0, d.grace), snap.Calls, snap.Detail)
		}
		for _, sequence := range slices.Sorted(maps.Keys(taken)) {
			batch.Queue(`UPDATE invoice_sequences SET next_seq = next_seq + $2 WHERE issuer = $1`, sequence, taken[sequence])
		}
		return tx.SendBatch(ctx, &batch).Close()
	})
	if err != nil {
		return nil, err
	}
	return numbers, nil
}

// Void voids an invoice and, with it, the notes that correct it, in one
// transaction (billing-rules §7): each keeps its number. It returns the
// IDs of the invoice's notes, all void now.
func (s *Store) Void(ctx context.Context, id string) ([]string, error) {
	var notes []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var found bool
		if err := tx.QueryRow(ctx, `SELECT true FROM invoices WHERE id = $1 FOR UPDATE`, id).Scan(&found); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", invoice.ErrNotFound, id)
		} else if err != nil {
			return err
		}
		// Its notes after it (lockInvoices), void already too after a
		// retry: their notices may still be due.
		rows, _ := tx.Query(ctx, `SELECT id::text FROM invoices WHERE corrects = $1 ORDER BY id FOR UPDATE`, id)
		var err error
		if notes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE invoices SET state = 'void' WHERE (id = $1 OR corrects = $1) AND state <> 'void'`, id)
		return err
	})
	return notes, err
}

// SetDocuments records where invoices' documents are and their SHA-256
// sums, by invoice ID.
func (s *Store) SetDocuments(ctx context.Context, docs map[string]invoice.Written) error {
	ids, where, sums := make([]string, 0, len(docs)), make([]map[string]string, 0, len(docs)), make([]map[string]string, 0, len(docs))
	for id, d := range docs {
		ids, where, sums = append(ids, id), append(where, d.URIs), append(sums, d.Sums)
	}
	_, err := s.pool.Exec(ctx, `UPDATE invoices i SET documents = d.documents, document_sums = d.sums
		FROM unnest($1::uuid[], $2::jsonb[], $3::jsonb[]) AS d(id, documents, sums) WHERE i.id = d.id`, ids, where, sums)
	return err
}

// Snapshots reads the snapshots kept of invoices, by ID; those without one
// are missing.
func (s *Store) Snapshots(ctx context.Context, ids []string) (map[string]invoice.Snapshot, error) {
	out := map[string]invoice.Snapshot{}
	rows, _ := s.pool.Query(ctx, `SELECT id::text, snapshot_calls, snapshot_detail FROM invoices WHERE id = ANY($1::uuid[]) AND snapshot_calls IS NOT NULL`, ids)
	var id string
	var sn invoice.Snapshot
	_, err := pgx.ForEachRow(rows, []any{&id, &sn.Calls, &sn.Detail}, func() error {
		out[id], sn = sn, invoice.Snapshot{}
		return nil
	})
	return out, err
}

const invoiceColumns = `id::text, coalesce(number, ''), state, client, period, client_name, address, email, period_start, period_end,
	document_sums, kind, rounding, preview, corrects::text, (SELECT number FROM invoices c WHERE c.id = invoices.corrects),
	coalesce(issue_date, '0001-01-01'), coalesce(due_date, '0001-01-01'), currency, template, subtotal, total, taxes, documents, timezone,
	coalesce(reseller, '')`

func scanInvoice(r pgx.Row) (invoice.Stored, error) {
	var s invoice.Stored
	var taxes []byte
	var tz string
	var correctsID, correctsNumber *string
	err := r.Scan(&s.ID, &s.Number, &s.State, &s.Client, &s.Period, &s.ClientName, &s.Address, &s.Email, &s.PeriodStart, &s.PeriodEnd,
		&s.Sums, &s.Kind, &s.Rounding, &s.Preview, &correctsID, &correctsNumber, &s.IssueDate, &s.DueDate, &s.Currency, &s.Template, &s.Subtotal, &s.Total, &taxes, &s.Documents, &tz, &s.Reseller)
	if err != nil {
		return s, err
	}
	if correctsID != nil {
		s.Corrects = &invoice.Ref{ID: *correctsID, Number: *correctsNumber}
	}
	// Periods are shown and grouped in the client's zone.
	if loc, err := loadZone(tz); err == nil {
		s.PeriodStart, s.PeriodEnd = s.PeriodStart.In(loc), s.PeriodEnd.In(loc)
	}
	return s, json.Unmarshal(taxes, &s.Taxes)
}

// Invoice reads one invoice with its lines, by ID or number.
func (s *Store) Invoice(ctx context.Context, id string) (invoice.Stored, error) {
	inv, err := scanInvoice(s.pool.QueryRow(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE id::text = $1 OR number = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, fmt.Errorf("%w: %s", invoice.ErrNotFound, id)
	}
	if err != nil {
		return inv, err
	}
	invs := []invoice.Stored{inv}
	err = s.readLines(ctx, invs)
	return invs[0], err
}

// InvoicesByID reads invoices with their lines, in the order of ids.
func (s *Store) InvoicesByID(ctx context.Context, ids []string) ([]invoice.Stored, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+invoiceColumns+` FROM unnest($1::uuid[]) WITH ORDINALITY AS k(id, n)
		JOIN invoices USING (id) ORDER BY k.n`, ids)
	invs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (invoice.Stored, error) { return scanInvoice(r) })
	if err != nil {
		return nil, err
	}
	if len(invs) != len(ids) {
		for i, id := range ids {
			if i >= len(invs) || invs[i].ID != id {
				return nil, fmt.Errorf("%w: %s", invoice.ErrNotFound, id)
			}
		}
	}
	return invs, s.readLines(ctx, invs)
}

// readLines reads the lines of invs, in one query.
func (s *Store) readLines(ctx context.Context, invs []invoice.Stored) error {
	at := make(map[string]int, len(invs))
	ids := make([]string, len(invs))
	for i, inv := range invs {
		at[inv.ID], ids[i] = i, inv.ID
	}
	rows, _ := s.pool.Query(ctx, `SELECT invoice_id::text, kind, description, coalesce(code, ''), coalesce(calls, 0), coalesce(billed_seconds, 0),
		coalesce(quantity, 0), amount, coalesce(exact, amount), exact IS NULL FROM invoice_lines WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, position`, ids)
	var id string
	var l invoice.Line
	_, err := pgx.ForEachRow(rows, []any{&id, &l.Kind, &l.Description, &l.Code, &l.Calls, &l.BilledSeconds, &l.Quantity, &l.Amount, &l.Exact, &l.Rounded}, func() error {
		invs[at[id]].Lines = append(invs[at[id]].Lines, l)
		return nil
	})
	return err
}

// Invoices lists invoices, optionally of one month (period start) and client.
func (s *Store) Invoices(ctx context.Context, month period.Month, client string) ([]invoice.Stored, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE ($1 = '' OR period = $1) AND ($2 = '' OR client = $2)
		ORDER BY period_start, client, created_at`, month, client)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (invoice.Stored, error) { return scanInvoice(r) })
}

// InvoicesIn lists month's invoices of the clients after after up to and
// including last, as Invoices does.
func (s *Store) InvoicesIn(ctx context.Context, month period.Month, after, last string) ([]invoice.Stored, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE period = $1 AND client > $2 AND client <= $3
		ORDER BY period_start, client, created_at`, month, after, last)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (invoice.Stored, error) { return scanInvoice(r) })
}

// BilledCSVs lists, for each invoice of ids, where its calls CSV is, then
// those of its issued notes, in the order they were made.
func (s *Store) BilledCSVs(ctx context.Context, ids []string) ([]invoice.Billed, error) {
	rows, _ := s.pool.Query(ctx, `SELECT coalesce(n.corrects, n.id)::text, coalesce(i.number, ''), n.id::text, coalesce(n.documents->>'csv', '')
		FROM invoices n JOIN invoices i ON i.id = coalesce(n.corrects, n.id)
		WHERE n.id = ANY($1::uuid[]) OR n.corrects = ANY($1::uuid[]) AND n.state = 'issued'
		ORDER BY n.corrects IS NOT NULL, n.created_at, n.id`, ids)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[invoice.Billed])
}

// IssuedClients lists, in ID order after after and at most limit, the
// clients with an issued invoice of month.
func (s *Store) IssuedClients(ctx context.Context, month period.Month, after string, limit int) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT DISTINCT client FROM invoices
		WHERE period = $1 AND client > $2 AND state = 'issued' AND corrects IS NULL ORDER BY client LIMIT $3`, month, after, limit)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// InvoiceCalls streams the billable calls of invoices to fn, invoice by
// invoice in the order of invs, each in time order; i is the invoice's index.
func (s *Store) InvoiceCalls(ctx context.Context, invs []invoice.Stored, fn func(i int, c invoice.Call) error) error {
	from, where, args := billableOf(invs)
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, hashJoins); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT p.n, c.connect_time, c.call_id, c.src_number, c.dst_number, c.code, coalesce(e.name, c.code),
			c.duration, c.billed_seconds, c.cost, t.rates_include_taxes
			`+from+` JOIN rate_tables t ON t.name = c.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
			WHERE `+where+` ORDER BY p.n, c.connect_time, c.file_id, c.line`, args...)
		var n int
		var c invoice.Call
		var duration, cost pgtype.Numeric // decoded by hand: decimal's own scanner goes through text, at a month of calls a batch
		_, err := pgx.ForEachRow(rows, []any{&n, &c.ConnectTime, &c.CallID, &c.Source, &c.Destination, &c.Code, &c.Description, &duration,
			&c.BilledSeconds, &cost, &c.Gross}, func() error {
			var err error
			if c.Duration, err = numericDecimal(duration); err != nil {
				return err
			}
			if c.Cost, err = numericDecimal(cost); err != nil {
				return err
			}
			return fn(n-1, c)
		})
		return err
	})
}

// InvoiceDetails reads what the extended template adds to invoices: use
// per rate and per day (in each client's zone) of their billable calls, in
// two passes over their month in all.
func (s *Store) InvoiceDetails(ctx context.Context, invs []invoice.Stored) ([]*invoice.Detail, error) {
	exts := make([]*invoice.Detail, len(invs))
	for i := range exts {
		exts[i] = &invoice.Detail{}
	}
	from, where, args := billableOf(invs)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, hashJoins); err != nil {
			return err
		}
		var n int
		var r invoice.RateUse
		rows, _ := tx.Query(ctx, `SELECT p.n, coalesce(e.name, c.code), c.code, r.rate, count(*), sum(c.billed_seconds)::bigint, sum(c.cost)
			`+from+` JOIN rates r ON r.id = c.rate_id JOIN rate_tables t ON t.name = c.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
			WHERE `+where+` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, args...)
		if _, err := pgx.ForEachRow(rows, []any{&n, &r.Description, &r.Code, &r.PerMinute, &r.Calls, &r.BilledSeconds, &r.Amount}, func() error {
			exts[n-1].Rates = append(exts[n-1].Rates, r)
			return nil
		}); err != nil {
			return err
		}
		var d invoice.DayUse
		rows, _ = tx.Query(ctx, `SELECT p.n, (c.connect_time AT TIME ZONE p.zone)::date, count(*), sum(c.billed_seconds)::bigint, sum(c.cost)
			`+from+` WHERE `+where+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
		if _, err := pgx.ForEachRow(rows, []any{&n, &d.Day, &d.Calls, &d.BilledSeconds, &d.Amount}, func() error {
			exts[n-1].Days = append(exts[n-1].Days, d)
			return nil
		}); err != nil {
			return err
		}
		return invoiceOrigins(ctx, tx, exts, from, where, args)
	})
	return exts, err
}

// ClientsToInvoice lists, in ID order after after and up to through (""
// for no bound), up to limit (0 for no limit) active clients invoiced by
// bill runs (autoinvoice), of reseller when it is not "".
func (s *Store) ClientsToInvoice(ctx context.Context, after, through string, limit int, reseller string) ([]string, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, _ := s.pool.Query(ctx, `SELECT id FROM clients WHERE autoinvoice AND status = 'active' AND id > $1
		AND ($4 = '' OR id <= $4) AND ($3 = '' OR reseller = $3) ORDER BY id LIMIT $2`, after, lim, reseller, through)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// CheckClient returns an error wrapping invoice.ErrNoClient unless the
// master data has client id, so that a command naming one refuses at once.
func (s *Store) CheckClient(ctx context.Context, id string) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %q", invoice.ErrNoClient, id)
	}
	return nil
}

// invoiceOrigins adds to the invoices' details their use by origin, where
// their calls' rate tables have a source deck: calls are grouped by as many
// leading digits of src_number as the longest source code has, and named
// here by the longest code that starts them.
func invoiceOrigins(ctx context.Context, tx pgx.Tx, exts []*invoice.Detail, from, where string, args []any) error {
	name, longest, err := originNamer(ctx, tx)
	if err != nil || longest == 0 {
		return err
	}
	type key struct {
		n    int
		name string
	}
	sums := map[key]*invoice.OriginUse{}
	var keys []key
	var n int
	var table, prefix string
	var u invoice.OriginUse
	rows, _ := tx.Query(ctx, `SELECT p.n, c.rate_table, left(ltrim(c.src_number, '+'), `+strconv.Itoa(longest)+`),
			count(*), sum(c.billed_seconds)::bigint, sum(c.cost)
		`+from+` JOIN rate_tables t ON t.name = c.rate_table AND t.src_deck IS NOT NULL
		WHERE `+where+` GROUP BY 1, 2, 3`, args...)
	if _, err := pgx.ForEachRow(rows, []any{&n, &table, &prefix, &u.Calls, &u.BilledSeconds, &u.Amount}, func() error {
		k := key{n, string(name([]byte(table), []byte(prefix)))}
		s, ok := sums[k]
		if !ok {
			s = &invoice.OriginUse{Name: k.name}
			sums[k], keys = s, append(keys, k)
		}
		s.Calls, s.BilledSeconds, s.Amount = s.Calls+u.Calls, s.BilledSeconds+u.BilledSeconds, s.Amount.Add(u.Amount)
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.n, b.n), strings.Compare(a.name, b.name)) })
	for _, k := range keys {
		exts[k.n-1].Origins = append(exts[k.n-1].Origins, *sums[k])
	}
	return nil
}

// InvoiceFilter selects invoices and notes for a paged list; empty fields
// select all.
type InvoiceFilter struct {
	Month                         period.Month
	Client, State, Kind, Reseller string
	Corrects                      string // the notes of this invoice ID
	MadeBy                        string // the notes this run made
}

// InvoicePage lists invoices without their lines, offset rows in, at most
// limit, ordered as Invoices orders them; more is whether there are others
// after them.
func (s *Store) InvoicePage(ctx context.Context, f InvoiceFilter, offset, limit int) (page []invoice.Stored, more bool, err error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE ($1 = '' OR period = $1) AND ($2 = '' OR client = $2) AND ($3 = '' OR state = $3) AND ($4 = '' OR kind = $4)
		AND ($5 = '' OR reseller = $5) AND ($6 = '' OR corrects::text = $6) AND ($9 = '' OR made_by = $9)
		ORDER BY period_start, client, created_at OFFSET $7 LIMIT $8`, f.Month, f.Client, f.State, f.Kind, f.Reseller, f.Corrects, offset, limit+1,
		f.MadeBy)
	page, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (invoice.Stored, error) { return scanInvoice(r) })
	if len(page) > limit {
		return page[:limit], true, err
	}
	return page, false, err
}

// checkNotes locks the invoices that the draft notes among ids correct,
// then ids (lockInvoices), and checks that each draft note is still the
// correction due: its invoice is still issued, no note of it was issued
// since the note was computed (nor was the note voided, by an adjust that
// found nothing due), and no rerate over its period runs or started since
// since.
func checkNotes(ctx context.Context, tx pgx.Tx, ids []string, since time.Time) error {
	// A batch of invoices (no note among them) has nothing to check: Issue
	// locks them itself.
	var notes bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE id = ANY($1::uuid[]) AND corrects IS NOT NULL)`, ids).Scan(&notes); err != nil || !notes {
		return err
	}
	if err := lockInvoices(ctx, tx, `id IN (SELECT corrects FROM invoices WHERE id = ANY($1::uuid[]) AND state = 'draft')`, ids); err != nil {
		return err
	}
	if err := lockInvoices(ctx, tx, `id = ANY($1::uuid[])`, ids); err != nil {
		return err
	}
	var note, number string
	err := tx.QueryRow(ctx, `SELECT n.id::text, coalesce(i.number, '') FROM invoices n JOIN invoices i ON i.id = n.corrects
		WHERE n.id = ANY($1::uuid[]) AND (n.state = 'void' OR n.state = 'draft' AND (i.state <> 'issued' OR n.basis_notes IS NOT NULL
			AND n.basis_notes <> (SELECT count(*) FROM invoices o WHERE o.corrects = n.corrects AND o.state = 'issued')))
		ORDER BY n.id LIMIT 1`, ids).Scan(&note, &number)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	default:
		return fmt.Errorf("note %s of invoice %s: %w", note, number, invoice.ErrNoteOutdated)
	}
	var run string
	err = tx.QueryRow(ctx, `SELECT r.id FROM invoices n JOIN rerate_runs r ON r.period && tstzrange(n.period_start, n.period_end)
			AND (r.state = 'running' OR r.started_at >= $2)
		WHERE n.id = ANY($1::uuid[]) AND n.state = 'draft' AND n.corrects IS NOT NULL ORDER BY r.started_at LIMIT 1`, ids, nullTime(since)).Scan(&run)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return &RerateRunningError{ID: run}
}

// RerateOver names a rerate that runs over [from, to), "" when none does,
// and returns the database's clock: a note computed from then on is issued
// only if no rerate over its period starts in between (IssueNotes).
func (s *Store) RerateOver(ctx context.Context, from, to time.Time) (string, time.Time, error) {
	var id *string
	var now time.Time
	err := s.pool.QueryRow(ctx, `SELECT (SELECT id FROM rerate_runs WHERE state = 'running' AND period && tstzrange($1, $2) LIMIT 1), now()`,
		from, to).Scan(&id, &now)
	if id == nil {
		return "", now, err
	}
	return *id, now, err
}

// lockInvoices locks the invoices that where (over $1, arg) selects, in
// ID order. Every writer of invoices locks them so, and an invoice before
// the notes that correct it, each in a statement of its own (which sees
// the notes committed while it waited): two writers never wait on each
// other in a cycle.
func lockInvoices(ctx context.Context, tx pgx.Tx, where string, arg any) error {
	rows, _ := tx.Query(ctx, `SELECT id FROM invoices WHERE `+where+` ORDER BY id FOR UPDATE`, arg)
	rows.Close()
	return rows.Err()
}

// NotesToRender lists, in ID order after after and at most limit, the notes
// of month (and client, unless "") that made made, and the issued notes
// of the month that have no documents yet (a run cut short between issue
// and render leaves them so: any later adjust of the month writes them).
func (s *Store) NotesToRender(ctx context.Context, month period.Month, client, made, after string, limit int) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id::text FROM invoices WHERE period = $1 AND ($2 = '' OR client = $2) AND corrects IS NOT NULL
			AND (made_by = $3 OR state = 'issued' AND documents = '{}') AND ($4 = '' OR id > $4::uuid)
		ORDER BY id LIMIT $5`, string(month), client, made, after, limit)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NotesMadeBy pages through the notes that the run named made made.
func (s *Store) NotesMadeBy(ctx context.Context, made string, offset, limit int) ([]invoice.Stored, bool, error) {
	return s.InvoicePage(ctx, InvoiceFilter{MadeBy: made}, offset, limit)
}
