package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/postgres"
)

// atFlag parses --at: an instant as imports take them, now when empty.
func atFlag(v string) (time.Time, error) {
	if v == "" {
		return time.Now().UTC(), nil
	}
	t, ok := catalog.ParseInstant(v)
	if !ok {
		return time.Time{}, fmt.Errorf("--at %q is not a date or an RFC 3339 time", v)
	}
	return t, nil
}

var rateTableHeader = []string{"id", "name", "currency", "src_deck", "dst_deck", "reseller", "parent", "rates_include_taxes", "notes", "rates"}

func rateTableRow(t catalog.RateTable, rates int64) ([]string, map[string]any) {
	row := []string{strconv.FormatInt(t.ID, 10), t.Name, t.Currency, t.SrcDeck, t.Deck, t.Reseller, t.Parent,
		strconv.FormatBool(t.RatesIncludeTaxes), t.Notes, itoa(rates)}
	doc := map[string]any{"id": t.ID, "name": t.Name, "currency": t.Currency, "src_deck": t.SrcDeck, "dst_deck": t.Deck,
		"reseller": t.Reseller, "parent": t.Parent, "rates_include_taxes": t.RatesIncludeTaxes, "notes": t.Notes, "rates": rates}
	return row, doc
}

func (a *app) rateTablesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ratetables", Short: "Rate tables: list, search, show"}
	var f postgres.RateTableFilter
	var at string
	list := &cobra.Command{
		Use:   "list [--name TEXT] [--reseller ID] [--parent NAME] [--at TIME]",
		Short: "Rate tables with their settings and the number of codes with a rate in force",
		Example: `  billctl ratetables list --name retail          # names containing "retail", any case
  billctl ratetables list --parent retail-usd --format csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := atFlag(at)
			if err != nil {
				return err
			}
			db, err := a.db(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := db.RateTables(cmd.Context(), f, when)
			if err != nil {
				return err
			}
			t := table{header: rateTableHeader}
			docs := make([]map[string]any, 0, len(ts))
			for _, x := range ts {
				row, doc := rateTableRow(x.RateTable, x.Rates)
				t.rows, docs = append(t.rows, row), append(docs, doc)
			}
			t.json = docs
			return a.print(t)
		},
	}
	list.Flags().StringVar(&f.Name, "name", "", "names containing this text, any case")
	list.Flags().StringVar(&f.Reseller, "reseller", "", "tables of this reseller")
	list.Flags().StringVar(&f.Parent, "parent", "", "tables whose parent is this table")
	list.Flags().StringVar(&at, "at", "", "count rates in force at this time (default now)")
	var showAt string
	show := &cobra.Command{
		Use:   "show NAME [--at TIME]",
		Short: "A rate table's settings, its parent chain, and what uses it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := atFlag(showAt)
			if err != nil {
				return err
			}
			db, err := a.db(cmd.Context())
			if err != nil {
				return err
			}
			d, err := db.RateTable(cmd.Context(), args[0], when)
			if err != nil {
				return err
			}
			row, doc := rateTableRow(d.RateTable, d.Rates)
			extra := map[string]string{"chain": strings.Join(d.Chain, " → "), "children": strings.Join(d.Children, " "),
				"versions": itoa(d.Versions), "deleted": itoa(d.Deleted), "clients": itoa(d.Clients), "accounts": itoa(d.Accounts)}
			doc["chain"], doc["children"] = d.Chain, d.Children
			doc["versions"], doc["deleted"], doc["clients"], doc["accounts"] = d.Versions, d.Deleted, d.Clients, d.Accounts
			t := table{header: []string{"field", "value"}, json: doc}
			for i, h := range rateTableHeader {
				t.rows = append(t.rows, []string{h, row[i]})
			}
			for _, k := range []string{"chain", "children", "versions", "deleted", "clients", "accounts"} {
				t.rows = append(t.rows, []string{k, extra[k]})
			}
			return a.print(t)
		},
	}
	show.Flags().StringVar(&showAt, "at", "", "count rates in force at this time (default now)")
	cmd.AddCommand(list, show)
	return cmd
}

// ratesExportCmd writes a table's rates in force as a rate file.
func (a *app) ratesExportCmd() *cobra.Command {
	var tableName, at, out string
	var parents bool
	cmd := &cobra.Command{
		Use:   "export --table NAME [--at TIME] [--with-parents] [--out FILE]",
		Short: "Write a table's rates in force (with --with-parents: as it prices after inheritance) in the import format",
		Example: `  billctl rates export --table retail-eur --out retail-eur.csv
  billctl rates export --table acme-special --with-parents --at 2026-10-15 > effective.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := atFlag(at)
			if err != nil {
				return err
			}
			db, err := a.db(cmd.Context())
			if err != nil {
				return err
			}
			rates, err := db.RatesInForce(cmd.Context(), tableName, when, parents)
			if err != nil {
				return err
			}
			var w io.Writer = a.out
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if err := catalog.WriteRates(w, rates); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(a.err, "%d rates of %s written to %s\n", len(rates), tableName, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tableName, "table", "", "rate table (required)")
	cmd.Flags().StringVar(&at, "at", "", "rates in force at this time (default now)")
	cmd.Flags().BoolVar(&parents, "with-parents", false, "the effective rates: the table's and, for codes it lacks, its ancestors'")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default standard output)")
	_ = cmd.MarkFlagRequired("table")
	return cmd
}
