package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/invoice"
)

// ImportResult counts what an import changed.
type ImportResult struct {
	Inserted int64 // rows that were new
	Updated  int64 // rows that existed and were overwritten
	Ended    int64 // rates an A-Z import ended or withdrew
}

func (r ImportResult) String() string {
	s := fmt.Sprintf("%d new, %d updated", r.Inserted, r.Updated)
	if r.Ended > 0 {
		s += fmt.Sprintf(", %d ended", r.Ended)
	}
	return s
}

// stage copies rows into a temporary table dropped at commit; imports then
// upsert from it in one statement, which keeps a 100,000-line file fast.
func stage(ctx context.Context, tx pgx.Tx, name, ddl string, cols []string, rows [][]any) error {
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE "+name+" ("+ddl+") ON COMMIT DROP"); err != nil {
		return err
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{name}, cols, pgx.CopyFromRows(rows))
	return err
}

// upsert runs an INSERT … ON CONFLICT … RETURNING (xmax = 0) and counts.
func upsert(ctx context.Context, tx pgx.Tx, sql string, args ...any) (ImportResult, error) {
	var r ImportResult
	err := tx.QueryRow(ctx, `WITH up AS (`+sql+` RETURNING (xmax = 0) AS inserted)
		SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`, args...).Scan(&r.Inserted, &r.Updated)
	return r, err
}

// names returns the first column of a query as a set.
func names(ctx context.Context, tx pgx.Tx, sql string, args ...any) (map[string]bool, error) {
	rows, _ := tx.Query(ctx, sql, args...)
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(list))
	for _, n := range list {
		set[n] = true
	}
	return set, nil
}

// currencies maps the first column of sql's rows to the second.
func currencies(ctx context.Context, tx pgx.Tx, sql string) (map[string]string, error) {
	rows, _ := tx.Query(ctx, sql)
	m := map[string]string{}
	var k, v string
	_, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		m[k] = v
		return nil
	})
	return m, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// ImportCodeDeck upserts the entries of deck, creating the deck if needed.
func (s *Store) ImportCodeDeck(ctx context.Context, file, deck string, entries []catalog.DeckEntry) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO code_decks (name) VALUES ($1) ON CONFLICT DO NOTHING`, deck); err != nil {
			return err
		}
		rows := make([][]any, len(entries))
		for i, e := range entries {
			rows[i] = []any{e.Code, e.Name, e.Country}
		}
		if err := stage(ctx, tx, "stage_deck", "code text, name text, country text", []string{"code", "name", "country"}, rows); err != nil {
			return err
		}
		var err error
		res, err = upsert(ctx, tx, `INSERT INTO code_deck_entries (deck, code, name, country)
			SELECT $1, code, name, country FROM stage_deck
			ON CONFLICT (deck, code) DO UPDATE SET name = excluded.name, country = excluded.country`, deck)
		return err
	})
	return res, err
}

// ImportRateTables upserts rate tables. A parent may come later in the file or
// already exist; cycles and parents in another currency are refused.
func (s *Store) ImportRateTables(ctx context.Context, file string, tables []catalog.RateTable) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		// Two imports checking cycles at once could each pass and together
		// make one: serialise them.
		if _, err := tx.Exec(ctx, `LOCK TABLE rate_tables IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		decks, err := names(ctx, tx, `SELECT name FROM code_decks`)
		if err != nil {
			return err
		}
		stored := map[string]catalog.TableLink{}
		rows, _ := tx.Query(ctx, `SELECT name, currency, coalesce(parent, '') FROM rate_tables`)
		var n, cur, par string
		if _, err := pgx.ForEachRow(rows, []any{&n, &cur, &par}, func() error {
			stored[n] = catalog.TableLink{Currency: cur, Parent: par}
			return nil
		}); err != nil {
			return err
		}
		if err := catalog.CheckRateTables(file, tables, stored, decks); err != nil {
			return err
		}
		resellers, err := names(ctx, tx, `SELECT id FROM resellers`)
		if err != nil {
			return err
		}
		staged := make([][]any, len(tables))
		for i, t := range tables {
			if t.SrcDeck != "" && !decks[t.SrcDeck] {
				return catalog.Errorf(file, t.Line, "src_deck", "unknown code deck %q (import it first with billctl import codedeck)", t.SrcDeck)
			}
			if t.Reseller != "" && !resellers[t.Reseller] {
				return catalog.Errorf(file, t.Line, "reseller", "unknown reseller %q (import it first with billctl import resellers)", t.Reseller)
			}
			staged[i] = []any{t.Name, t.Currency, nullIfEmpty(t.Deck), nullIfEmpty(t.Parent), t.RatesIncludeTaxes, t.Notes,
				nullIfEmpty(t.SrcDeck), nullIfEmpty(t.Reseller), t.KeepSrcDeck, t.KeepReseller}
		}
		if err := stage(ctx, tx, "stage_rate_tables", `name text, currency text, deck text, parent text, rates_include_taxes bool, notes text,
			src_deck text, reseller text, keep_src_deck bool, keep_reseller bool`,
			[]string{"name", "currency", "deck", "parent", "rates_include_taxes", "notes", "src_deck", "reseller", "keep_src_deck", "keep_reseller"}, staged); err != nil {
			return err
		}
		if res, err = upsert(ctx, tx, `INSERT INTO rate_tables (name, currency, deck, rates_include_taxes, notes, src_deck, reseller)
			SELECT name, currency, deck, rates_include_taxes, notes, src_deck, reseller FROM stage_rate_tables
			ON CONFLICT (name) DO UPDATE SET currency = excluded.currency, deck = excluded.deck,
				rates_include_taxes = excluded.rates_include_taxes,
				notes = coalesce(nullif(excluded.notes, ''), rate_tables.notes)`); err != nil {
			return err
		}
		// Columns the file has set what is stored; columns it lacks leave it.
		_, err = tx.Exec(ctx, `UPDATE rate_tables t SET parent = s.parent,
				src_deck = CASE WHEN s.keep_src_deck THEN t.src_deck ELSE s.src_deck END,
				reseller = CASE WHEN s.keep_reseller THEN t.reseller ELSE s.reseller END
			FROM stage_rate_tables s WHERE t.name = s.name`)
		return err
	})
	return res, err
}

