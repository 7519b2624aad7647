package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/billing"
)

// dayFlag parses a YYYY-MM-DD flag.
func dayFlag(name, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q is not a date YYYY-MM-DD", name, v)
	}
	return t, nil
}

func (a *app) clientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Clients' accounts: balances and statements"}
	var client, at, reseller string
	balance := &cobra.Command{
		Use:   "balance [--client ID] [--at DATE]",
		Short: "What each client owes at the start of a day (default tomorrow in the client's time zone: today included), aged by days past due",
		Example: `  billctl client balance                      # every client, today's documents and payments included
  billctl client balance --client acme --at 2026-12-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := a.billing(cmd.Context())
			if err != nil {
				return err
			}
			var when time.Time // each client's tomorrow in its own zone
			if at != "" {
				if when, err = dayFlag("at", at); err != nil {
					return err
				}
			}
			if err := a.knownReseller(cmd.Context(), reseller); err != nil {
				return err
			}
			bs, err := svc.Balances(cmd.Context(), client, when)
			if err != nil {
				return err
			}
			if reseller != "" {
				bs = slices.DeleteFunc(bs, func(b billing.Balance) bool { return b.Reseller != reseller })
			}
			return a.print(balanceTable(bs))
		},
	}
	balance.Flags().StringVar(&client, "client", "", "one client")
	balance.Flags().StringVar(&reseller, "reseller", "", "only this reseller's clients")
	balance.Flags().StringVar(&at, "at", "", "the balance at the start of this day, YYYY-MM-DD")
	var sClient, from, to, out string
	statement := &cobra.Command{
		Use:   "statement --client ID --from DATE --to DATE [--out DIR]",
		Short: "A client's statement of account over [from, to): invoices, notes and payments with a running balance, as PDF and CSV in the bucket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := dayFlag("from", from)
			if err != nil {
				return err
			}
			t, err := dayFlag("to", to)
			if err != nil {
				return err
			}
			if !t.After(f) {
				return fmt.Errorf("--to %s is not after --from %s", to, from)
			}
			svc, err := a.billing(cmd.Context())
			if err != nil {
				return err
			}
			st, docs, err := svc.Statement(cmd.Context(), sClient, f, t)
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				for _, k := range []string{"pdf", "csv"} {
					path := filepath.Join(out, fmt.Sprintf("statement-%s-%s.%s", sClient, from, k))
					if err := a.saveObject(cmd.Context(), docs[k], path); err != nil {
						return err
					}
					fmt.Fprintln(a.err, path)
				}
			}
			tb := table{header: []string{"date", "kind", "reference", "due_date", "amount", "balance"}}
			lines := []map[string]any{}
			add := func(date, kind, ref, due, amount, bal string) {
				tb.rows = append(tb.rows, []string{date, kind, ref, due, amount, bal})
				lines = append(lines, map[string]any{"date": date, "kind": kind, "reference": ref, "due_date": due, "amount": amount, "balance": bal})
			}
			add(from, "opening_balance", "", "", "", st.Opening.StringFixed(2))
			for _, l := range st.Lines {
				due := ""
				if l.Amount.IsPositive() {
					due = l.Due.Format(time.DateOnly)
				}
				add(l.Date.Format(time.DateOnly), l.Kind, l.Reference, due, l.Amount.StringFixed(2), l.Balance.StringFixed(2))
			}
			add(t.AddDate(0, 0, -1).Format(time.DateOnly), "closing_balance", "", "", "", st.Closing.StringFixed(2))
			tb.json = map[string]any{"client": st.Client, "currency": st.Currency, "from": from, "to": to,
				"opening_balance": st.Opening.StringFixed(2), "closing_balance": st.Closing.StringFixed(2), "lines": lines, "documents": docs}
			if a.format == "table" {
				fmt.Fprintf(a.err, "statement of %s (%s) in %s: %s, %s\n", st.Name, st.Client, st.Currency, docs["pdf"], docs["csv"])
			}
			return a.print(tb)
		},
	}
	statement.Flags().StringVar(&sClient, "client", "", "the client (required)")
	statement.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD (required)")
	statement.Flags().StringVar(&to, "to", "", "the day after the last, YYYY-MM-DD (required)")
	statement.Flags().StringVar(&out, "out", "", "also copy the PDF and CSV into this folder")
	for _, f := range []string{"client", "from", "to"} {
		_ = statement.MarkFlagRequired(f)
	}
	cmd.AddCommand(balance, statement)
	return cmd
}

func balanceTable(bs []billing.Balance) table {
	t := table{header: []string{"client", "currency", "balance", "current", "days_1_30", "days_31_60", "days_61_90", "over_90", "credit_limit", "over_limit"}}
	for _, b := range bs {
		limit := ""
		if b.CreditLimit != nil {
			limit = b.CreditLimit.StringFixed(2)
		}
		over := ""
		if b.OverLimit {
			over = "yes"
		}
		t.rows = append(t.rows, []string{b.Client, b.Currency, b.Balance.StringFixed(2), b.Current.StringFixed(2), b.Days1to30.StringFixed(2),
			b.Days31to60.StringFixed(2), b.Days61to90.StringFixed(2), b.Over90.StringFixed(2), limit, over})
	}
	return t
}

// saveObject copies the object at uri, in billrun's bucket, to path.
func (a *app) saveObject(ctx context.Context, uri, path string) error {
	b, err := a.bucket(ctx)
	if err != nil {
		return err
	}
	body, _, err := b.Open(ctx, strings.TrimPrefix(uri, "s3://"+b.Bucket()+"/"))
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
