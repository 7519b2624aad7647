package cli

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
)

func (a *app) cdrCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cdr", Short: "Call detail records: upload, ingest, inspect"}
	cmd.AddCommand(a.cdrRateCmd(), a.cdrUploadCmd(), a.cdrIngestCmd(), a.cdrFilesCmd())
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
			db, err := a.db(ctx)
			if err != nil {
				return err
			}
			engine, err := db.Engine(ctx)
			if err != nil {
				return err
			}
			file, err := openFile(args[0])
			if err != nil {
				return err
			}
			defer file.Close()
			var in io.Reader = file
			if strings.HasSuffix(args[0], ".gz") {
				gz, err := gzip.NewReader(file)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				in = gz
			}
			t := table{header: []string{"line", "call_id", "connect_time", "dst_number", "status", "client", "code", "billed_seconds", "cost", "currency"}}
			r := cdr.NewReader(in, f, cdr.Options{Location: loc})
			for {
				var rec cdr.Record
				err := r.Read(&rec)
				var le *cdr.LineError
				if errors.As(err, &le) {
					t.rows = append(t.rows, []string{strconv.FormatInt(le.Line, 10), "", "", "", "rejected: " + le.Reason, "", "", "", "", ""})
					continue
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				res := engine.Rate(&rating.CDR{ConnectTime: rec.ConnectTime, Duration: rec.Duration, OrigIP: rec.OrigIP,
					OrigAccount: rec.OrigAccount, SrcNumber: rec.SrcNumber, DstNumber: rec.DstNumber})
				cost := ""
				if res.Status == rating.Rated {
					cost = res.Cost.String()
				}
				t.rows = append(t.rows, []string{strconv.FormatInt(rec.Line, 10), rec.CallID, rec.ConnectTime.Format(time.RFC3339),
					rec.DstNumber, res.Status.String(), res.Client, res.Code, strconv.FormatInt(res.BilledSeconds, 10), cost, res.Currency})
			}
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&format, "cdr-format", "canonical", "CDR format: canonical, asterisk or freeswitch")
	cmd.Flags().StringVar(&tz, "tz", "UTC", "time zone of naive timestamps in asterisk and freeswitch files")
	return cmd
}
