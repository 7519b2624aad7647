package cli_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cli"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/testenv"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

// run runs billctl in-process against the test's database.
func run(t *testing.T, dbURL string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestABadImportFileExitsNonZeroWithOneLineNamingFileLineAndField(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	url := pgtest.URL(t, store)
	bad := write(t, "accounts.csv", "client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,192.0.2.77,,,true\nghost,ip,192.0.2.78,,,true\n")
	code, out, errOut := run(t, url, "import", "accounts", bad)
	if code == 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := `billctl: accounts.csv:3: field client: unknown client "ghost" (nothing was imported)` + "\n"
	if errOut != want {
		t.Fatalf("stderr %q\nwant   %q", errOut, want)
	}
	var n int
	if err := pgtest.Pool(store).QueryRow(context.Background(), `SELECT count(*) FROM accounts WHERE value = '192.0.2.77'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the good line was applied: %d, %v", n, err)
	}
}

func TestJSONOutputIsOneDocumentOnStdout(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	good := write(t, "taxes.csv", "profile,name,percent\nuk,VAT,20\n")
	code, out, errOut := run(t, pgtest.URL(t, store), "--format", "json", "import", "taxes", good)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["inserted"] != float64(1) || doc["file"] != "taxes.csv" {
		t.Fatalf("%q: %v", out, err)
	}
}

func TestAnUnknownGroupByKeyIsRefusedBeforeAnyQuery(t *testing.T) {
	code, _, errOut := run(t, "postgres://nobody@127.0.0.1:1/none", "report", "summary", "--from", "2026-10-01", "--to", "2026-11-01", "--group-by", "client,colour")
	if code == 0 || !strings.Contains(errOut, `unknown key "colour"`) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestInvoiceCreateTakesOneClientOrAll: --client and --all exclude each
// other, and one of them is needed; nothing is started otherwise.
func TestInvoiceCreateTakesOneClientOrAll(t *testing.T) {
	for _, args := range [][]string{
		{"invoice", "create", "--period", "2026-10"},
		{"invoice", "create", "--period", "2026-10", "--client", "acme", "--all"},
	} {
		code, _, errOut := run(t, "postgres://nobody@127.0.0.1:1/none", args...)
		if code == 0 || !strings.Contains(errOut, "give --client ID or --all") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestBadRunAndScheduleArgumentsAreRefusedBeforeAnyService(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "bill", "--period", "2026-13"}, `--period "2026-13" is not YYYY-MM`},
		{[]string{"run", "bill", "--period", "2026-10", "--state", "final"}, `--state "final"`},
		{[]string{"run", "resolve", "bill-run-2026-10"}, "give one of --rerate or --accept"},
		{[]string{"run", "resolve", "bill-run-2026-10", "--rerate", "--accept"}, "give one of --rerate or --accept"},
		{[]string{"schedule", "create", "monthly", "--day", "31"}, "--day 31: want 1 to 28"},
		{[]string{"schedule", "create", "x'; drop"}, `schedule name: "x'; drop" is not a valid name`},
		{[]string{"import", "codedeck", "--deck", "w'--", "../../testdata/demo/codedeck.csv"}, `--deck: "w'--" is not a valid name`},
		{[]string{"schedule", "create", "monthly", "--hour", "24"}, "--hour 24"},
		{[]string{"schedule", "create", "monthly", "--tz", "Mars/Olympus"}, `--tz "Mars/Olympus"`},
		{[]string{"invoice", "create", "--client", "acme", "--period", "2026-11", "--preview", "--state", "issued"}, "--preview makes one client's draft"},
		{[]string{"invoice", "create", "--all", "--period", "2026-11", "--preview"}, "--preview makes one client's draft"},
		{[]string{"invoice", "adjust", "--period", "2026-10"}, "give --client ID or --all"},
		{[]string{"invoice", "verify"}, "give an invoice ID or number, or --period"},
		{[]string{"invoice", "list", "--kind", "receipt"}, `--kind "receipt"`},
		{[]string{"invoice", "create", "--client", "acme", "--period", "2026-10", "--rounding", "round_up"}, `--rounding "round_up": want round_then_sum or sum_then_round`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := run(t, "postgres://nobody@127.0.0.1:1/none", tt.args...)
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q, want %q", code, errOut, tt.want)
			}
		})
	}
}

// TestAScheduleIsCreatedListedAndDeleted against the real Temporal.
func TestAScheduleIsCreatedListedAndDeleted(t *testing.T) {
	testenv.Require(t, "TEMPORAL_ADDRESS")
	name := "test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	listed := func() map[string]any {
		t.Helper()
		code, out, errOut := run(t, "", "--format", "json", "schedule", "list")
		if code != 0 {
			t.Fatalf("list: exit %d, %s", code, errOut)
		}
		var doc []map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		for _, s := range doc {
			if s["name"] == name {
				return s
			}
		}
		return nil
	}
	if code, _, errOut := run(t, "", "schedule", "create", name, "--day", "2", "--hour", "6", "--tz", "Europe/Berlin"); code != 0 {
		t.Fatalf("create: exit %d, %s", code, errOut)
	}
	t.Cleanup(func() { run(t, "", "schedule", "delete", name) })
	// Schedules are listed from visibility, which lags a created one.
	s := listed()
	for deadline := time.Now().Add(10 * time.Second); s == nil && time.Now().Before(deadline); s = listed() {
		time.Sleep(100 * time.Millisecond)
	}
	if s == nil || s["day"] != "2" || s["hour"] != "6" || s["tz"] != "Europe/Berlin" || s["paused"] != false {
		t.Fatalf("listed %v", s)
	}
	next, err := time.Parse(time.RFC3339, s["next"].(string))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if err != nil || next.In(berlin).Day() != 2 || next.In(berlin).Hour() != 6 || !next.After(time.Now()) {
		t.Fatalf("next run %v: %v", s["next"], err)
	}
	if code, _, errOut := run(t, "", "schedule", "delete", name); code != 0 {
		t.Fatalf("delete: exit %d, %s", code, errOut)
	}
	s = listed()
	for deadline := time.Now().Add(10 * time.Second); s != nil && time.Now().Before(deadline); s = listed() {
		time.Sleep(100 * time.Millisecond)
	}
	if s != nil {
		t.Fatalf("still listed after delete: %v", s)
	}
}

// TestRunListFindsBillRunsByPeriod against the real Temporal: a bill run
// that no worker picks up is listed under its month only.
func TestRunListFindsBillRunsByPeriod(t *testing.T) {
	c, queue := temporaltest.New(t)
	month := fmt.Sprintf("19%02d-%02d", rand.IntN(100), 1+rand.IntN(12))
	id := workflows.BillRunWorkflowID(period.Month(month)) + "-" + queue
	_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: queue + "-nobody",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.KindAttr.ValueSet("bill-run"), workflows.PeriodAttr.ValueSet(month))},
		workflows.BillRun, workflows.BillRunInput{Period: period.Month(month)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test over") })
	listed := func(p string) []map[string]string {
		code, out, errOut := run(t, "", "--format", "json", "run", "list", "--period", p)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var doc []map[string]string
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		return doc
	}
	// The namespace keeps earlier tests' runs: one of the same random
	// month may be listed too; this run must be, as running, and only
	// under its month.
	ours := func(doc []map[string]string) map[string]string {
		for _, r := range doc {
			if r["run"] == id {
				return r
			}
		}
		return nil
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		doc := listed(month)
		if r := ours(doc); r != nil && r["status"] == "running" && r["period"] == month {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listed: %v", doc)
		}
		time.Sleep(200 * time.Millisecond)
	}
	other := "18" + month[2:]
	if doc := listed(other); ours(doc) != nil {
		t.Fatalf("listed under %s: %v", other, doc)
	}
}

// TestCdrRateReadsAFileAsIngestionDoes: gzip is known by its content, not
// its name; a file that is not CDRs is refused whole; rejected lines stand
// among the calls by line number.
func TestCdrRateReadsAFileAsIngestionDoes(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	url := pgtest.URL(t, store)
	demo, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "cdrs-2026-10.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(demo), "\n")
	body := lines[0] + lines[1] + "not,a,call\n" + lines[2]
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(body))
	_ = zw.Close()
	code, out, errOut := run(t, url, "--format", "csv", "cdr", "rate", write(t, "calls.csv", gz.String()))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[1], "2,") || !strings.HasPrefix(rows[2], `3,,,,"rejected: `) || !strings.HasPrefix(rows[3], "4,") {
		t.Fatalf("rows:\n%s", out)
	}
	code, _, errOut = run(t, url, "cdr", "rate", write(t, "binary.csv", "\x00\x01\x02 not a CDR file"))
	if code == 0 || !strings.Contains(errOut, "binary") {
		t.Fatalf("a binary file was rated: exit %d, %s", code, errOut)
	}
}

// TestACommandNamingAnUnknownClientIsRefusedBeforeAnyRunStarts: without
// --wait, a run that fails later would leave exit 0 and a failed run behind.
func TestACommandNamingAnUnknownClientIsRefusedBeforeAnyRunStarts(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	for _, args := range [][]string{
		{"rerate", "--from", "2026-10-01", "--to", "2026-11-01", "--client", "nosuch"},
		{"invoice", "create", "--client", "nosuch", "--period", "2026-10"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			// No Temporal is set: the refusal must come before one is needed.
			t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
			code, _, errOut := run(t, pgtest.URL(t, store), args...)
			if code == 0 || !strings.Contains(errOut, `no such client: "nosuch"`) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
		})
	}
}

