package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/catalog"
)

// RateTableFilter selects rate tables: a name containing Name (any case),
// of Reseller, under Parent; "" selects all.
type RateTableFilter struct{ Name, Reseller, Parent string }

// inForceBySource is, per table, code and source code, the version of a
// rate in force at $1: the latest that is not deleted and started by then,
// unless it has ended. Ordered all descending, the unique index serves it
// read backwards, without a sort of every rate.
const inForceBySource = `WITH latest AS (
		SELECT DISTINCT ON (rate_table, code, src_code) * FROM rates
		WHERE deleted_at IS NULL AND effective_from <= $1
		ORDER BY rate_table DESC, code DESC, src_code DESC, effective_from DESC)
	SELECT * FROM latest WHERE (end_at IS NULL OR end_at > $1)`

// inForce is, per table, the codes with a rate in force at $1: a version
// started by then, not deleted nor ended, and no later one started by then.
// (An anti-join: no sort of every rate, as inForceBySource's DISTINCT ON
// needs.)
const inForce = `SELECT DISTINCT r.rate_table, r.code FROM rates r
	WHERE r.deleted_at IS NULL AND r.effective_from <= $1 AND (r.end_at IS NULL OR r.end_at > $1)
	AND NOT EXISTS (SELECT 1 FROM rates n WHERE n.rate_table = r.rate_table AND n.code = r.code AND n.src_code = r.src_code
		AND n.deleted_at IS NULL AND n.effective_from > r.effective_from AND n.effective_from <= $1)`

const tableColumns = `t.id, t.name, t.currency, coalesce(t.deck, ''), coalesce(t.src_deck, ''), coalesce(t.reseller, ''),
	coalesce(t.parent, ''), t.rates_include_taxes, t.notes`

func scanTable(row pgx.Row, t *catalog.RateTable, more ...any) error {
	return row.Scan(append([]any{&t.ID, &t.Name, &t.Currency, &t.Deck, &t.SrcDeck, &t.Reseller, &t.Parent, &t.RatesIncludeTaxes, &t.Notes}, more...)...)
}

// RateTables lists the rate tables f selects, by ID, each with the number
// of codes that have a rate in force at at.
func (s *Store) RateTables(ctx context.Context, f RateTableFilter, at time.Time) ([]catalog.TableSummary, error) {
	rows, err := s.pool.Query(ctx, `WITH cur AS (`+inForce+`),
		counts AS (SELECT rate_table, count(*) AS n FROM cur GROUP BY rate_table)
		SELECT `+tableColumns+`, coalesce(c.n, 0) FROM rate_tables t LEFT JOIN counts c ON c.rate_table = t.name
		WHERE ($2 = '' OR strpos(lower(t.name), lower($2)) > 0) AND ($3 = '' OR t.reseller = $3) AND ($4 = '' OR t.parent = $4)
		ORDER BY t.id`, at, f.Name, f.Reseller, f.Parent)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.TableSummary
	for rows.Next() {
		var t catalog.TableSummary
		if err := scanTable(rows, &t.RateTable, &t.Rates); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RateTable is one table with its parent chain and what uses it.
func (s *Store) RateTable(ctx context.Context, name string, at time.Time) (catalog.TableDetail, error) {
	var d catalog.TableDetail
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := scanTable(tx.QueryRow(ctx, `WITH cur AS (SELECT * FROM (`+inForce+`) f WHERE rate_table = $2)
			SELECT `+tableColumns+`, (SELECT count(*) FROM cur),
				(SELECT count(*) FROM rates WHERE rate_table = t.name),
				(SELECT count(*) FROM rates WHERE rate_table = t.name AND deleted_at IS NOT NULL),
				(SELECT count(*) FROM clients WHERE rate_table = t.name),
				(SELECT count(*) FROM accounts WHERE rate_table = t.name)
			FROM rate_tables t WHERE t.name = $2`, at, name), &d.RateTable, &d.Rates, &d.Versions, &d.Deleted, &d.Clients, &d.Accounts)
		if err == pgx.ErrNoRows {
			return fmt.Errorf("no rate table %q", name)
		}
		if err != nil {
			return err
		}
		if d.Chain, err = chain(ctx, tx, name); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT name FROM rate_tables WHERE parent = $1 ORDER BY name`, name)
		d.Children, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return d, err
}

// chain is the table and its ancestors, nearest first.
func chain(ctx context.Context, tx pgx.Tx, name string) ([]string, error) {
	rows, _ := tx.Query(ctx, `WITH RECURSIVE up(name, parent, depth) AS (
			SELECT name, parent, 0 FROM rate_tables WHERE name = $1
			UNION ALL
			SELECT t.name, t.parent, up.depth + 1 FROM rate_tables t JOIN up ON t.name = up.parent WHERE up.depth < 100)
		SELECT name FROM up ORDER BY depth`, name)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RatesInForce are the table's rates in force at at, one a code and source
// code. With parents, they are the rates the table prices with after
// inheritance (catalog.Inherit): the parent rule of billing-rules §2 in one
// table.
func (s *Store) RatesInForce(ctx context.Context, table string, at time.Time, parents bool) ([]catalog.Rate, error) {
	var chained [][]catalog.Rate
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tables, err := chain(ctx, tx, table)
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			return fmt.Errorf("no rate table %q", table)
		}
		if !parents {
			tables = tables[:1]
		}
		pos := make(map[string]int, len(tables))
		for i, t := range tables {
			pos[t] = i
		}
		chained = make([][]catalog.Rate, len(tables))
		rows, _ := tx.Query(ctx, `WITH cur AS (`+inForceBySource+` AND rate_table = ANY($2))
			SELECT id, rate_table, code, src_code, rate, effective_from, end_at, min_seconds, interval_seconds, grace_seconds, setup_fee
			FROM cur ORDER BY rate_table, code, src_code`, at, tables)
		var end *time.Time
		var r catalog.Rate
		_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Table, &r.Code, &r.SrcCode, &r.PerMinute, &r.EffectiveFrom, &end,
			&r.Min, &r.Interval, &r.Grace, &r.SetupFee}, func() error {
			x := r
			x.EffectiveFrom, x.End = r.EffectiveFrom.UTC(), time.Time{}
			if end != nil {
				x.End = end.UTC()
			}
			chained[pos[x.Table]] = append(chained[pos[x.Table]], x)
			return nil
		})
		return err
	})
	return catalog.Inherit(chained), err
}

// Reseller is a reseller as imported.
func (s *Store) Reseller(ctx context.Context, id string) (catalog.Reseller, error) {
	r := catalog.Reseller{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT name, address, tax_id, email, invoice_template, credit_note_template, debit_note_template
		FROM resellers WHERE id = $1`, id).Scan(&r.Name, &r.Address, &r.TaxID, &r.Email, &r.InvoiceTemplate, &r.CreditNoteTemplate, &r.DebitNoteTemplate)
	if err == pgx.ErrNoRows {
		return r, fmt.Errorf("no reseller %q", id)
	}
	return r, err
}

// CheckReseller fails unless the master data has reseller id, so that a
// command naming one refuses at once.
func (s *Store) CheckReseller(ctx context.Context, id string) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM resellers WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("no reseller %q", id)
	}
	return nil
}

// ClientsOf are the IDs of a reseller's clients, in order.
func (s *Store) ClientsOf(ctx context.Context, reseller string) ([]string, error) {
	if err := s.CheckReseller(ctx, reseller); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT id FROM clients WHERE reseller = $1 ORDER BY id`, reseller)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if ids == nil {
		ids = []string{}
	}
	return ids, err
}