// ImportRates upserts rates of one table by (code, src_code, effective_from).
// With az the file is the whole table: rates of codes (and source codes)
// absent from it end at the file's earliest effective_from, and their later
// versions are withdrawn.
func (s *Store) ImportRates(ctx context.Context, file, table string, rates []catalog.Rate, az bool) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rate_tables WHERE name = $1)`, table).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%s: --table %q: no such rate table (import it first with billctl import ratetables)", file, table)
		}
		rows := make([][]any, len(rates))
		for i, r := range rates {
			rows[i] = []any{r.Code, r.SrcCode, r.PerMinute, r.EffectiveFrom, nullTime(r.End), r.Min, r.Interval, r.Grace, r.SetupFee}
		}
		cols := []string{"code", "src_code", "rate", "effective_from", "end_at", "min_seconds", "interval_seconds", "grace_seconds", "setup_fee"}
		if err := stage(ctx, tx, "stage_rates", `code text, src_code text, rate numeric, effective_from timestamptz, end_at timestamptz,
			min_seconds int, interval_seconds int, grace_seconds int, setup_fee numeric`, cols, rows); err != nil {
			return err
		}
		var err error
		if res, err = upsert(ctx, tx, `INSERT INTO rates (rate_table, code, src_code, rate, effective_from, end_at, min_seconds,
				interval_seconds, grace_seconds, setup_fee)
			SELECT $1, code, src_code, rate, effective_from, end_at, min_seconds, interval_seconds, grace_seconds, setup_fee FROM stage_rates
			ON CONFLICT (rate_table, code, src_code, effective_from) DO UPDATE SET rate = excluded.rate, end_at = excluded.end_at,
				min_seconds = excluded.min_seconds, interval_seconds = excluded.interval_seconds,
				grace_seconds = excluded.grace_seconds, setup_fee = excluded.setup_fee, deleted_at = NULL`, table); err != nil {
			return err
		}
		if !az || len(rates) == 0 {
			return nil
		}
		from := rates[0].EffectiveFrom
		for _, r := range rates {
			if r.EffectiveFrom.Before(from) {
				from = r.EffectiveFrom
			}
		}
		if _, err := tx.Exec(ctx, `CREATE INDEX ON stage_rates (code)`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE rates r SET end_at = $2
			WHERE r.rate_table = $1 AND r.deleted_at IS NULL AND r.effective_from < $2 AND (r.end_at IS NULL OR r.end_at > $2)
			AND NOT EXISTS (SELECT 1 FROM stage_rates s WHERE s.code = r.code AND s.src_code = r.src_code)`, table, from)
		if err != nil {
			return err
		}
		res.Ended = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `UPDATE rates r SET deleted_at = now()
			WHERE r.rate_table = $1 AND r.deleted_at IS NULL AND r.effective_from >= $2
			AND NOT EXISTS (SELECT 1 FROM stage_rates s WHERE s.code = r.code AND s.src_code = r.src_code)`, table, from)
		res.Ended += tag.RowsAffected()
		return err
	})
	return res, err
}

