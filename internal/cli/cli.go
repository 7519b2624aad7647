package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/workflows"
)

// app holds the connections a command opens, lazily, and closes at exit.
type app struct {
	cfg      config.Config
	out, err io.Writer
	format   string // table, json or csv
	actor    string // --actor

	store    *postgres.Store
	replica  *postgres.Store // what reports read: the replica, or store
	s3       *s3store.Store
	svc      *billing.Service
	reader   *billing.Service // billing over replica
	temporal client.Client
}

// Main runs billctl with args and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &jsonWriter{Writer: stdout}
	a := &app{cfg: config.FromEnv(), out: out, err: stderr}
	defer a.close()
	root := a.root()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.format == "json" && !out.wrote && err == nil {
		fmt.Fprintln(stdout, `{"ok": true}`)
	}
	var ex exitError
	if errors.As(err, &ex) {
		return int(ex)
	}
	if err != nil {
		fmt.Fprintf(stderr, "billctl: %s\n", oneLine(err.Error()))
	}
	return exitCode(err)
}

// Exit statuses (docs/interfaces.md): what a script may tell apart.
const (
	exitDone        = 0
	exitFindings    = 1 // readiness errors, changed documents
	exitUsage       = 2 // a bad flag, argument or input file; any other failure
	exitWaiting     = 3 // a bill run waits for finance to resolve it
	exitUnreachable = 4 // PostgreSQL, S3 or Temporal did not answer
	exitNoWorker    = 5 // no worker polls the task queue that --wait would wait on
)

var (
	errWaiting     = errors.New("waits to be resolved")
	errUnreachable = errors.New("unreachable")
	errNoWorker    = errors.New("no worker polls the task queue")
)

func exitCode(err error) int {
	var unavailable *serviceerror.Unavailable
	var netErr *net.OpError
	switch {
	case err == nil:
		return exitDone
	case errors.Is(err, errWaiting):
		return exitWaiting
	case errors.Is(err, errNoWorker):
		return exitNoWorker
	case errors.Is(err, errUnreachable), errors.As(err, &unavailable), errors.As(err, &netErr),
		errors.Is(err, syscall.ECONNREFUSED):
		return exitUnreachable
	}
	return exitUsage
}

// awaitWorker fails with errNoWorker when no worker polls c's task queue:
// --wait would otherwise block until one starts. The run is started by
// then, and goes on when a worker comes. A worker started just before the
// command (a script, the demo) is given workerGrace to poll.
func (a *app) awaitWorker(ctx context.Context, c workflows.Client) error {
	deadline := time.Now().Add(workerGrace)
	for {
		resp, err := c.DescribeTaskQueue(ctx, c.TaskQueue, enums.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return fmt.Errorf("describe task queue %s: %w", c.TaskQueue, err)
		}
		if len(resp.GetPollers()) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s in namespace %s has none; start billrun-worker (a run already started goes on once it polls)",
				errNoWorker, c.TaskQueue, a.cfg.TemporalNamespace)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

const workerGrace = 10 * time.Second

// exitError ends billctl with a status after the command printed its report
// (billctl check exits 1 when it finds an error).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "billctl",
		Short:         "billrun: batch billing for telecom carriers and VoIP providers",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			switch a.format {
			case "table", "json", "csv":
				return nil
			}
			return fmt.Errorf("--format %q: want table, json or csv", a.format)
		},
	}
	root.PersistentFlags().StringVar(&a.format, "format", "table", "output: table, json or csv")
	root.PersistentFlags().StringVar(&a.actor, "actor", "", "who runs the command, named in the runs it starts (default: the OS user)")
	root.Version = config.Version()
	root.AddCommand(a.migrateCmd(), a.importCmd(), a.cdrCmd(), a.reportCmd(), a.rerateCmd(), a.ratesCmd(), a.rateTablesCmd(), a.clientCmd(), a.checkCmd(), a.invoiceCmd(),
		a.runCmd(), a.scheduleCmd(), a.consoleCmd())
	return root
}

