package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/rating"
)

func (a *app) cdrCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cdr", Short: "Call detail records: upload, ingest, inspect"}
	cmd.AddCommand(a.cdrRateCmd(), a.cdrUploadCmd(), a.cdrIngestCmd(), a.cdrFilesCmd(), a.cdrDuplicatesCmd(), a.cdrArchiveCmd(), a.cdrRestoreCmd())
	return cmd
}

// cdrRateCmd rates a local file against the current master data and prints
// every call, storing nothing: finance's way to try a rate change on
// yesterday's traffic before importing it for real.
func (a *app) cdrRateCmd() *cobra.Command {
	var format, tz string
	cmd := &cobra.Command{
		Use:   "rate FILE",
		Short: "Rate a local CDR file against the current master data and print the calls (stores nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := cdr.ParseFormat(format)
			if err != nil {
				return err
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("--tz: %w", err)
			}
			b, err := a.billing(ctx)
			if err != nil {
				return err
			}
			engine, err := b.Engines.Engine(ctx)
			if err != nil {
				return err
			}
			file, err := openFile(args[0])
			if err != nil {
				return err
			}
			defer file.Close()
			// Read as ingestion reads: gzip by its magic number, a file not in
			// its format refused whole.
			src, err := ingest.NewSource(args[0], file, f, loc, engine)
			if err != nil {
				return err
			}
			type row struct {
				line int64
				cols []string
			}
			var rows []row
			for {
				rec, r, err := src.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				cost := ""
				if r.IsRated() {
					cost = costText(r.Cost)
				}
				rows = append(rows, row{rec.Line, []string{strconv.FormatInt(rec.Line, 10), rec.CallID, rec.ConnectTime.Format(time.RFC3339),
					rec.DstNumber, r.Status, r.Client, r.Code, strconv.FormatInt(r.BilledSeconds, 10), cost, r.Currency}})
			}
			rejects, _ := src.Rejects()
			for _, le := range rejects {
				rows = append(rows, row{le.Line, []string{strconv.FormatInt(le.Line, 10), "", "", "", "rejected: " + le.Reason, "", "", "", "", ""}})
			}
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].line < rows[j].line })
			t := table{header: []string{"line", "call_id", "connect_time", "dst_number", "status", "client", "code", "billed_seconds", "cost", "currency"}}
			for _, r := range rows {
				t.rows = append(t.rows, r.cols)
			}
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&format, "cdr-format", "canonical", "CDR format: canonical, asterisk or freeswitch")
	cmd.Flags().StringVar(&tz, "tz", "UTC", "time zone of naive timestamps in asterisk and freeswitch files")
	return cmd
}

// costText writes a cost in millionths with six places, as rated costs
// are shown everywhere.
func costText(millionths int64) string { return rating.Money(millionths).String() }
