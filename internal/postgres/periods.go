package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// periods finds clients' periods of a month (invoice.PeriodOf): each from
// its invoice day and time zone, fixed by the periods of its issued
// invoices of the month and the months either side.
type periods struct {
	month  period.Month
	issued map[string]invoice.Issued
}

// readPeriods reads the issued periods around month of clients, or of
// every client when clients is nil, in tx's snapshot.
func readPeriods(ctx context.Context, tx pgx.Tx, month period.Month, clients []string) (periods, error) {
	p := periods{month: month, issued: map[string]invoice.Issued{}}
	before, after := month.Prev(), month.Next()
	rows, _ := tx.Query(ctx, `SELECT client, period, period_start, period_end, timezone FROM invoices
		WHERE period = ANY($1) AND kind = 'invoice' AND state = 'issued' AND NOT preview AND ($2::text[] IS NULL OR client = ANY($2))`,
		[]string{string(before), string(month), string(after)}, clients)
	var client, of, tz string
	var span invoice.Span
	_, err := pgx.ForEachRow(rows, []any{&client, &of, &span.Start, &span.End, &tz}, func() error {
		loc, err := loadZone(tz)
		if err != nil {
			return fmt.Errorf("client %s: invoice of %s: time zone %q: %w", client, of, tz, err)
		}
		span.Start, span.End = span.Start.In(loc), span.End.In(loc)
		is := p.issued[client]
		switch period.Month(of) {
		case before:
			is.Before = span
		case month:
			is.This = span
		case after:
			is.After = span
		}
		p.issued[client] = is
		return nil
	})
	return p, err
}

// of is client's period of the month, from its invoice day and time zone
// (an IANA name) as they are now.
func (p periods) of(client string, invoiceDay int, tz string) (invoice.Span, error) {
	loc, err := loadZone(tz)
	if err != nil {
		return invoice.Span{}, fmt.Errorf("client %s: time zone %q: %w", client, tz, err)
	}
	span, err := invoice.PeriodOf(p.month, invoiceDay, loc, p.issued[client])
	if err != nil {
		return invoice.Span{}, fmt.Errorf("client %s: %w", client, err)
	}
	return span, nil
}

// oneOrAll is the clients readPeriods reads for a client filter: that
// client, or (nil) every client when it is "".
func oneOrAll(client string) []string {
	if client == "" {
		return nil
	}
	return []string{client}
}
