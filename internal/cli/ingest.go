package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/blob"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/workflows"
)

// eitherFormat is cdr upload's --format: a CDR format, as it always was,
// or an output format; the two sets of names do not overlap.
type eitherFormat struct{ cdr, out *string }

func (f eitherFormat) String() string { return *f.cdr }
func (f eitherFormat) Type() string   { return "format" }
func (f eitherFormat) Set(v string) error {
	switch v {
	case "table", "json", "csv":
		*f.out = v
	default:
		*f.cdr = v
	}
	return nil
}

func (a *app) cdrUploadCmd() *cobra.Command {
	format := string(cdr.Canonical)
	cmd := &cobra.Command{
		Use:   "upload [--cdr-format canonical|asterisk|freeswitch] FILE...",
		Short: "Put CDR files (plain or .gz) into the S3 inbox",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := cdr.ParseFormat(format)
			if err != nil {
				return err
			}
			b, err := a.bucket(ctx)
			if err != nil {
				return err
			}
			t := table{header: []string{"file", "key", "etag"}}
			for _, name := range args {
				file, err := openFile(name)
				if err != nil {
					return err
				}
				if err := blob.CheckName(filepath.Base(name)); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				key := billing.InboxKey(f, filepath.Base(name))
				etag, err := b.Upload(ctx, key, file, "text/csv")
				file.Close()
				if err != nil {
					return err
				}
				t.rows = append(t.rows, []string{name, key, etag})
			}
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&format, "cdr-format", format, "CDR format: canonical, asterisk or freeswitch")
	cmd.Flags().Var(eitherFormat{cdr: &format, out: &a.format}, "format",
		"a CDR format (as --cdr-format) or an output format: table, json or csv")
	cmd.Example = `  billctl cdr upload --cdr-format asterisk /var/log/asterisk/cdr-csv/Master.csv
  billctl --format json cdr upload october.csv.gz
  billctl cdr upload --format freeswitch --format json Master.csv   # both: the names do not overlap`
	return cmd
}

func (a *app) cdrIngestCmd() *cobra.Command {
	var wait bool
	var concurrency int
	var tz string
	cmd := &cobra.Command{
		Use:     "ingest [--wait]",
		Example: `  billctl cdr upload cdrs-2026-10-*.csv.gz && billctl cdr ingest --wait`,
		Short:   "Start ingestion of every inbox file not yet ingested",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			b, err := a.billing(ctx)
			if err != nil {
				return err
			}
			inst, bucket, pending, err := b.IngestionKey(ctx)
			if err != nil {
				return err
			}
			if len(pending) == 0 {
				fmt.Fprintln(a.err, "nothing to ingest: every inbox file is ingested")
				return a.printIngest(workflows.IngestProgress{}, "")
			}
			c, err := a.workflows(ctx)
			if err != nil {
				return err
			}
			run, err := workflows.StartIngest(ctx, c, inst, bucket, pending, workflows.IngestInput{Concurrency: concurrency, TimeZone: tz})
			if err != nil { // a listing already run returns that run: no duplicate
				return fmt.Errorf("start ingestion: %w", err)
			}
			fmt.Fprintf(a.err, "ingestion %s: %d files%s\n", run.GetID(), len(pending), a.uiLink(run.GetID()))
			if !wait {
				return a.printIngest(workflows.IngestProgress{FilesPending: len(pending)}, run.GetID())
			}
			if err := a.awaitWorker(ctx, c); err != nil {
				return err
			}
			p, err := a.follow(ctx, c, run, len(pending))
			if err != nil {
				return err
			}
			if err := a.printIngest(p, run.GetID()); err != nil {
				return err
			}
			if p.FilesFailed > 0 {
				return fmt.Errorf("%d of %d files failed; see billctl cdr files --status failed", p.FilesFailed, len(pending))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run and show its progress")
	cmd.Flags().IntVar(&concurrency, "concurrency", workflows.DefaultIngestConcurrency, "files ingested at once")
	cmd.Flags().StringVar(&tz, "tz", "", "time zone of naive timestamps in asterisk and freeswitch files (default UTC)")
	return cmd
}

// follow shows the ingestion's progress until it ends and returns its result.
func (a *app) follow(ctx context.Context, c workflows.Client, run client.WorkflowRun, files int) (workflows.IngestProgress, error) {
	var p workflows.IngestProgress
	err := a.watch(ctx, c, run, files, "ingesting", workflows.IngestProgressQuery, &p, func(q converter.EncodedValue) (int, string) {
		var cur workflows.IngestProgress
		if q.Get(&cur) != nil {
			return -1, ""
		}
		return cur.FilesDone + cur.FilesSkipped + cur.FilesFailed, fmt.Sprintf("ingesting: %d CDRs, %d rejected lines, %d duplicates", cur.CDRs, cur.Rejected, cur.Duplicates)
	})
	return p, err
}

// watch waits for run's result, drawing a progress bar of total steps on a
// terminal from the run's query: progress returns the steps done (-1 when
// unknown) and a description.
func (a *app) watch(ctx context.Context, c workflows.Client, run client.WorkflowRun, total int, what, query string, result any,
	progress func(converter.EncodedValue) (int, string)) error {
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(a.err), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetVisibility(isTerminal(a.err)))
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, result) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			_ = bar.Finish()
			return err
		case <-tick.C:
			q, err := c.QueryWorkflow(ctx, run.GetID(), "", query)
			if err != nil {
				continue // between runs of continue-as-new
			}
			if n, desc := progress(q); n >= 0 {
				bar.Describe(desc)
				_ = bar.Set(n)
			}
		}
	}
}

