package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/workflows"
)

func (a *app) migrateCmd() *cobra.Command {
	var skipS3, skipTemporal bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Prepare every backing store: database schema, S3 bucket, Temporal search attributes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.db(ctx)
			if err != nil {
				return err
			}
			if err := db.Migrate(ctx); err != nil {
				return err
			}
			fmt.Fprintln(a.err, "database: schema up to date")
			if !skipS3 {
				b, err := a.bucket(ctx)
				if err != nil {
					return err
				}
				if err := b.EnsureBucket(ctx); err != nil {
					return err
				}
				fmt.Fprintf(a.err, "s3: bucket %s ready\n", b.Bucket())
			}
			if !skipTemporal {
				c, err := a.temporalClient(ctx)
				if err != nil {
					return err
				}
				if err := temporalclient.EnsureSearchAttributes(ctx, c, a.cfg.TemporalNamespace, workflows.SearchAttributes()); err != nil {
					return err
				}
				fmt.Fprintf(a.err, "temporal: search attributes ready in namespace %s\n", a.cfg.TemporalNamespace)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&skipS3, "skip-s3", false, "leave the S3 bucket alone")
	cmd.Flags().BoolVar(&skipTemporal, "skip-temporal", false, "leave the Temporal namespace alone")
	return cmd
}
