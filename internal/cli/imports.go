package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/postgres"
)

// importer reads one kind of file and applies it in one transaction.
type importer func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error)

func (a *app) importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import master data from CSV files (each file all or nothing)",
	}
	var deck, rateTable string
	var az bool
	kinds := []struct {
		use, short string
		run        importer
		flags      func(*cobra.Command)
	}{
		{"codedeck --deck NAME FILE", "Upsert code deck entries: code,name,country", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			es, err := catalog.ReadCodeDeck(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportCodeDeck(ctx, name, deck, es)
		}, func(c *cobra.Command) {
			c.Flags().StringVar(&deck, "deck", "", "the code deck's name (required)")
			_ = c.MarkFlagRequired("deck")
			c.PreRunE = func(*cobra.Command, []string) error { // before any service
				if err := catalog.CheckName(deck); err != nil {
					return fmt.Errorf("--deck: %w", err)
				}
				return nil
			}
		}},
		{"ratetables FILE", "Upsert rate tables: name,currency,deck,parent,rates_include_taxes[,notes,src_deck,reseller]", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			ts, err := catalog.ReadRateTables(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportRateTables(ctx, name, ts)
		}, nil},
		{"resellers FILE", "Upsert resellers: id,name", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			rs, err := catalog.ReadResellers(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportResellers(ctx, name, rs)
		}, nil},
		{"payments FILE", "Record payments: client,date,amount,currency,reference (a reference once)", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			ps, err := catalog.ReadPayments(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportPayments(ctx, name, ps)
		}, nil},
		{"rates --table NAME [--az] FILE", "Upsert rates: code,rate,effective_from,end,increment,setup_fee", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			rs, err := catalog.ReadRates(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportRates(ctx, name, rateTable, rs, az)
		}, func(c *cobra.Command) {
			c.Flags().StringVar(&rateTable, "table", "", "the rate table (required)")
			c.Flags().BoolVar(&az, "az", false, "the file is the whole table: end rates of codes absent from it at its earliest effective_from")
			_ = c.MarkFlagRequired("table")
		}},
		{"clients FILE", "Upsert clients", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			cs, err := catalog.ReadClients(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportClients(ctx, name, cs)
		}, nil},
		{"accounts FILE", "Upsert accounts: client,kind,value,tech_prefix,rate_table,enabled", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			as, err := catalog.ReadAccounts(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportAccounts(ctx, name, as)
		}, nil},
		{"taxes FILE", "Upsert taxes: profile,name,percent", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			ts, err := catalog.ReadTaxes(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportTaxes(ctx, name, ts)
		}, nil},
		{"packages FILE", "Upsert packages: name,currency,monthly_fee,activation_fee,fees_include_taxes", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			ps, err := catalog.ReadPackages(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportPackages(ctx, name, ps)
		}, nil},
		{"subscriptions FILE", "Upsert subscriptions: client,package,quantity,start,end", func(ctx context.Context, db *postgres.Store, name string, in io.Reader) (postgres.ImportResult, error) {
			ss, err := catalog.ReadSubscriptions(name, in)
			if err != nil {
				return postgres.ImportResult{}, err
			}
			return db.ImportSubscriptions(ctx, name, ss)
		}, nil},
	}
	for _, k := range kinds {
		run := k.run
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
				res, err := run(cmd.Context(), db, name, f)
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
			k.flags(c)
		}
		cmd.AddCommand(c)
	}
	return cmd
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