// TestACommandNamingAnUnknownResellerIsRefused before any run starts, and
// before a report reads as "nothing owed" or "nothing issued".
func TestACommandNamingAnUnknownResellerIsRefused(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	for _, args := range [][]string{
		{"invoice", "create", "--all", "--period", "2026-10", "--reseller", "nosuch"},
		{"invoice", "list", "--reseller", "nosuch"},
		{"client", "balance", "--reseller", "nosuch"},
		{"report", "reconcile", "--period", "2026-10", "--reseller", "nosuch"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
			code, out, errOut := run(t, pgtest.URL(t, store), args...)
			if code != 2 || !strings.Contains(errOut, `no reseller "nosuch"`) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}

// TestExitStatusesTellOutcomesApart: scripts branch on billctl's exit
// status (docs/interfaces.md), each checked here on the real services.
func TestExitStatusesTellOutcomesApart(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	url := pgtest.URL(t, store)
	c, queue := temporaltest.New(t)
	s3 := s3test.New(t)
	t.Setenv("S3_BUCKET", s3.Bucket())
	t.Setenv("TEMPORAL_TASK_QUEUE", queue)
	// A month of its own: bill-run IDs are the month's, on a shared server.
	month := fmt.Sprintf("20%02d-%02d", 10+rand.IntN(15), 1+rand.IntN(12))
	t.Cleanup(func() {
		_ = c.TerminateWorkflow(context.Background(), workflows.BillRunWorkflowID(period.Month(month)), "", "test over")
	})
	withWorker := func() {
		w := workerapp.New(c, queue, activities.New(billing.New(store, s3)))
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"usage: a flag missing", nil, []string{"invoice", "create", "--period", "2026-10"}, 2},
		{"usage: a bad input file", nil, []string{"import", "taxes", write(t, "taxes.csv", "profile,name\n")}, 2},
		{"findings: the month is not ready", nil, []string{"check", "readiness", "--period", "2026-10"}, 1},
		{"unreachable: PostgreSQL", map[string]string{"DATABASE_URL": "postgres://billrun@127.0.0.1:1/billrun?sslmode=disable&connect_timeout=2"},
			[]string{"cdr", "files"}, 4},
		{"unreachable: Temporal", map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}, []string{"run", "list"}, 4},
		{"no worker polls the task queue", nil, []string{"rerate", "--from", "2026-10-01", "--to", "2026-10-02", "--wait"}, 5},
		{"waiting: the bill run waits for finance", nil, []string{"run", "bill", "--period", month, "--wait"}, 3},
		{"done", nil, []string{"cdr", "files"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == 3 {
				withWorker()
			}
			db := url
			for k, v := range tc.env {
				t.Setenv(k, v)
				if k == "DATABASE_URL" {
					db = v
				}
			}
			code, _, errOut := run(t, db, tc.args...)
			if code != tc.want {
				t.Fatalf("billctl %s: exit %d, want %d; stderr %s", strings.Join(tc.args, " "), code, tc.want, errOut)
			}
		})
	}
}

