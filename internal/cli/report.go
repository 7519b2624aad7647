package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/report"
)

// dateRange reads --from, --to and --tz: a half-open range of days.
type dateRange struct {
	from, to, tz string
}

func (p *dateRange) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.from, "from", "", "first day, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&p.to, "to", "", "day after the last, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&p.tz, "tz", "UTC", "time zone of the days")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
}

func (p *dateRange) parse() (time.Time, time.Time, *time.Location, error) {
	loc, err := time.LoadLocation(p.tz)
	if err != nil {
		return time.Time{}, time.Time{}, nil, fmt.Errorf("--tz: %w", err)
	}
	from, err := report.ParseDate(p.from, loc)
	if err != nil {
		return time.Time{}, time.Time{}, nil, fmt.Errorf("--from: %w", err)
	}
	to, err := report.ParseDate(p.to, loc)
	if err != nil {
		return time.Time{}, time.Time{}, nil, fmt.Errorf("--to: %w", err)
	}
	if !to.After(from) {
		return time.Time{}, time.Time{}, nil, fmt.Errorf("--to %s is not after --from %s", p.to, p.from)
	}
	return from, to, loc, nil
}

func (a *app) reportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Statistics: summary, mismatches, reconciliation"}
	cmd.AddCommand(a.summaryCmd(), a.mismatchesCmd(), a.reconcileCmd())
	return cmd
}

// resellerClients are the clients of --reseller, nil when it is not given.
func (a *app) resellerClients(ctx context.Context, reseller string) ([]string, error) {
	if reseller == "" {
		return nil, nil
	}
	b, err := a.reports(ctx)
	if err != nil {
		return nil, err
	}
	return b.ClientsOf(ctx, reseller)
}

func (a *app) summaryCmd() *cobra.Command {
	var p dateRange
	var groupBy, reseller string
	cmd := &cobra.Command{
		Use:   "summary --from DATE --to DATE [--group-by client,account,dst_code,dst_name,src_name,day,month,currency] [--reseller ID]",
		Short: "Rated calls, billed seconds and amounts per group (mismatched calls are not in it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, to, loc, err := p.parse()
			if err != nil {
				return err
			}
			keys, err := report.ParseGroupBy(groupBy)
			if err != nil {
				return err
			}
			b, err := a.reports(cmd.Context())
			if err != nil {
				return err
			}
			clients, err := a.resellerClients(cmd.Context(), reseller)
			if err != nil {
				return err
			}
			rows, err := b.Summary(cmd.Context(), report.Summary{From: from, To: to, GroupBy: keys, Location: loc, Clients: clients})
			if err != nil {
				return err
			}
			t := table{}
			for _, k := range keys {
				t.header = append(t.header, string(k))
			}
			t.header = append(t.header, "calls", "billed_seconds", "amount", "currency")
			doc := make([]map[string]any, 0, len(rows))
			for _, r := range rows {
				line := append(append([]string{}, r.Values...), itoa(r.Calls), itoa(r.BilledSeconds), r.Amount.StringFixed(6), r.Currency)
				t.rows = append(t.rows, line)
				obj := map[string]any{"calls": r.Calls, "billed_seconds": r.BilledSeconds, "amount": r.Amount.StringFixed(6), "currency": r.Currency}
				for i, k := range keys {
					obj[string(k)] = r.Values[i]
				}
				doc = append(doc, obj)
			}
			t.json = doc
			return a.print(t)
		},
	}
	p.flags(cmd)
	cmd.Flags().StringVar(&groupBy, "group-by", "client", "comma-separated keys: client,account,dst_code,dst_name,src_name,day,month,currency")
	cmd.Flags().StringVar(&reseller, "reseller", "", "only the calls of this reseller's clients")
	return cmd
}

func (a *app) reconcileCmd() *cobra.Command {
	var month, client, reseller string
	cmd := &cobra.Command{
		Use:     "reconcile --period YYYY-MM [--client ID]",
		Example: `  billctl report reconcile --period 2026-10 --client acme`,
		Short:   "Every call of each client's period by reason: mismatched, other currency, not payable, adjustment due, not invoiced, invoiced",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := period.Parse(month)
			if err != nil {
				return fmt.Errorf("--period: %w", err)
			}
			b, err := a.reports(cmd.Context())
			if err != nil {
				return err
			}
			rows, err := b.Reconcile(cmd.Context(), m, client)
			if err != nil {
				return err
			}
			if clients, err := a.resellerClients(cmd.Context(), reseller); err != nil {
				return err
			} else if clients != nil {
				rows = slices.DeleteFunc(rows, func(r report.ReconcileRow) bool { return !slices.Contains(clients, r.Client) })
			}
			return a.print(reasonTable(rows, true))
		},
	}
	cmd.Flags().StringVar(&month, "period", "", "the month, YYYY-MM (required)")
	cmd.Flags().StringVar(&client, "client", "", "one client only")
	cmd.Flags().StringVar(&reseller, "reseller", "", "only this reseller's clients")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

func (a *app) mismatchesCmd() *cobra.Command {
	var p dateRange
	var details bool
	var limit int
	cmd := &cobra.Command{
		Use:   "mismatches --from DATE --to DATE [--details]",
		Short: "Calls an invoice would miss: unknown_account, no_rate_table, unknown_destination, deleted_rate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, to, _, err := p.parse()
			if err != nil {
				return err
			}
			b, err := a.reports(cmd.Context())
			if err != nil {
				return err
			}
			if details {
				ds, total, err := b.MismatchDetails(cmd.Context(), from, to, limit)
				if err != nil {
					return err
				}
				t := table{header: []string{"category", "client", "connect_time", "orig_ip", "orig_account", "src", "dst", "file", "line"}}
				for _, d := range ds {
					t.rows = append(t.rows, []string{d.Category, d.Client, d.ConnectTime.UTC().Format(time.RFC3339), d.OrigIP, d.OrigAccount,
						d.SrcNumber, d.DstNumber, d.File, strconv.FormatInt(d.Line, 10)})
				}
				t.json = map[string]any{"total": total, "shown": len(ds), "cdrs": ds}
				if err := a.print(t); err != nil {
					return err
				}
				if a.format == "table" && total > int64(len(ds)) {
					fmt.Fprintf(a.out, "(%d of %d mismatched calls shown; --limit for more)\n", len(ds), total)
				}
				return nil
			}
			rows, err := b.Mismatches(cmd.Context(), from, to)
			if err != nil {
				return err
			}
			t := table{header: []string{"category", "client", "calls", "seconds"}}
			for _, r := range rows {
				t.rows = append(t.rows, []string{r.Category, r.Client, itoa(r.Calls), itoa(r.Seconds)})
			}
			return a.print(t)
		},
	}
	p.flags(cmd)
	cmd.Flags().BoolVar(&details, "details", false, "list the mismatched calls")
	cmd.Flags().IntVar(&limit, "limit", 100, "with --details: at most this many calls")
	return cmd
}
