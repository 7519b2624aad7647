package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/readiness"
)

func (a *app) checkCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "check", Short: "Checks before a bill run"}
	var month, clientID string
	ready := &cobra.Command{
		Use:     "readiness --period YYYY-MM [--client ID]",
		Example: `  billctl check readiness --period 2026-10 || echo "not ready: exit 1"`,
		Short:   "Is every client ready to invoice? Exits 1 when a check finds an error (billing-rules §6)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := parseMonth(month)
			if err != nil {
				return err
			}
			b, err := a.billing(cmd.Context())
			if err != nil {
				return err
			}
			fs, err := b.Readiness(cmd.Context(), p, readiness.Scope{Client: clientID})
			if err != nil {
				return err
			}
			t := table{header: []string{"severity", "client", "check", "message"}, json: map[string]any{"period": month, "findings": fs, "ready": !readiness.HasErrors(fs)}}
			for _, f := range fs {
				t.rows = append(t.rows, []string{string(f.Severity), f.Client, f.Check, f.Message})
			}
			if err := a.print(t); err != nil {
				return err
			}
			if readiness.HasErrors(fs) {
				fmt.Fprintf(a.err, "billctl: %s is not ready to invoice: fix the errors above\n", month)
				return exitError(exitFindings)
			}
			if a.format == "table" && len(fs) == 0 {
				fmt.Fprintf(a.out, "%s is ready to invoice\n", month)
			}
			return nil
		},
	}
	ready.Flags().StringVar(&month, "period", "", "the month, YYYY-MM (required)")
	ready.Flags().StringVar(&clientID, "client", "", "only this client")
	_ = ready.MarkFlagRequired("period")
	cmd.AddCommand(ready)
	return cmd
}