func (a *app) close() {
	if a.replica != nil && a.replica != a.store {
		a.replica.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
	if a.temporal != nil {
		a.temporal.Close()
	}
}

func (a *app) db(ctx context.Context) (*postgres.Store, error) {
	if a.store == nil {
		s, err := postgres.Open(ctx, a.cfg.DatabaseURL)
		if err != nil {
			if a.cfg.DatabaseURL == "" {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", errUnreachable, err)
		}
		a.store = s
	}
	return a.store, nil
}

// reports is billing over the replica that BILLRUN_REPLICA_DATABASE_URL
// names, for commands that only read (report …); without one, or when it
// does not answer, over the primary, with a warning on stderr.
func (a *app) reports(ctx context.Context) (*billing.Service, error) {
	if a.reader != nil {
		return a.reader, nil
	}
	primary, err := a.billing(ctx)
	if err != nil || a.cfg.ReplicaDatabaseURL == "" {
		return primary, err
	}
	r, err := postgres.OpenReplica(ctx, a.cfg.ReplicaDatabaseURL, a.store)
	if err != nil {
		fmt.Fprintf(a.err, "billctl: warning: %v\n", err)
	}
	a.replica = r
	b := *primary
	b.Store, b.Engines = r, billing.NewEngines(r)
	a.reader = &b
	return a.reader, nil
}

// actorName is --actor, or the OS user.
func (a *app) actorName() string {
	if a.actor != "" {
		return a.actor
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// uiLink is " (Temporal UI: URL)" for run id, where the Web UI is known.
func (a *app) uiLink(id string) string {
	base := a.uiBase()
	if base == "" {
		return ""
	}
	return fmt.Sprintf(" (Temporal UI: %s/namespaces/%s/workflows/%s)", base, url.PathEscape(a.cfg.TemporalNamespace), url.PathEscape(id))
}

// uiBase is the Temporal Web UI's address: BILLRUN_TEMPORAL_UI, or the
// local dev server's beside its address; "" when unknown.
func (a *app) uiBase() string {
	base := a.cfg.TemporalUI
	if base == "" {
		host, _, err := net.SplitHostPort(a.cfg.TemporalAddress)
		if err != nil || (host != "127.0.0.1" && host != "localhost") {
			return ""
		}
		base = "http://" + host + ":8233"
	}
	return strings.TrimSuffix(base, "/")
}

// knownClient refuses, before any workflow starts, a client the master
// data does not have: without --wait the run's failure would go unseen.
func (a *app) knownClient(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	s, err := a.db(ctx)
	if err != nil {
		return err
	}
	return s.CheckClient(ctx, id)
}

// knownReseller refuses a --reseller the master data does not have,
// before a run starts or an empty report reads as "nothing owed".
func (a *app) knownReseller(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	s, err := a.db(ctx)
	if err != nil {
		return err
	}
	return s.CheckReseller(ctx, id)
}

func (a *app) bucket(ctx context.Context) (*s3store.Store, error) {
	if a.s3 == nil {
		s, err := s3store.New(ctx, a.cfg.S3Endpoint, a.cfg.S3Bucket)
		if err != nil {
			return nil, err
		}
		a.s3 = s
	}
	return a.s3, nil
}

// billing is the use cases, for the commands that read: whatever changes
// billing data durably goes through a workflow.
func (a *app) billing(ctx context.Context) (*billing.Service, error) {
	if a.svc == nil {
		db, err := a.db(ctx)
		if err != nil {
			return nil, err
		}
		b, err := a.bucket(ctx)
		if err != nil {
			return nil, err
		}
		a.svc = billing.New(db, b)
		// Statements billctl writes name the seller as invoices do.
		a.svc.Seller = invoice.Seller{Name: a.cfg.SellerName, Address: a.cfg.SellerAddress, TaxID: a.cfg.SellerTaxID, Email: a.cfg.SellerEmail}
	}
	return a.svc, nil
}

// workflows is the Temporal client that starts billrun's workflows.
func (a *app) workflows(ctx context.Context) (workflows.Client, error) {
	c, err := a.temporalClient(ctx)
	return workflows.Client{Client: c, TaskQueue: a.cfg.TaskQueue, Actor: a.actorName()}, err
}

func (a *app) temporalClient(ctx context.Context) (client.Client, error) {
	if a.temporal == nil {
		opts, err := temporalclient.Resolve(a.cfg.TemporalAddress, a.cfg.TemporalNamespace)
		if err != nil {
			return nil, err
		}
		a.cfg.TemporalAddress, a.cfg.TemporalNamespace = opts.HostPort, opts.Namespace
		c, err := temporalclient.Dial(ctx, opts, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUnreachable, err)
		}
		a.temporal = c
	}
	return a.temporal, nil
}

// table is a report printed in the chosen --format.
type table struct {
	header []string
	rows   [][]string
	json   any // the JSON document; nil prints rows as objects
}

func (a *app) print(t table) error {
	switch a.format {
	case "json":
		doc := t.json
		if doc == nil {
			objs := make([]map[string]any, len(t.rows))
			for i, r := range t.rows {
				objs[i] = map[string]any{}
				for j, h := range t.header {
					objs[i][h] = typed(h, r[j])
				}
			}
			doc = objs
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case "csv":
		w := csv.NewWriter(a.out)
		_ = w.Write(t.header)
		for _, r := range t.rows {
			_ = w.Write(r)
		}
		w.Flush()
		return w.Error()
	}
	w := tabwriter.NewWriter(a.out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, strings.ToUpper(strings.Join(t.header, "\t")))
	for _, r := range t.rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// printRun prints the ID of a run started and not waited for.
func (a *app) printRun(id string) error {
	return a.print(table{header: []string{"run"}, rows: [][]string{{id}}, json: map[string]string{"run": id}})
}

// counts are the columns whose cells are whole numbers: JSON gives them
// as numbers; amounts, codes and numbers of documents stay strings.
var counts = map[string]bool{"calls": true, "cdrs": true, "rejected": true, "duplicates": true, "billed_seconds": true,
	"seconds": true, "quantity": true, "line": true, "errors": true, "warnings": true, "skipped": true, "invoiced": true,
	"inserted": true, "updated": true, "deleted": true, "reratings": true, "still_mismatched": true, "newly_mismatched": true,
	"newly_matched": true, "files_done": true, "files_skipped": true, "files_pending": true, "files_failed": true,
	"examined": true, "changed": true, "days": true, "conflicts": true, "clients": true}

func typed(column, cell string) any {
	if counts[column] {
		if n, err := strconv.ParseInt(cell, 10, 64); err == nil {
			return n
		}
	}
	return cell
}

// jsonWriter notes whether a command wrote anything on stdout: under
// --format json one that wrote nothing still prints one document.
type jsonWriter struct {
	io.Writer
	wrote bool
}

func (w *jsonWriter) Write(p []byte) (int, error) {
	w.wrote = w.wrote || len(p) > 0
	return w.Writer.Write(p)
}

func openFile(name string) (*os.File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, errors.Unwrap(err))
	}
	return f, nil
}

// parseMonth reads --period.
func parseMonth(flag string) (period.Month, error) {
	m, err := period.Parse(flag)
	if err != nil {
		return "", fmt.Errorf("--period %q is not YYYY-MM", flag)
	}
	return m, nil
}