// ImportClients upserts clients by id.
func (s *Store) ImportClients(ctx context.Context, file string, clients []catalog.Client) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		tables, err := names(ctx, tx, `SELECT name FROM rate_tables`)
		if err != nil {
			return err
		}
		profiles, err := names(ctx, tx, `SELECT name FROM tax_profiles`)
		if err != nil {
			return err
		}
		resellers, err := names(ctx, tx, `SELECT id FROM resellers`)
		if err != nil {
			return err
		}
		rows := make([][]any, len(clients))
		for i, c := range clients {
			if c.RateTable != "" && !tables[c.RateTable] {
				return catalog.Errorf(file, c.Line, "rate_table", "unknown rate table %q", c.RateTable)
			}
			if c.Reseller != "" && !resellers[c.Reseller] {
				return catalog.Errorf(file, c.Line, "reseller", "unknown reseller %q (import it first with billctl import resellers)", c.Reseller)
			}
			if c.TaxProfile != "" && !profiles[c.TaxProfile] {
				return catalog.Errorf(file, c.Line, "tax_profile", "unknown tax profile %q", c.TaxProfile)
			}
			rows[i] = []any{c.ID, c.Name, c.Currency, c.Timezone, nullIfEmpty(c.RateTable), nullIfEmpty(c.TaxProfile),
				c.InvoiceDay, c.GraceDays, c.Template, c.BillingEmail, c.Address, c.Autoinvoice, c.Status, c.Rounding,
				nullIfEmpty(c.Reseller), c.KeepReseller, c.CreditLimit, c.KeepCreditLimit}
		}
		cols := []string{"id", "name", "currency", "timezone", "rate_table", "tax_profile", "invoice_day", "grace_days",
			"template", "billing_email", "address", "autoinvoice", "status", "rounding"}
		if err := stage(ctx, tx, "stage_clients", `id text, name text, currency text, timezone text, rate_table text,
			tax_profile text, invoice_day int, grace_days int, template text, billing_email text, address text,
			autoinvoice bool, status text, rounding text, reseller text, keep_reseller bool, credit_limit numeric, keep_credit_limit bool`,
			append(cols, "reseller", "keep_reseller", "credit_limit", "keep_credit_limit"), rows); err != nil {
			return err
		}
		previous := map[string]string{}
		stored, _ := tx.Query(ctx, `SELECT c.id, coalesce(c.rate_table, '') FROM clients c JOIN stage_clients s ON s.id = c.id`)
		var id, table string
		if _, err := pgx.ForEachRow(stored, []any{&id, &table}, func() error {
			previous[id] = table
			return nil
		}); err != nil {
			return err
		}
		res, err = upsert(ctx, tx, `INSERT INTO clients (`+strings.Join(cols, ", ")+`)
			SELECT `+strings.Join(cols[:len(cols)-2], ", ")+`, coalesce(nullif(status, ''), 'active'),
				coalesce(nullif(rounding, ''), 'round_then_sum') FROM stage_clients
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, currency = excluded.currency, timezone = excluded.timezone,
				rate_table = excluded.rate_table, tax_profile = excluded.tax_profile, invoice_day = excluded.invoice_day,
				grace_days = excluded.grace_days, template = excluded.template, billing_email = excluded.billing_email,
				address = excluded.address, autoinvoice = excluded.autoinvoice`)
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE clients c SET status = s.status FROM stage_clients s WHERE c.id = s.id AND s.status <> ''`); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE clients c SET reseller = s.reseller FROM stage_clients s WHERE c.id = s.id AND NOT s.keep_reseller`); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE clients c SET credit_limit = s.credit_limit FROM stage_clients s WHERE c.id = s.id AND NOT s.keep_credit_limit`); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE clients c SET rounding = s.rounding FROM stage_clients s WHERE c.id = s.id AND s.rounding <> ''`); err != nil {
			return err
		}
		as := make([]assignment, len(clients))
		for i, c := range clients {
			old, existed := previous[c.ID]
			as[i] = assignment{client: c.ID, table: c.RateTable, when: c.Assigned, existed: existed, previous: old}
		}
		return assign(ctx, tx, as)
	})
	return res, err
}

