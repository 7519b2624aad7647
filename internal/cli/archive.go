package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/workflows"
)

// cdrArchiveCmd moves the calls of months before a month to S3.
func (a *app) cdrArchiveCmd() *cobra.Command {
	var before string
	var wait bool
	cmd := &cobra.Command{
		Use:     "archive --before YYYY-MM [--wait]",
		Example: `  billctl cdr archive --before 2026-10 --wait`,
		Short:   "Move the calls of every month before a month to S3 (gzipped CSV a day) and out of the database",
		Long: `Each month's calls are written to the bucket under archive/cdrs/YYYY-MM/, a file a
day, read back and checked, then the month's partitions are dropped. A month with
draft invoices or notes, inbox files not ingested or a running rerate stays, and
is reported. Invoices, notes and bill run records stay. billctl cdr restore brings
a month back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := period.Parse(before)
			if err != nil {
				return fmt.Errorf("--before: %w", err)
			}
			c, err := a.workflows(cmd.Context())
			if err != nil {
				return err
			}
			run, err := workflows.StartArchive(cmd.Context(), c, workflows.ArchiveInput{Before: m})
			if err != nil {
				return fmt.Errorf("start archive: %w", err)
			}
			return a.archiveResult(cmd, c, run, wait, "archive")
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "archive the months before this one (YYYY-MM)")
	_ = cmd.MarkFlagRequired("before")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run and print what it archived")
	return cmd
}

// cdrRestoreCmd brings an archived month's calls back, for rerating.
func (a *app) cdrRestoreCmd() *cobra.Command {
	var month string
	var wait bool
	cmd := &cobra.Command{
		Use:     "restore --period YYYY-MM [--wait]",
		Example: `  billctl cdr restore --period 2026-09 --wait && billctl rerate --from 2026-09-01 --to 2026-10-01`,
		Short:   "Bring an archived month's calls back into the database",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := period.Parse(month)
			if err != nil {
				return fmt.Errorf("--period: %w", err)
			}
			c, err := a.workflows(cmd.Context())
			if err != nil {
				return err
			}
			run, err := workflows.StartRestore(cmd.Context(), c, m)
			if err != nil {
				return fmt.Errorf("start restore: %w", err)
			}
			return a.archiveResult(cmd, c, run, wait, "restore")
		},
	}
	cmd.Flags().StringVar(&month, "period", "", "the month to restore (YYYY-MM)")
	_ = cmd.MarkFlagRequired("period")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run and print what it restored")
	return cmd
}

// archiveResult prints the run, or waits for it and prints each month's
// outcome; a refused month makes the command fail.
func (a *app) archiveResult(cmd *cobra.Command, c workflows.Client, run client.WorkflowRun, wait bool, what string) error {
	fmt.Fprintf(a.err, "%s %s%s\n", what, run.GetID(), a.uiLink(run.GetID()))
	if !wait {
		return a.printRun(run.GetID())
	}
	if err := a.awaitWorker(cmd.Context(), c); err != nil {
		return err
	}
	var res workflows.ArchiveResult
	if err := run.Get(cmd.Context(), &res); err != nil {
		return fmt.Errorf("%s %s: %s", what, run.GetID(), workflows.Reason(err))
	}
	if len(res.Months) == 0 {
		fmt.Fprintf(a.err, "no month to %s\n", what)
	}
	t := table{header: []string{"month", "days", "calls", "bytes", "refused"}}
	months := make([]map[string]any, 0, len(res.Months))
	refused := 0
	for _, m := range res.Months {
		t.rows = append(t.rows, []string{m.Month, itoa(int64(m.Days)), itoa(m.Calls), itoa(m.Bytes), m.Refused})
		months = append(months, map[string]any{"month": m.Month, "days": m.Days, "calls": m.Calls, "bytes": m.Bytes, "refused": m.Refused})
		if m.Refused != "" {
			refused++
		}
	}
	t.json = map[string]any{"run": run.GetID(), "months": months}
	if err := a.print(t); err != nil {
		return err
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d months refused", refused, len(res.Months))
	}
	return nil
}