// TestABillRunPastRetentionIsReadFromItsAuditRecord: once Temporal has
// forgotten a run, run status and run list read its audit record.
func TestABillRunPastRetentionIsReadFromItsAuditRecord(t *testing.T) {
	testenv.Require(t, "TEMPORAL_ADDRESS")
	store := pgtest.New(t)
	url := pgtest.URL(t, store)
	month := fmt.Sprintf("19%02d-%02d", rand.IntN(100), 1+rand.IntN(12))
	id := workflows.BillRunWorkflowID(period.Month(month)) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	status, _ := json.Marshal(workflows.BillRunStatus{Period: period.Month(month), Phase: workflows.PhaseDone, Accepted: true,
		Invoices: workflows.InvoiceRunProgress{Clients: 3, Invoiced: 3}})
	err := store.RecordBillRun(context.Background(), report.BillRun{RunID: "run-1", WorkflowID: id, Period: month, StartedBy: "ops@carrier",
		StartedAt: time.Date(1999, 2, 1, 6, 0, 0, 0, time.UTC), Phase: "done", Status: status, Finished: true,
		Resolutions: []report.Resolution{{Action: "accept", Actor: "finance@carrier", At: time.Date(1999, 2, 2, 9, 0, 0, 0, time.UTC), Errors: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, url, "run", "status", id)
	if code != 0 || !strings.Contains(errOut, "from its audit record; started 1999-02-01T06:00:00Z by ops@carrier") ||
		!strings.Contains(errOut, "resolved accept by finance@carrier at 1999-02-02T09:00:00Z: 1 errors") || !strings.Contains(out, "done") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	code, out, errOut = run(t, url, "--format", "json", "run", "list", "--period", month)
	var doc []map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc) != 1 || doc[0]["run"] != id || doc[0]["status"] != "completed" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
}

// TestACompletedBillRunShowsItsStatusWithNoWorkerRunning: a run that is
// done answers run status from its result, not a query a worker must serve.
func TestACompletedBillRunShowsItsStatusWithNoWorkerRunning(t *testing.T) {
	c, queue := temporaltest.New(t)
	t.Setenv("TEMPORAL_TASK_QUEUE", queue)
	month := period.Month(fmt.Sprintf("18%02d-%02d", rand.IntN(100), 1+rand.IntN(12)))
	id := workflows.BillRunWorkflowID(month) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	done := func(ctx workflow.Context) (workflows.BillRunStatus, error) {
		return workflows.BillRunStatus{Period: month, Phase: workflows.PhaseDone, Invoices: workflows.InvoiceRunProgress{Clients: 7, Invoiced: 7}}, nil
	}
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(done, workflow.RegisterOptions{Name: "BillRun"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "BillRun")
	if err == nil {
		err = r.Get(ctx, nil)
	}
	w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "--format", "json", "run", "status", id)
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || !strings.Contains(out, `"done"`) || !strings.Contains(out, string(month)) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

// TestCdrUploadTakesBothACDRFormatAndAnOutputFormat: --format takes either
// kind of name (they do not overlap), --cdr-format the CDR one only.
func TestCdrUploadTakesBothACDRFormatAndAnOutputFormat(t *testing.T) {
	s3 := s3test.New(t)
	t.Setenv("S3_BUCKET", s3.Bucket())
	file := write(t, "Master.csv", "\"acme\",\"1\",\"2\"\n")
	code, out, errOut := run(t, "", "cdr", "upload", "--format", "freeswitch", "--format", "json", file)
	var doc []map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc) != 1 || doc[0]["key"] != "inbox/freeswitch/Master.csv" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = run(t, "", "cdr", "upload", "--cdr-format", "asterisk", file)
	if code != 0 || !strings.Contains(out, "inbox/asterisk/Master.csv") || strings.HasPrefix(out, "[") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
}

// TestEveryCommandPrintsOneJSONDocument under --format json, whatever it
// prints otherwise (a table, prose on stderr, or nothing).
func TestEveryCommandPrintsOneJSONDocument(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	url := pgtest.URL(t, store)
	s3 := s3test.New(t)
	t.Setenv("S3_BUCKET", s3.Bucket())
	_, queue := temporaltest.New(t)
	t.Setenv("TEMPORAL_TASK_QUEUE", queue)
	for _, args := range [][]string{
		{"migrate", "--skip-temporal"},
		{"import", "taxes", write(t, "taxes.csv", "profile,name,percent\nuk,VAT,20\n")},
		{"cdr", "files"},
		{"report", "mismatches", "--from", "2026-10-01", "--to", "2026-11-01"},
		{"report", "reconcile", "--period", "2026-10"},
		{"check", "readiness", "--period", "2026-10"},
		{"invoice", "list", "--period", "2026-10"},
		{"run", "list"},
		{"ratetables", "list"},
		{"ratetables", "show", "retail-eur"},
		{"client", "balance"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := run(t, url, append([]string{"--format", "json"}, args...)...)
			dec := json.NewDecoder(strings.NewReader(out))
			var doc any
			if err := dec.Decode(&doc); err != nil || dec.More() {
				t.Fatalf("exit %d, not one JSON document (%v): %q; stderr %s", code, err, out, errOut)
			}
		})
	}
}

// TestAWaitingRunFromBeforeThePhaseAttributeIsListedAsWaiting: a bill run
// started before the phase was a search attribute has none; run list
// --phase waiting still lists it, from its queried status, and leaves out a
// run without the attribute that is in another phase.
func TestAWaitingRunFromBeforeThePhaseAttributeIsListedAsWaiting(t *testing.T) {
	c, queue := temporaltest.New(t)
	t.Setenv("TEMPORAL_TASK_QUEUE", queue)
	month := period.Month(fmt.Sprintf("17%02d-%02d", rand.IntN(100), 1+rand.IntN(12)))
	// As the old code ran: the kind and period set at start, no phase, the
	// status answered by query while it waits.
	old := func(ctx workflow.Context, phase workflows.Phase) error {
		st := workflows.BillRunStatus{Period: month, Phase: phase}
		if err := workflow.SetQueryHandler(ctx, workflows.BillRunStatusQuery, func() (workflows.BillRunStatus, error) { return st, nil }); err != nil {
			return err
		}
		return workflow.Await(ctx, func() bool { return false })
	}
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(old, workflow.RegisterOptions{Name: "BillRun"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx := context.Background()
	ids := map[workflows.Phase]string{}
	for _, phase := range []workflows.Phase{workflows.PhaseWaiting, workflows.PhaseIngesting} {
		id := workflows.BillRunWorkflowID(month) + "-" + string(phase) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.KindAttr.ValueSet(workflows.KindBillRun), workflows.PeriodAttr.ValueSet(string(month)))}, "BillRun", phase)
		if err != nil {
			t.Fatal(err)
		}
		ids[phase] = id
		t.Cleanup(func() { _ = c.TerminateWorkflow(ctx, id, "", "the test is over") })
	}
	// Visibility is eventually consistent: ask until both runs are indexed.
	var out, errOut string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
		var code int
		code, out, errOut = run(t, "", "--format", "json", "run", "list", "--period", string(month), "--phase", "waiting")
		if code == 0 && strings.Contains(out, ids[workflows.PhaseWaiting]) {
			break
		}
	}
	var doc []map[string]string
	if json.Unmarshal([]byte(out), &doc) != nil || len(doc) != 1 || doc[0]["run"] != ids[workflows.PhaseWaiting] || doc[0]["phase"] != "waiting" {
		t.Fatalf("stdout %s\nstderr %s", out, errOut)
	}
}
