package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/catalog"
)

func (a *app) ratesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rates", Short: "Rates beyond imports"}
	var table, code, from string
	del := &cobra.Command{
		Use:   "delete --table NAME --code CODE [--effective-from TIME]",
		Short: "Delete a code's rates softly: calls they rated show as deleted_rate until rerated",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var at time.Time
			if from != "" {
				var ok bool
				if at, ok = catalog.ParseInstant(from); !ok {
					return fmt.Errorf("--effective-from %q is not a time", from)
				}
			}
			db, err := a.db(cmd.Context())
			if err != nil {
				return err
			}
			n, err := db.DeleteRate(cmd.Context(), table, code, at)
			if err != nil {
				return err
			}
			return a.print(table2(table, code, n))
		},
	}
	del.Flags().StringVar(&table, "table", "", "rate table (required)")
	del.Flags().StringVar(&code, "code", "", "destination code (required)")
	del.Flags().StringVar(&from, "effective-from", "", "only the version in force from this instant")
	_ = del.MarkFlagRequired("table")
	_ = del.MarkFlagRequired("code")
	cmd.AddCommand(del, a.ratesExportCmd())
	return cmd
}

func table2(name, code string, n int64) table {
	return table{header: []string{"table", "code", "deleted"}, rows: [][]string{{name, code, itoa(n)}},
		json: map[string]any{"table": name, "code": code, "deleted": n}}
}