// ImportResellers upserts resellers by id.
func (s *Store) ImportResellers(ctx context.Context, file string, resellers []catalog.Reseller) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		rows := make([][]any, len(resellers))
		for i, r := range resellers {
			for _, t := range []struct{ field, tpl string }{{"invoice_template", r.InvoiceTemplate},
				{"credit_note_template", r.CreditNoteTemplate}, {"debit_note_template", r.DebitNoteTemplate}} {
				if _, err := invoice.FormatNumber(t.tpl, 1, time.Now()); t.tpl != "" && err != nil {
					return catalog.Errorf(file, r.Line, t.field, "%v", err)
				}
			}
			rows[i] = []any{r.ID, r.Name, r.Address, r.TaxID, r.Email, r.InvoiceTemplate, r.CreditNoteTemplate, r.DebitNoteTemplate}
		}
		cols := []string{"id", "name", "address", "tax_id", "email", "invoice_template", "credit_note_template", "debit_note_template"}
		if err := stage(ctx, tx, "stage_resellers", `id text, name text, address text, tax_id text, email text, invoice_template text,
			credit_note_template text, debit_note_template text`, cols, rows); err != nil {
			return err
		}
		var err error
		res, err = upsert(ctx, tx, `INSERT INTO resellers (`+strings.Join(cols, ", ")+`) SELECT `+strings.Join(cols, ", ")+` FROM stage_resellers
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, tax_id = excluded.tax_id, email = excluded.email,
				invoice_template = excluded.invoice_template, credit_note_template = excluded.credit_note_template,
				debit_note_template = excluded.debit_note_template`)
		return err
	})
	return res, err
}

// ImportAccounts upserts accounts by (kind, value, tech_prefix).
func (s *Store) ImportAccounts(ctx context.Context, file string, accounts []catalog.Account) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		clients, err := names(ctx, tx, `SELECT id FROM clients`)
		if err != nil {
			return err
		}
		tables, err := names(ctx, tx, `SELECT name FROM rate_tables`)
		if err != nil {
			return err
		}
		rows := make([][]any, len(accounts))
		for i, a := range accounts {
			if !clients[a.Client] {
				return catalog.Errorf(file, a.Line, "client", "unknown client %q", a.Client)
			}
			if a.RateTable != "" && !tables[a.RateTable] {
				return catalog.Errorf(file, a.Line, "rate_table", "unknown rate table %q", a.RateTable)
			}
			rows[i] = []any{a.Client, a.Kind, a.Value, a.TechPrefix, nullIfEmpty(a.RateTable), a.Enabled}
		}
		cols := []string{"client", "kind", "value", "tech_prefix", "rate_table", "enabled"}
		if err := stage(ctx, tx, "stage_accounts", `client text, kind text, value text, tech_prefix text, rate_table text, enabled bool`,
			cols, rows); err != nil {
			return err
		}
		type stored struct {
			id    int64
			table string
		}
		byKey := func() (map[string]stored, error) {
			out := map[string]stored{}
			rows, _ := tx.Query(ctx, `SELECT a.id, a.kind || '/' || a.value || '/' || a.tech_prefix, coalesce(a.rate_table, '')
				FROM accounts a JOIN stage_accounts s USING (kind, value, tech_prefix)`)
			var k string
			var st stored
			_, err := pgx.ForEachRow(rows, []any{&st.id, &k, &st.table}, func() error {
				out[k] = st
				return nil
			})
			return out, err
		}
		before, err := byKey()
		if err != nil {
			return err
		}
		if res, err = upsert(ctx, tx, `INSERT INTO accounts (`+strings.Join(cols, ", ")+`)
			SELECT `+strings.Join(cols, ", ")+` FROM stage_accounts
			ON CONFLICT (kind, value, tech_prefix) DO UPDATE SET client = excluded.client,
				rate_table = excluded.rate_table, enabled = excluded.enabled`); err != nil {
			return err
		}
		after, err := byKey()
		if err != nil {
			return err
		}
		as := make([]assignment, len(accounts))
		for i, a := range accounts {
			k := a.Kind + "/" + a.Value + "/" + a.TechPrefix
			old, existed := before[k]
			as[i] = assignment{client: a.Client, account: after[k].id, table: a.RateTable, when: a.Assigned, existed: existed, previous: old.table}
		}
		return assign(ctx, tx, as)
	})
	return res, err
}

