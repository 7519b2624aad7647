package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/converter"

	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rerate"
	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/workflows"
)

func (a *app) rerateCmd() *cobra.Command {
	var p dateRange
	var clientID, match string
	var wait bool
	var concurrency int
	cmd := &cobra.Command{
		Use: "rerate --from DATE --to DATE [--client ID] [--match all|matched|mismatched|stale] [--wait]",
		Example: `  billctl rerate --from 2026-10-01 --to 2026-11-01 --wait
  billctl rerate --from 2026-10-01 --to 2026-11-01 --client acme --match mismatched`,
		Short: "Recompute account match, rate and cost of the selected calls (billing-rules §4)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			from, to, _, err := p.parse()
			if err != nil {
				return err
			}
			m, ok := rerate.ParseMatch(match)
			if !ok {
				return fmt.Errorf("--match %q: want all, matched, mismatched or stale", match)
			}
			if err := a.knownClient(ctx, clientID); err != nil {
				return err
			}
			c, err := a.workflows(ctx)
			if err != nil {
				return err
			}
			in := workflows.RerateInput{From: from, To: to, Client: clientID, Match: m, Concurrency: concurrency}
			run, err := workflows.StartRerate(ctx, c, in, time.Now())
			if err != nil {
				return fmt.Errorf("start rerate: %w", err)
			}
			fmt.Fprintf(a.err, "rerate %s: %d days%s\n", run.GetID(), len(workflows.Days(from.UTC(), to.UTC())), a.uiLink(run.GetID()))
			if !wait {
				return a.print(table{header: []string{"run"}, rows: [][]string{{run.GetID()}}, json: map[string]string{"run": run.GetID()}})
			}
			if err := a.awaitWorker(ctx, c); err != nil {
				return err
			}
			var res workflows.RerateResult
			err = a.watch(ctx, c, run, len(workflows.Days(from.UTC(), to.UTC())), "rerating", workflows.RerateProgressQuery, &res,
				func(q converter.EncodedValue) (int, string) {
					var pr workflows.RerateProgress
					if q.Get(&pr) != nil {
						return -1, ""
					}
					return pr.DaysDone, fmt.Sprintf("rerating: %d calls examined, %d changed", pr.Examined, pr.Changed)
				})
			if err != nil {
				return fmt.Errorf("rerate %s: %s", run.GetID(), workflows.Reason(err))
			}
			return a.printRerate(ctx, run.GetID(), res)
		},
	}
	cmd.AddCommand(a.rerateReleaseCmd(), a.rerateShowCmd())
	p.flags(cmd)
	cmd.Flags().StringVar(&clientID, "client", "", "only this client's calls")
	cmd.Flags().StringVar(&match, "match", "all", "calls to revisit: all, matched, mismatched or stale (rated before their rating data last changed)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run and print its figures")
	cmd.Flags().IntVar(&concurrency, "concurrency", workflows.DefaultRerateConcurrency, "days rerated at once")
	return cmd
}

// printRerate prints a finished run's figures and, read back from
// PostgreSQL, what it changed (a run from before they were kept there
// carries them in its result).
func (a *app) printRerate(ctx context.Context, id string, r workflows.RerateResult) error {
	if len(r.Differences) == 0 && len(r.Adjustments) == 0 {
		b, err := a.billing(ctx)
		if err != nil {
			return err
		}
		if r.Differences, r.Adjustments, err = b.RerateChanges(ctx, id); err != nil {
			return err
		}
	}
	return a.printRerateFigures(id, "", r.Summary)
}

func (a *app) printRerateFigures(id, state string, r rerate.Summary) error {
	money := func(m rating.Money) string { return m.String() }
	diffs := make([]map[string]string, 0, len(r.Differences))
	for _, d := range r.Differences {
		diffs = append(diffs, map[string]string{"client": d.Client, "currency": d.Currency, "difference": money(d.Amount)})
	}
	adjs := make([]map[string]string, 0, len(r.Adjustments))
	for _, ad := range r.Adjustments {
		adjs = append(adjs, map[string]string{"invoice": ad.Invoice.ID, "number": ad.Invoice.Number, "client": ad.Invoice.Client,
			"currency": ad.Invoice.Currency, "adjustment_due": money(ad.Amount)})
	}
	t := table{
		header: []string{"run", "examined", "changed", "newly_matched", "newly_mismatched", "still_mismatched"},
		rows:   [][]string{{id, itoa(r.Examined), itoa(r.Changed), itoa(r.NewlyMatched), itoa(r.NewlyMismatched), itoa(r.StillMismatched)}},
		json: map[string]any{"run": id, "examined": r.Examined, "changed": r.Changed, "newly_matched": r.NewlyMatched,
			"newly_mismatched": r.NewlyMismatched, "still_mismatched": r.StillMismatched, "differences": diffs, "adjustments_due": adjs},
	}
	if state != "" {
		t.header = append(t.header, "state")
		t.rows[0] = append(t.rows[0], state)
		t.json.(map[string]any)["state"] = state
	}
	if err := a.print(t); err != nil || a.format == "json" {
		return err
	}
	d := table{header: []string{"client", "currency", "difference"}}
	for _, x := range diffs {
		d.rows = append(d.rows, []string{x["client"], x["currency"], x["difference"]})
	}
	if len(d.rows) > 0 {
		fmt.Fprintln(a.out)
		if err := a.print(d); err != nil {
			return err
		}
	}
	if len(adjs) > 0 {
		j := table{header: []string{"invoice", "client", "currency", "adjustment_due"}}
		for _, x := range adjs {
			j.rows = append(j.rows, []string{x["number"], x["client"], x["currency"], x["adjustment_due"]})
		}
		fmt.Fprintln(a.out)
		return a.print(j)
	}
	return nil
}

// rerateShowCmd prints a rerate run as PostgreSQL keeps it: a finished
// run's figures, and what the days it finished changed, whatever became of
// its workflow.
func (a *app) rerateShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN_ID",
		Short: "A rerate run's state, figures, cost differences by client and adjustments due, read from the database (a failed run's finished days included)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := a.billing(cmd.Context())
			if err != nil {
				return err
			}
			r, err := b.RerateRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printRerateFigures(r.ID, r.State, r.Summary)
		},
	}
}

// rerateReleaseCmd frees the period of a rerate run that ended without
// saying so (terminated from the Temporal UI), so that a new run may start.
func (a *app) rerateReleaseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "release RUN_ID",
		Short: "Free the period of a rerate run that was terminated; refused while the run is running",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.temporalClient(ctx)
			if err != nil {
				return err
			}
			open, err := temporalclient.Runs{Client: c}.Open(ctx, args[0])
			if err != nil {
				return fmt.Errorf("rerate run %s: %w", args[0], err)
			}
			if open {
				return fmt.Errorf("rerate run %s is running: cancel it instead", args[0])
			}
			b, err := a.billing(ctx)
			if err != nil {
				return err
			}
			if err := b.ReleaseRerate(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.err, "rerate run %s released\n", args[0])
			return nil
		},
	}
}