func (a *app) printIngest(p workflows.IngestProgress, id string) error {
	t := table{
		header: []string{"run", "files_done", "files_skipped", "files_failed", "files_pending", "cdrs", "rejected", "duplicates", "months"},
		rows: [][]string{{id, strconv.Itoa(p.FilesDone), strconv.Itoa(p.FilesSkipped), strconv.Itoa(p.FilesFailed),
			strconv.Itoa(p.FilesPending), itoa(p.CDRs), itoa(p.Rejected), itoa(p.Duplicates), strings.Join(period.Strings(p.Months), " ")}},
		json: map[string]any{"run": id, "files_done": p.FilesDone, "files_skipped": p.FilesSkipped, "files_failed": p.FilesFailed,
			"files_pending": p.FilesPending, "cdrs": p.CDRs, "rejected": p.Rejected, "duplicates": p.Duplicates, "months": p.Months, "failures": p.Failures},
	}
	if err := a.print(t); err != nil {
		return err
	}
	if a.format == "table" {
		for _, f := range p.Failures {
			fmt.Fprintf(a.out, "failed: %s: %s\n", f.Key, f.Reason)
		}
	}
	return nil
}

func (a *app) cdrFilesCmd() *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:   "files [--status pending|ingesting|ingested|failed]",
		Short: "Every inbox file: status, CDRs, rejected lines, failure reason",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			b, err := a.billing(ctx)
			if err != nil {
				return err
			}
			files, err := b.Inbox(ctx)
			if err != nil {
				return err
			}
			t := table{header: []string{"key", "status", "cdrs", "rejected", "duplicates", "reason"}}
			for _, f := range files {
				if status != "" && f.Status != status {
					continue
				}
				t.rows = append(t.rows, []string{f.Key, f.Status, itoa(f.CDRs), itoa(f.Rejected), itoa(f.Duplicates), f.Reason})
			}
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only files in this status")
	return cmd
}

// isTerminal reports whether w is a terminal: a progress bar is drawn only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (a *app) cdrDuplicatesCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "duplicates --file KEY",
		Short: "The calls of a file not stored as duplicates, each with the file that first had it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			b, err := a.billing(ctx)
			if err != nil {
				return err
			}
			dups, err := b.Duplicates(ctx, key)
			if err != nil {
				return err
			}
			t := table{header: []string{"line", "call_id", "connect_time", "src_number", "dst_number", "first_file"}}
			for _, d := range dups {
				t.rows = append(t.rows, []string{itoa(d.Line), d.CallID, d.ConnectTime.UTC().Format(time.RFC3339), d.SrcNumber, d.DstNumber, d.First})
			}
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&key, "file", "", "the file's key, as cdr files lists it")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