// ImportTaxes upserts taxes, creating their profiles as needed.
func (s *Store) ImportTaxes(ctx context.Context, file string, taxes []catalog.Tax) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		rows := make([][]any, len(taxes))
		for i, t := range taxes {
			rows[i] = []any{t.Profile, t.Name, t.Percent}
		}
		if err := stage(ctx, tx, "stage_taxes", "profile text, name text, percent numeric", []string{"profile", "name", "percent"}, rows); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tax_profiles (name) SELECT DISTINCT profile FROM stage_taxes ON CONFLICT DO NOTHING`); err != nil {
			return err
		}
		var err error
		res, err = upsert(ctx, tx, `INSERT INTO taxes (profile, name, percent) SELECT profile, name, percent FROM stage_taxes
			ON CONFLICT (profile, name) DO UPDATE SET percent = excluded.percent`)
		return err
	})
	return res, err
}

// ImportPackages upserts packages by name.
func (s *Store) ImportPackages(ctx context.Context, file string, packages []catalog.Package) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		rows := make([][]any, len(packages))
		for i, p := range packages {
			rows[i] = []any{p.Name, p.Currency, p.MonthlyFee, p.ActivationFee, p.FeesIncludeTaxes}
		}
		cols := []string{"name", "currency", "monthly_fee", "activation_fee", "fees_include_taxes"}
		if err := stage(ctx, tx, "stage_packages", "name text, currency text, monthly_fee numeric, activation_fee numeric, fees_include_taxes bool",
			cols, rows); err != nil {
			return err
		}
		var err error
		res, err = upsert(ctx, tx, `INSERT INTO packages (`+strings.Join(cols, ", ")+`) SELECT `+strings.Join(cols, ", ")+` FROM stage_packages
			ON CONFLICT (name) DO UPDATE SET currency = excluded.currency, monthly_fee = excluded.monthly_fee,
				activation_fee = excluded.activation_fee, fees_include_taxes = excluded.fees_include_taxes`)
		return err
	})
	return res, err
}

// ImportSubscriptions upserts subscriptions by (client, package, start).
func (s *Store) ImportSubscriptions(ctx context.Context, file string, subs []catalog.Subscription) (ImportResult, error) {
	var res ImportResult
	err := s.changeCatalog(ctx, func(tx pgx.Tx) error {
		clients, err := currencies(ctx, tx, `SELECT id, currency FROM clients`)
		if err != nil {
			return err
		}
		packages, err := currencies(ctx, tx, `SELECT name, currency FROM packages`)
		if err != nil {
			return err
		}
		rows := make([][]any, len(subs))
		for i, sub := range subs {
			if clients[sub.Client] == "" {
				return catalog.Errorf(file, sub.Line, "client", "unknown client %q", sub.Client)
			}
			if packages[sub.Package] == "" {
				return catalog.Errorf(file, sub.Line, "package", "unknown package %q", sub.Package)
			}
			// Its fees could not be on the client's invoice (billing-rules §7).
			if pc, cc := packages[sub.Package], clients[sub.Client]; pc != cc {
				return catalog.Errorf(file, sub.Line, "package", "package %q is priced in %s, client %s is billed in %s", sub.Package, pc, sub.Client, cc)
			}
			rows[i] = []any{sub.Client, sub.Package, sub.Start, nullTime(sub.End), sub.Quantity}
		}
		cols := []string{"client", "package", "start_on", "end_on", "quantity"}
		if err := stage(ctx, tx, "stage_subscriptions", "client text, package text, start_on date, end_on date, quantity int", cols, rows); err != nil {
			return err
		}
		res, err = upsert(ctx, tx, `INSERT INTO subscriptions (`+strings.Join(cols, ", ")+`) SELECT `+strings.Join(cols, ", ")+` FROM stage_subscriptions
			ON CONFLICT (client, package, start_on) DO UPDATE SET end_on = excluded.end_on, quantity = excluded.quantity`)
		return err
	})
	return res, err
}
