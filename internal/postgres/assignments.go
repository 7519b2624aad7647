package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/catalog"
)

// assignment is one client's (account 0) or account's rate table as an
// import gives it, with what was stored before.
type assignment struct {
	client   string
	account  int64
	table    string // "" none
	when     catalog.Assigned
	existed  bool   // stored before this import
	previous string // its table before this import
}

// assign keeps the rate-table history of an import's clients or accounts
// (decisions.md, "Rate tables over time"): a row without effective_from
// sets the table for all time and drops the history; a row with one adds
// the table from then on, and the table stored before becomes the first
// step if there was no history yet. The entity's revision advances with its
// history, so that its calls become stale; its rate_table column is then the
// table in force now.
func assign(ctx context.Context, tx pgx.Tx, as []assignment) error {
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return err
	}
	// Most imports keep no history: one query finds the few that have one.
	clients := make([]string, len(as))
	for i, a := range as {
		clients[i] = a.client
	}
	type key struct {
		client  string
		account int64
	}
	kept := map[key]int{}
	rows, _ := tx.Query(ctx, `SELECT client, account_id, count(*) FROM rate_table_assignments WHERE client = ANY($1) GROUP BY 1, 2`, clients)
	var k key
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&k.client, &k.account, &n}, func() error {
		kept[k] = n
		return nil
	}); err != nil {
		return err
	}
	entity := func(a assignment) (string, []any) {
		if a.account == 0 {
			return `clients`, []any{a.client}
		}
		return `accounts`, []any{a.account}
	}
	for _, a := range as {
		table, id := entity(a)
		touched := false
		steps := kept[key{a.client, a.account}]
		if !a.when.History {
			if steps == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `DELETE FROM rate_table_assignments WHERE client = $1 AND account_id = $2`, a.client, a.account); err != nil {
				return err
			}
			touched = true
		} else {
			from := a.when.EffectiveFrom
			if from.IsZero() {
				from = now
			}
			if steps == 0 && a.existed && a.previous != a.table {
				if _, err := tx.Exec(ctx, `INSERT INTO rate_table_assignments (client, account_id, effective_from, rate_table)
					VALUES ($1, $2, '1970-01-01', $3) ON CONFLICT DO NOTHING`, a.client, a.account, nullIfEmpty(a.previous)); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO rate_table_assignments (client, account_id, effective_from, rate_table)
				VALUES ($1, $2, $3, $4) ON CONFLICT (client, account_id, effective_from) DO UPDATE SET rate_table = excluded.rate_table`,
				a.client, a.account, from, nullIfEmpty(a.table)); err != nil {
				return err
			}
			touched = true
			// The table in force now (or, when every step is later, the first).
			if _, err := tx.Exec(ctx, `UPDATE `+table+` SET rate_table = (SELECT h.rate_table FROM rate_table_assignments h
					WHERE h.client = $2 AND h.account_id = $3
					ORDER BY h.effective_from <= $4 DESC,
						CASE WHEN h.effective_from <= $4 THEN -extract(epoch FROM h.effective_from) ELSE extract(epoch FROM h.effective_from) END
					LIMIT 1) WHERE id = $1`, id[0], a.client, a.account, now); err != nil {
				return err
			}
		}
		if touched && a.existed {
			if _, err := tx.Exec(ctx, `UPDATE `+table+` SET revision = (SELECT version + 1 FROM catalog_version) WHERE id = $1`, id...); err != nil {
				return err
			}
		}
	}
	return nil
}
