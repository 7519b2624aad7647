package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/console"
	"github.com/billrun/billrun/internal/postgres"
)

// importer reads one kind of file and applies it in one transaction.
type importer func(ctx context.Context, db *postgres.Store, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error)

// importKind is one kind of master-data file, for billctl import and the
// console's upload alike.
type importKind struct {
	kind, use, short string
	run              importer
	flags            func(*cobra.Command, *console.ImportOptions)
}

var importKinds = []importKind{
	{"codedeck", "codedeck --deck NAME FILE", "Upsert code deck entries: code,name,country", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error) {
		if err := catalog.CheckName(o.Deck); err != nil {
			return postgres.ImportResult{}, fmt.Errorf("--deck: %w", err)
		}
		es, err := catalog.ReadCodeDeck(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportCodeDeck(ctx, name, o.Deck, es)
	}, func(c *cobra.Command, o *console.ImportOptions) {
		c.Flags().StringVar(&o.Deck, "deck", "", "the code deck's name (required)")
		_ = c.MarkFlagRequired("deck")
		c.PreRunE = func(*cobra.Command, []string) error { // before any service
			if err := catalog.CheckName(o.Deck); err != nil {
				return fmt.Errorf("--deck: %w", err)
			}
			return nil
		}
	}},
	{"ratetables", "ratetables FILE", "Upsert rate tables: name,currency,deck,parent,rates_include_taxes[,notes,src_deck,reseller]", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		ts, err := catalog.ReadRateTables(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportRateTables(ctx, name, ts)
	}, nil},
	{"resellers", "resellers FILE", "Upsert resellers: id,name", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		rs, err := catalog.ReadResellers(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportResellers(ctx, name, rs)
	}, nil},
	{"payments", "payments FILE", "Record payments: client,date,amount,currency,reference (a reference once)", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		ps, err := catalog.ReadPayments(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportPayments(ctx, name, ps)
	}, nil},
	{"rates", "rates --table NAME [--az] FILE", "Upsert rates: code,rate,effective_from,end,increment,setup_fee", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error) {
		if o.Table == "" {
			return postgres.ImportResult{}, fmt.Errorf("%s: name the rate table the rates are for", name)
		}
		rs, err := catalog.ReadRates(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportRates(ctx, name, o.Table, rs, o.AZ)
	}, func(c *cobra.Command, o *console.ImportOptions) {
		c.Flags().StringVar(&o.Table, "table", "", "the rate table (required)")
		c.Flags().BoolVar(&o.AZ, "az", false, "the file is the whole table: end rates of codes absent from it at its earliest effective_from")
		_ = c.MarkFlagRequired("table")
	}},
	{"clients", "clients FILE", "Upsert clients", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		cs, err := catalog.ReadClients(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportClients(ctx, name, cs)
	}, nil},
	{"accounts", "accounts FILE", "Upsert accounts: client,kind,value,tech_prefix,rate_table,enabled", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		as, err := catalog.ReadAccounts(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportAccounts(ctx, name, as)
	}, nil},
	{"taxes", "taxes FILE", "Upsert taxes: profile,name,percent", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		ts, err := catalog.ReadTaxes(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportTaxes(ctx, name, ts)
	}, nil},
	{"packages", "packages FILE", "Upsert packages: name,currency,monthly_fee,activation_fee,fees_include_taxes", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		ps, err := catalog.ReadPackages(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportPackages(ctx, name, ps)
	}, nil},
	{"subscriptions", "subscriptions FILE", "Upsert subscriptions: client,package,quantity,start,end", func(ctx context.Context, db *postgres.Store, name string, in io.Reader, _ console.ImportOptions) (postgres.ImportResult, error) {
		ss, err := catalog.ReadSubscriptions(name, in)
		if err != nil {
			return postgres.ImportResult{}, err
		}
		return db.ImportSubscriptions(ctx, name, ss)
	}, nil},
}

// ImportFile applies one master-data file of a kind (as billctl import
// KIND names it), all or nothing: for the console.
func ImportFile(ctx context.Context, db *postgres.Store, kind, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error) {
	for _, k := range importKinds {
		if k.kind == kind {
			return k.run(ctx, db, name, in, o)
		}
	}
	return postgres.ImportResult{}, fmt.Errorf("no import of kind %q", kind)
}

// ImportKinds are the kinds ImportFile takes.
func ImportKinds() []string {
	var names []string
	for _, k := range importKinds {
		names = append(names, k.kind)
	}
	return names
}

func (a *app) importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import master data from CSV files (each file all or nothing)",
	}
	for _, k := range importKinds {
		run := k.run
		var o console.ImportOptions
		c := &cobra.Command{
			Use:   k.use,
			Short: k.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				db, err := a.db(cmd.Context())
				if err != nil {
					return err
				}
				f, err := openFile(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				name := filepath.Base(args[0])
				res, err := run(cmd.Context(), db, name, f, o)
				if err != nil {
					return fmt.Errorf("%w (nothing was imported)", err)
				}
				return a.print(table{
					header: []string{"file", "inserted", "updated", "ended"},
					rows:   [][]string{{name, itoa(res.Inserted), itoa(res.Updated), itoa(res.Ended)}},
					json:   map[string]any{"file": name, "inserted": res.Inserted, "updated": res.Updated, "ended": res.Ended},
				})
			},
		}
		if k.flags != nil {
			k.flags(c, &o)
		}
		cmd.AddCommand(c)
	}
	return cmd
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
