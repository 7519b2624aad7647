package activities_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rating/ratingtest"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/internal/rerate"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
	"github.com/billrun/billrun/workflows"
)

// benchData is the benchmark catalogue (ratingtest's: 111,000 rates in a
// two-level chain, 10,000 accounts), changed by extend, in a database of the
// benchmark's own, and n calls on it as a canonical CDR file.
type benchData struct {
	store  *postgres.Store
	codes  []string
	file   []byte
	engine *rating.Engine
	cat    rating.Catalog
}

func newBenchData(b *testing.B, n int, extend ...func(*rating.Catalog)) *benchData {
	b.Helper()
	d := &benchData{store: pgtest.New(b)}
	rng := rand.New(rand.NewPCG(7, 7))
	d.cat, d.codes = ratingtest.Catalog(rng)
	for _, f := range extend {
		f(&d.cat)
	}
	pgtest.LoadCatalog(b, d.store, d.cat)
	var file bytes.Buffer
	file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i, c := range ratingtest.CDRs(rng, d.cat, d.codes, n) {
		fmt.Fprintf(&file, "b%d,%s,%d.%03d,%s,,%s,%s,ANSWERED\n", i, c.ConnectTime.Format(time.DateTime),
			c.Duration/time.Second, c.Duration%time.Second/time.Millisecond, c.OrigIP, c.SrcNumber, c.DstNumber)
	}
	d.file = file.Bytes()
	var err error
	if d.engine, err = billing.NewEngines(d.store).Engine(ctx); err != nil {
		b.Fatal(err)
	}
	return d
}

// source reads file as canonical CDRs rated with d's engine.
func (d *benchData) source(b *testing.B, file []byte) *ingest.Source {
	b.Helper()
	src, err := ingest.NewSource("bench.csv", bytes.NewReader(file), cdr.Canonical, time.UTC, d.engine)
	if err != nil {
		b.Fatal(err)
	}
	return src
}

// rows stores d's calls and reads them back as COPY text in the columns
// of cdrs: the floor's input, the rows ingestion writes.
func (d *benchData) rows(b *testing.B) []byte {
	b.Helper()
	d.load(b, d.file)
	rows, err := pgtest.StoredRows(ctx, pgtest.Pool(d.store))
	if err != nil {
		b.Fatal(err)
	}
	return rows
}

// load stores the calls of file as one ingested file.
func (d *benchData) load(b *testing.B, file []byte) cdr.FileStats {
	b.Helper()
	f := cdr.File{Key: "inbox/canonical/bench.csv", Checksum: "1", Format: cdr.Canonical}
	id, _, err := d.store.StartFile(ctx, f)
	if err != nil {
		b.Fatal(err)
	}
	st, err := d.store.LoadFile(ctx, id, f, d.source(b, file))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkIngestMillion prints, on one 1,000,000-CDR file and one database:
// floor_s, a plain COPY of the already-rated rows into an unindexed table
// with the same columns; billrun_s, the file activity from S3 object to
// committed rated rows; their ratio; and billrun's CDRs per second.
// Run it with -benchtime 1x (make bench).
func BenchmarkIngestMillion(b *testing.B) {
	const n = 1_000_000
	d := newBenchData(b, n)
	store, s3 := d.store, s3test.New(b)
	acts := activities.New(billing.New(store, s3))
	ref := activities.FileRef{Key: billing.InboxKey(cdr.Canonical, "million.csv")}
	etag, err := s3.Put(ctx, ref.Key, bytes.NewReader(d.file), "text/csv", nil)
	if err != nil {
		b.Fatal(err)
	}
	ref.ETag = etag
	if _, err := acts.Billing.Engines.Engine(ctx); err != nil { // warm: a worker reuses its snapshot across files
		b.Fatal(err)
	}
	rows := d.rows(b) // the floor: the same rows, rated and stored beforehand, copied plainly
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floor, err := pgtest.CopyFloor(ctx, pgtest.Pool(store), rows)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pgtest.Pool(store).Exec(ctx, `DELETE FROM cdr_files`); err != nil { // ingest again, not skip
			b.Fatal(err)
		}
		if _, err := pgtest.Pool(store).Exec(ctx, `TRUNCATE cdrs`); err != nil {
			b.Fatal(err)
		}
		startAt := time.Now()
		v, err := env.ExecuteActivity(acts.IngestFile, activities.IngestFileInput{File: ref})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(startAt)
		var res activities.IngestFileResult
		if err := v.Get(&res); err != nil || res.CDRs != n {
			b.Fatalf("%+v %v", res, err)
		}
		b.ReportMetric(floor.Seconds(), "floor_s")
		b.ReportMetric(took.Seconds(), "billrun_s")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "ratio")
		b.ReportMetric(n/took.Seconds(), "cdrs/s")
	}
}

// BenchmarkIndexCost measures what each candidate index of cdrs costs the
// plain COPY of a million rated rows (docs/benchmarks.md, storage layout).
func BenchmarkIndexCost(b *testing.B) {
	d := newBenchData(b, 1_000_000)
	store, rows := d.store, d.rows(b)
	var err error
	for _, idx := range []string{"", "file_id", "connect_time", "client, connect_time", "file_id, line"} {
		name := strings.ReplaceAll(idx, ", ", "+")
		if name == "" {
			name = "none"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var took time.Duration
				if idx == "" {
					took, err = pgtest.CopyFloor(ctx, pgtest.Pool(store), rows)
				} else {
					took, err = pgtest.CopyFloor(ctx, pgtest.Pool(store), rows, idx)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(took.Seconds(), "copy_s")
			}
		})
	}
}

// BenchmarkRerateMillion prints, on 1,000,000 calls of one month after a
// change of a tenth of the base table's rates: floor_s, the plain-COPY floor
// of those rows; billrun_s, the Rerate workflow on the dev server (a day per
// batch, two at once); sql_s, the same rerate as one SQL UPDATE … FROM with a
// longest-prefix join over the parent chain; and the ratios.
func BenchmarkRerateMillion(b *testing.B) {
	const n = 1_000_000
	d := newBenchData(b, n)
	store, codes, rows := d.store, d.codes, d.rows(b)
	c, queue := temporaltest.New(b)
	if _, err := pgtest.Pool(store).Exec(ctx, `VACUUM ANALYZE cdrs`); err != nil {
		b.Fatal(err)
	}
	// The rate change: a tenth of the base table's codes get a new price.
	var change strings.Builder
	change.WriteString("code,rate,effective_from,end,increment,setup_fee\n")
	for _, code := range codes[10_000:20_000] { // codes the child and parent tables do not override
		fmt.Fprintf(&change, "%s,0.3333,2026-10-01,,1/1,\n", code)
	}
	rs, err := catalog.ReadRates("change.csv", strings.NewReader(change.String()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.ImportRates(ctx, "change.csv", "base", rs, false); err != nil {
		b.Fatal(err)
	}
	acts := activities.New(billing.New(store, s3test.New(b)))
	w := workerapp.New(c, queue, acts)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	if _, err := acts.Billing.Engines.Engine(ctx); err != nil { // a warm worker
		b.Fatal(err)
	}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floor, err := pgtest.CopyFloor(ctx, pgtest.Pool(store), rows)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		in := workflows.RerateInput{From: from, To: from.AddDate(0, 1, 0), Match: rerate.All}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.RerateWorkflowID(in, time.Now()), TaskQueue: queue}, workflows.Rerate, in)
		if err != nil {
			b.Fatal(err)
		}
		var res workflows.RerateResult
		if err := run.Get(ctx, &res); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		if res.Examined != n || res.Changed == 0 {
			b.Fatalf("%+v", res.Summary)
		}
		start = time.Now()
		updated, err := pgtest.RerateSQL(ctx, pgtest.Pool(store), from, from.AddDate(0, 1, 0))
		if err != nil {
			b.Fatal(err)
		}
		sqlTook := time.Since(start)
		b.ReportMetric(floor.Seconds(), "floor_s")
		b.ReportMetric(took.Seconds(), "billrun_s")
		b.ReportMetric(sqlTook.Seconds(), "sql_s")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "billrun/floor")
		b.ReportMetric(sqlTook.Seconds()/took.Seconds(), "sql/billrun")
		b.ReportMetric(float64(res.Changed), "changed")
		b.ReportMetric(float64(updated), "sql_updated")
		start = time.Now()
		sum, err := store.Summary(ctx, report.Summary{From: from, To: from.AddDate(0, 1, 0), GroupBy: []report.Key{report.Client, report.DstName}})
		if err != nil || len(sum) == 0 {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "summary_s")
	}
}

// BenchmarkSummaryMillion: the summary report of a month of 1,000,000 calls
// grouped by client and destination name.
func BenchmarkSummaryMillion(b *testing.B) {
	d := newBenchData(b, 1_000_000)
	store, codes := d.store, d.codes
	d.load(b, d.file)
	// Destination names as a real deck has them: one name for many codes
	// (here, a name per leading two digits: about a hundred destinations).
	deck := make([]catalog.DeckEntry, len(codes))
	for i, c := range codes {
		deck[i] = catalog.DeckEntry{Code: c, Name: "Destination " + c[:2]}
	}
	if _, err := store.ImportCodeDeck(ctx, "bench.csv", "bench", deck); err != nil {
		b.Fatal(err)
	}
	if _, err := pgtest.Pool(store).Exec(ctx, `UPDATE rate_tables SET deck = 'bench'`); err != nil {
		b.Fatal(err)
	}
	if _, err := pgtest.Pool(store).Exec(ctx, `VACUUM ANALYZE cdrs`); err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	q := report.Summary{From: from, To: from.AddDate(0, 1, 0), GroupBy: []report.Key{report.Client, report.DstName}}
	// The same report as one SQL GROUP BY, in the same run: the ratio is the
	// figure to compare across runs on a noisy machine.
	start := time.Now()
	sqlRows, err := pgtest.SummarySQL(ctx, pgtest.Pool(store), q)
	if err != nil {
		b.Fatal(err)
	}
	sqlTook := time.Since(start)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := store.Summary(ctx, q)
		if err != nil || len(rows) != len(sqlRows) {
			b.Fatalf("%d rows, SQL %d: %v", len(rows), len(sqlRows), err)
		}
		b.ReportMetric(float64(len(rows)), "rows")
	}
	took := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(took, "s/report")
	b.ReportMetric(sqlTook.Seconds(), "sql_s")
	b.ReportMetric(sqlTook.Seconds()/took, "sql/billrun")
}

// BenchmarkInvoices computes, stores, renders (default template, 20 usage
// lines) and writes to S3 the invoices of 10,000 clients (BILLRUN_INVOICES):
// the InvoiceRun workflow on the dev server with an in-process worker,
// batches of 100 clients, two at once. Reports invoices per second.
func BenchmarkInvoices(b *testing.B) {
	clients, lines := 10_000, 20
	if n, err := strconv.Atoi(os.Getenv("BILLRUN_INVOICES")); err == nil {
		clients = n
	}
	// The catalogue's 1,000 clients, and as many more as asked, each with an account.
	d := newBenchData(b, 0, func(c *rating.Catalog) {
		for i := len(c.Clients); i < clients; i++ {
			c.Clients = append(c.Clients, rating.Client{ID: fmt.Sprint("client", i), RateTable: "child"})
			c.Accounts = append(c.Accounts, rating.Account{ID: int64(len(c.Accounts) + 1), Client: fmt.Sprint("client", i), Kind: rating.KindIP,
				Value: fmt.Sprintf("11.%d.%d.%d", i>>16, (i>>8)&255, i&255), Enabled: true})
		}
	})
	store, cat, codes := d.store, d.cat, d.codes
	var file bytes.Buffer
	file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	ip, prefix := map[string]string{}, map[string]string{}
	for _, a := range cat.Accounts {
		ip[a.Client], prefix[a.Client] = a.Value, a.TechPrefix
	}
	for c := range clients {
		for l := range lines {
			cl := fmt.Sprint("client", c)
			fmt.Fprintf(&file, "i%d-%d,2026-10-%02d 12:00:00,%d,%s,,,%s%s1234567,ANSWERED\n", c, l, 1+l, 30+l*7, ip[cl], prefix[cl], codes[10_000+l])
		}
	}
	if st := d.load(b, file.Bytes()); st.CDRs != int64(clients*lines) {
		b.Fatal(st)
	}
	var rated int64
	_ = pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM cdrs WHERE status = 'rated' AND billed_seconds > 0`).Scan(&rated)
	if rated != int64(clients*lines) {
		var st string
		_ = pgtest.Pool(store).QueryRow(ctx, `SELECT string_agg(DISTINCT status, ',') FROM cdrs`).Scan(&st)
		b.Fatalf("%d of %d calls rated: %s", rated, clients*lines, st)
	}
	acts := activities.New(billing.New(store, s3test.New(b)))
	if os.Getenv("BILLRUN_EXPLAIN") != "" {
		rows, _ := pgtest.Pool(store).Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) SELECT coalesce(e.name, c.code), min(c.code), count(*), sum(c.billed_seconds)::bigint, sum(c.cost),
			t.rates_include_taxes
			FROM cdrs c JOIN rate_tables t ON t.name = c.rate_table
			LEFT JOIN code_deck_entries e ON e.deck = t.deck AND e.code = c.code
			WHERE c.client = $1 AND c.connect_time >= $2 AND c.connect_time < $3 AND c.status = 'rated' AND c.currency = $4
			AND (c.billed_seconds > 0 OR c.cost <> 0)
			AND NOT coalesce(c.rate_id IN (SELECT id FROM rates WHERE deleted_at IS NOT NULL), false)
			GROUP BY 1, t.rates_include_taxes`, "client1", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "USD")
		var plan strings.Builder
		for rows.Next() {
			var l string
			_ = rows.Scan(&l)
			plan.WriteString(l + "\n")
		}
		_ = os.WriteFile(os.Getenv("BILLRUN_EXPLAIN"), []byte(plan.String()), 0o644)
		rows.Close()
	}
	if _, err := pgtest.Pool(store).Exec(ctx, `UPDATE clients SET autoinvoice = true`); err != nil {
		b.Fatal(err)
	}
	c, queue := temporaltest.New(b)
	w := workerapp.New(c, queue, acts)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.InvoiceRunWorkflowID("2026-10"), TaskQueue: queue},
			workflows.InvoiceRun, workflows.InvoiceRunInput{Period: "2026-10"})
		if err != nil {
			b.Fatal(err)
		}
		var p workflows.InvoiceRunProgress
		if err := run.Get(ctx, &p); err != nil {
			b.Fatal(err)
		}
		if p.Invoiced != clients {
			b.Fatalf("%+v", p)
		}
		b.ReportMetric(float64(clients)/time.Since(start).Seconds(), "invoices/s")
	}
	var n int64
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM invoice_lines WHERE kind = 'usage'`).Scan(&n); err != nil || n != int64(clients*lines) {
		b.Fatalf("%d usage lines, %v", n, err)
	}
	// Issuing the drafts: numbered, then written once under their numbers.
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.InvoiceRunWorkflowID("2026-10") + "-issue", TaskQueue: queue},
		workflows.InvoiceRun, workflows.InvoiceRunInput{Period: "2026-10", Issue: true})
	var p workflows.InvoiceRunProgress
	if err == nil {
		err = run.Get(ctx, &p)
	}
	if err != nil || p.Invoiced != clients {
		b.Fatalf("%+v %v", p, err)
	}
	b.ReportMetric(float64(clients)/time.Since(start).Seconds(), "issued/s")
	// A correction of a tenth of the clients' calls (as a rerate leaves
	// them), then the notes of every issued invoice of the period.
	if _, err := pgtest.Pool(store).Exec(ctx, `UPDATE cdrs SET cost = cost + 0.01 WHERE client IN
		(SELECT id FROM clients ORDER BY id LIMIT $1)`, clients/10); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	adj, err := workflows.StartAdjust(ctx, workflows.Client{Client: c, TaskQueue: queue}, workflows.AdjustInput{Period: "2026-10", Issue: true})
	var res workflows.AdjustResult
	if err == nil {
		err = adj.Get(ctx, &res)
	}
	if err != nil {
		b.Fatal(err)
	}
	notes := res.Made
	if notes != clients/10 || res.Rendered != notes {
		b.Fatalf("%d notes of %d invoices, %d rendered", notes, res.Invoices, res.Rendered)
	}
	b.ReportMetric(time.Since(start).Seconds(), "adjust_s")
	b.ReportMetric(float64(notes), "notes")
}

// BenchmarkIngestDuplicates prints, on one 1,000,000-CDR file and one
// database, the ingestion of the file with duplicates judged (on_s) and
// without (off_s), and the same after an earlier file that has 10 % of its
// calls (repeat_on_s, repeat_off_s: judged, 100,000 calls are duplicates),
// each from S3 object to committed rows, the mean of two runs in opposite
// orders, with their ratios. Run it with
// -benchtime 1x -count 3 (make bench).
func BenchmarkIngestDuplicates(b *testing.B) {
	const n = 1_000_000
	d := newBenchData(b, n)
	store, s3 := d.store, s3test.New(b)
	acts := activities.New(billing.New(store, s3))
	put := func(name string, body []byte) activities.FileRef {
		ref := activities.FileRef{Key: billing.InboxKey(cdr.Canonical, name)}
		etag, err := s3.Put(ctx, ref.Key, bytes.NewReader(body), "text/csv", nil)
		if err != nil {
			b.Fatal(err)
		}
		ref.ETag = etag
		return ref
	}
	file := put("million.csv", d.file)
	cut := 0 // the end of the first n/10 calls
	for i := 0; i <= n/10; i++ {
		cut += bytes.IndexByte(d.file[cut:], '\n') + 1
	}
	earlier := put("earlier.csv", d.file[:cut])
	if _, err := acts.Billing.Engines.Engine(ctx); err != nil {
		b.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	ingestFile := func(ref activities.FileRef) (activities.IngestFileResult, time.Duration) {
		startAt := time.Now()
		v, err := env.ExecuteActivity(acts.IngestFile, activities.IngestFileInput{File: ref})
		took := time.Since(startAt)
		var res activities.IngestFileResult
		if err == nil {
			err = v.Get(&res)
		}
		if err != nil {
			b.Fatal(err)
		}
		return res, took
	}
	// run ingests the file into an empty store, after the earlier file if
	// asked, judging duplicates or not.
	run := func(judge, after bool) time.Duration {
		if _, err := pgtest.Pool(store).Exec(ctx, `DELETE FROM cdr_files`); err != nil {
			b.Fatal(err)
		}
		if _, err := pgtest.Pool(store).Exec(ctx, `TRUNCATE cdrs`); err != nil {
			b.Fatal(err)
		}
		store.JudgeDuplicates(judge)
		if after {
			ingestFile(earlier)
		}
		res, took := ingestFile(file)
		if want := int64(n / 10); judge && after && res.Duplicates != want || res.CDRs+res.Duplicates != n {
			b.Fatalf("%+v", res)
		}
		return took
	}
	defer store.JudgeDuplicates(true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each twice, in both orders, so that neither gains from going first.
		off, on := run(false, false), run(true, false)
		on, off = (on+run(true, false))/2, (off+run(false, false))/2
		repeatOff, repeatOn := run(false, true), run(true, true)
		repeatOn, repeatOff = (repeatOn+run(true, true))/2, (repeatOff+run(false, true))/2
		b.ReportMetric(off.Seconds(), "off_s")
		b.ReportMetric(on.Seconds(), "on_s")
		b.ReportMetric(on.Seconds()/off.Seconds(), "on/off")
		b.ReportMetric(repeatOff.Seconds(), "repeat_off_s")
		b.ReportMetric(repeatOn.Seconds(), "repeat_on_s")
		b.ReportMetric(repeatOn.Seconds()/repeatOff.Seconds(), "repeat_on/off")
	}
}

// BenchmarkReconcileMillion times report reconcile over the month of a
// million calls of 1,000 clients (ratingtest's), none invoiced yet.
func BenchmarkReconcileMillion(b *testing.B) {
	d := newBenchData(b, 1_000_000)
	d.load(b, d.file)
	if _, err := pgtest.Pool(d.store).Exec(ctx, `VACUUM ANALYZE cdrs`); err != nil {
		b.Fatal(err)
	}
	svc := billing.New(d.store, s3test.New(b))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := svc.Reconcile(ctx, "2026-10", "")
		if err != nil {
			b.Fatal(err)
		}
		var calls int64
		for _, r := range rows {
			calls += r.Calls
		}
		if calls != 1_000_000 {
			b.Fatalf("%d calls accounted for in %d rows", calls, len(rows))
		}
		b.ReportMetric(float64(len(rows)), "rows")
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/report")
}

// binaries builds billctl and the worker once for the benchmarks that run
// them as a user does.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "billrun-bench-bin-")
	if err != nil {
		return "", err
	}
	for pkg, name := range map[string]string{"github.com/billrun/billrun/starter": "billctl", "github.com/billrun/billrun/worker": "billrun-worker"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir, nil
})

// BenchmarkIngestAsTheUserWaits times what a user waits for: `billctl cdr
// ingest --wait` on 1,000,000 new calls, from the command's start to its
// exit, on a fresh database (partitions not yet made) with a worker process
// polling; and, in the same run, the floor: `psql \copy` of the same calls
// as one CSV file into an unindexed table of its eight columns. The calls
// come as one file (in no time order: the hardest case for day partitions
// and day locks), as ten files of 100,000 in time order (as a switch writes
// them), the same with two worker processes polling (a second worker must
// not cost throughput), or as the one file gzipped. Run with -benchtime 1x
// -count 3 (make bench).
func BenchmarkIngestAsTheUserWaits(b *testing.B) {
	for _, c := range []struct {
		name    string
		files   func(file []byte) map[string][]byte
		workers int
	}{
		{"one_file", func(file []byte) map[string][]byte { return map[string][]byte{"million.csv": file} }, 1},
		{"ten_files", func(file []byte) map[string][]byte { return splitCSV(file, 10) }, 1},
		{"ten_files_two_workers", func(file []byte) map[string][]byte { return splitCSV(file, 10) }, 2},
		{"gzipped", func(file []byte) map[string][]byte { return map[string][]byte{"million.csv.gz": gzipped(b, file)} }, 1},
	} {
		b.Run(c.name, func(b *testing.B) { ingestAsTheUserWaits(b, c.files, c.workers) })
	}
}

// splitCSV splits a canonical CSV file with a header into n files of as
// many calls, in time order as a switch writes them: the first file holds
// the first calls of the month.
func splitCSV(file []byte, n int) map[string][]byte {
	header, body, _ := bytes.Cut(file, []byte("\n"))
	lines := bytes.SplitAfter(body, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	connect := func(l []byte) []byte { return bytes.SplitN(l, []byte(","), 3)[1] }
	slices.SortStableFunc(lines, func(a, b []byte) int { return bytes.Compare(connect(a), connect(b)) })
	out := map[string][]byte{}
	per := (len(lines) + n - 1) / n
	for i := 0; i < n; i++ {
		part := append(append([]byte{}, header...), '\n')
		for _, l := range lines[min(i*per, len(lines)):min((i+1)*per, len(lines))] {
			part = append(part, l...)
		}
		out[fmt.Sprintf("part-%02d.csv", i)] = part
	}
	return out
}

func gzipped(b *testing.B, file []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(file); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func ingestAsTheUserWaits(b *testing.B, files func(file []byte) map[string][]byte, workers int) {
	bin, err := binaries()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		b.StopTimer()
		d := newBenchData(b, 1_000_000)
		s3 := s3test.New(b)
		tc, queue := temporaltest.New(b)
		for name, body := range files(d.file) {
			if _, err := s3.Put(ctx, billing.InboxKey(cdr.Canonical, name), bytes.NewReader(body), "text/csv", nil); err != nil {
				b.Fatal(err)
			}
		}
		env := append(os.Environ(), "DATABASE_URL="+pgtest.URL(b, d.store), "S3_BUCKET="+s3.Bucket(), "TEMPORAL_TASK_QUEUE="+queue)
		for range workers {
			startWorker(b, bin, env)
		}
		path := filepath.Join(b.TempDir(), "million.csv")
		if err := os.WriteFile(path, d.file, 0o644); err != nil {
			b.Fatal(err)
		}
		if _, err := pgtest.Pool(d.store).Exec(ctx, `CREATE TABLE floor_copy (call_id text, connect_time timestamptz, duration numeric,
			orig_ip text, orig_account text, src_number text, dst_number text, disposition text)`); err != nil {
			b.Fatal(err)
		}

		var before map[string]time.Duration
		if os.Getenv("BILLRUN_BENCH_CPU") != "" {
			before = cpuByCommand()
		}
		b.StartTimer()
		start, busy := time.Now(), machineBusy(b)
		ingest := exec.Command(filepath.Join(bin, "billctl"), "cdr", "ingest", "--wait")
		ingest.Env = env
		if out, err := ingest.CombinedOutput(); err != nil {
			b.Fatalf("billctl cdr ingest --wait: %v\n%s", err, out)
		}
		billrun, billrunCPU := time.Since(start), machineBusy(b)-busy
		b.StopTimer()
		if before != nil {
			logCPUByCommand(b, before, cpuByCommand())
		}
		if os.Getenv("BILLRUN_BENCH_TRACE") != "" {
			traceWorkflows(b, tc, start)
		}
		start, busy = time.Now(), machineBusy(b)
		psql := exec.Command("psql", pgtest.URL(b, d.store), "-q", "-c", `\copy floor_copy FROM '`+path+`' CSV HEADER`)
		if out, err := psql.CombinedOutput(); err != nil {
			b.Fatalf("psql \\copy: %v\n%s", err, out)
		}
		floor, floorCPU := time.Since(start), machineBusy(b)-busy
		var stored int64
		_ = pgtest.Pool(d.store).QueryRow(ctx, `SELECT count(*) FROM cdrs`).Scan(&stored)
		if stored != 1_000_000 {
			b.Fatalf("%d calls stored", stored)
		}
		b.ReportMetric(billrun.Seconds(), "ingest_s")
		b.ReportMetric(floor.Seconds(), "copy_s")
		b.ReportMetric(billrun.Seconds()/floor.Seconds(), "ratio")
		b.ReportMetric(1_000_000/billrun.Seconds(), "CDRs/s")
		// The machine's busy CPU time over each (every process: worker,
		// PostgreSQL, Temporal, S3, billctl, psql): ingestion on all cores
		// at once could not take less than ingest_cpu_s / cores.
		b.ReportMetric(billrunCPU.Seconds(), "ingest_cpu_s")
		b.ReportMetric(floorCPU.Seconds(), "copy_cpu_s")
		b.ReportMetric(billrunCPU.Seconds()/float64(runtime.NumCPU())/floor.Seconds(), "cpu_bound_ratio")
		b.StartTimer()
	}
}

// cpuByCommand sums the CPU time (user and system) of the running
// processes by command name: where a step's CPU went, with
// BILLRUN_BENCH_CPU=1 (processes that end between two readings are missed).
func cpuByCommand() map[string]time.Duration {
	out := map[string]time.Duration{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(raw[end+1:])) // state ppid … utime (12) stime (13)
		if len(fields) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		out[string(raw[open+1:end])] += time.Duration(u+st) * time.Second / 100
	}
	return out
}

func logCPUByCommand(b *testing.B, before, after map[string]time.Duration) {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if d := after[name] - before[name]; d >= 50*time.Millisecond {
			parts = append(parts, fmt.Sprintf("%s %.2f s", name, d.Seconds()))
		}
	}
	b.Logf("CPU by command: %s", strings.Join(parts, ", "))
}

// machineBusy is the CPU time every core of the machine has spent busy
// since boot (/proc/stat: all but idle and iowait).
func machineBusy(b *testing.B) time.Duration {
	b.Helper()
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var busy int64
	for i, f := range fields[1:min(len(fields), 9)] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %q", line)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// BenchmarkCopyFormats measures PostgreSQL's share of ingestion by the
// format rows arrive in: a million stored calls copied, as COPY text and as
// COPY binary, into an unindexed table of cdrs' columns (issue 14: what
// the binary protocol would save the server).
func BenchmarkCopyFormats(b *testing.B) {
	d := newBenchData(b, 1_000_000)
	d.load(b, d.file)
	conn, err := pgtest.Pool(d.store).Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()
	var text, binary bytes.Buffer
	if _, err := pg.CopyTo(ctx, &text, `COPY (SELECT * FROM cdrs) TO STDOUT`); err != nil {
		b.Fatal(err)
	}
	if _, err := pg.CopyTo(ctx, &binary, `COPY (SELECT * FROM cdrs) TO STDOUT (FORMAT binary)`); err != nil {
		b.Fatal(err)
	}
	for _, f := range []struct {
		name, table, options string
		rows                 []byte
	}{{"text", "copy_format", "", text.Bytes()}, {"binary", "copy_format", " (FORMAT binary)", binary.Bytes()},
		{"text-into-the-day-partitions", "cdrs", "", text.Bytes()}} {
		b.Run(f.name, func(b *testing.B) {
			for range b.N {
				reset := `DROP TABLE IF EXISTS copy_format; CREATE TABLE copy_format (LIKE cdrs)`
				if f.table == "cdrs" { // through the parent, routed to the day partitions, as ingestion writes
					reset = `TRUNCATE cdrs`
				}
				if err := pg.Exec(ctx, reset).Close(); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := pg.CopyFrom(ctx, bytes.NewReader(f.rows), `COPY `+f.table+` FROM STDIN`+f.options); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "copy_s")
				b.ReportMetric(float64(len(f.rows))/1e6, "MB")
			}
		})
	}
}

// startWorker starts the worker of bin with env and waits until it is
// ready with its rating engine built: a deployed worker builds it at start
// and after each import, not when a file arrives (BenchmarkSnapshot times
// that build). The worker is killed when the benchmark ends.
func startWorker(b *testing.B, bin string, env []string) string {
	b.Helper()
	metrics := freeAddr(b)
	worker := exec.Command(filepath.Join(bin, "billrun-worker"))
	worker.Env = append(env, "BILLRUN_METRICS_ADDR="+metrics, "BILLRUN_PPROF=1")
	if err := worker.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })
	for deadline := time.Now().Add(30 * time.Second); !workerWarm(metrics); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the worker never became ready with its engine built")
		}
	}
	return metrics
}

// profileWorker, when BILLRUN_BENCH_PROFILE names a file, writes to it a
// CPU profile of the worker serving ops on addr over the next
// BILLRUN_BENCH_PROFILE_SECONDS (default 30): where its time goes. The
// function it returns waits for the profile.
func profileWorker(b *testing.B, addr string) func() {
	path := os.Getenv("BILLRUN_BENCH_PROFILE")
	if path == "" {
		return func() {}
	}
	seconds := cmp.Or(os.Getenv("BILLRUN_BENCH_PROFILE_SECONDS"), "30")
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + seconds)
		if err != nil {
			b.Log(err)
			return
		}
		defer r.Body.Close()
		p, _ := io.ReadAll(r.Body)
		if err := os.WriteFile(path, p, 0o644); err != nil {
			b.Log(err)
		}
	}()
	return func() { <-done }
}

// workerWarm reports whether the worker serving ops on addr is ready and has
// built its rating engine.
func workerWarm(addr string) bool {
	r, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return false
	}
	if r, err = http.Get("http://" + addr + "/metrics"); err != nil {
		return false
	}
	defer r.Body.Close()
	m, _ := io.ReadAll(r.Body)
	return bytes.Contains(m, []byte("\nbillrun_catalog_revision{"))
}

// traceWorkflows logs the history events of the workflows started since
// start, in seconds from it (BILLRUN_BENCH_TRACE=1): where the time went.
func traceWorkflows(b *testing.B, tc client.Client, start time.Time) {
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"})
	if err != nil {
		b.Log(err)
		return
	}
	for _, e := range resp.Executions {
		if e.StartTime.AsTime().Before(start) {
			continue
		}
		it := tc.GetWorkflowHistory(ctx, e.Execution.WorkflowId, e.Execution.RunId, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			b.Logf("%s %7.3f %s", e.Execution.WorkflowId, ev.EventTime.AsTime().Sub(start).Seconds(), ev.EventType)
		}
	}
}

// BenchmarkBillRunAsTheUserWaits times `billctl run bill --period 2026-10
// --state issued --wait` from the command's start to its exit, on a month
// whose calls are in the inbox and not yet ingested: BILLRUN_CLIENTS
// clients (default 1,000) and BILLRUN_CALLS calls (default 1,000,000, every
// one billable) in ten files in time order, a worker process polling. It
// reports where the time went from the run's child workflows: ingestion,
// invoicing, and the rest (readiness, the run's own steps). Run with
// -benchtime 1x -count 3 (make bench).
func BenchmarkBillRunAsTheUserWaits(b *testing.B) {
	clients, calls := 1_000, 1_000_000
	if n, err := strconv.Atoi(os.Getenv("BILLRUN_CLIENTS")); err == nil {
		clients = n
	}
	if n, err := strconv.Atoi(os.Getenv("BILLRUN_CALLS")); err == nil {
		calls = n
	}
	bin, err := binaries()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		b.StopTimer()
		d := newBenchData(b, 0, func(c *rating.Catalog) {
			for i := len(c.Clients); i < clients; i++ {
				c.Clients = append(c.Clients, rating.Client{ID: fmt.Sprint("client", i), RateTable: "child"})
				c.Accounts = append(c.Accounts, rating.Account{ID: int64(len(c.Accounts) + 1), Client: fmt.Sprint("client", i), Kind: rating.KindIP,
					Value: fmt.Sprintf("11.%d.%d.%d", i>>16, (i>>8)&255, i&255), Enabled: true})
			}
		})
		account := map[string]rating.Account{}
		for _, a := range d.cat.Accounts {
			if _, ok := account[a.Client]; !ok {
				account[a.Client] = a
			}
		}
		// Only the month's clients are invoiced; master data changes advance
		// the catalogue revision, as imports do.
		if err := pgx.BeginFunc(ctx, pgtest.Pool(d.store), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE clients SET autoinvoice = (id = ANY($1))`, clientIDs(clients)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE catalog_version SET version = version + 1`)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		s3 := s3test.New(b)
		tc, queue := temporaltest.New(b)
		// The month's run is one per namespace: an earlier benchmark's is ended.
		runID := workflows.BillRunWorkflowID("2026-10")
		_ = tc.TerminateWorkflow(ctx, runID, "", "a new benchmark run")
		b.Cleanup(func() { _ = tc.TerminateWorkflow(ctx, runID, "", "benchmark over") })
		// Ten files in time order over October, each call billable.
		const files = 10
		step := 31 * 24 * time.Hour / time.Duration(calls)
		var file bytes.Buffer
		for i := range calls {
			if i%(calls/files) == 0 {
				if file.Len() > 0 {
					putInbox(b, s3, fmt.Sprintf("switch-%02d.csv", i/(calls/files)-1), file.Bytes())
				}
				file.Reset()
				file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
			}
			a := account[fmt.Sprint("client", i%clients)]
			at := ratingtest.Start.Add(time.Duration(i) * step)
			fmt.Fprintf(&file, "r%d,%s,%d,%s,,,%s%s1234567,ANSWERED\n", i, at.Format(time.DateTime), 20+i%300, a.Value, a.TechPrefix,
				d.codes[(i*7919)%len(d.codes)])
		}
		putInbox(b, s3, fmt.Sprintf("switch-%02d.csv", files-1), file.Bytes())
		env := append(os.Environ(), "DATABASE_URL="+pgtest.URL(b, d.store), "S3_BUCKET="+s3.Bucket(), "TEMPORAL_TASK_QUEUE="+queue)
		profiled := profileWorker(b, startWorker(b, bin, env))

		b.StartTimer()
		start := time.Now()
		run := exec.Command(filepath.Join(bin, "billctl"), "run", "bill", "--period", "2026-10", "--state", "issued", "--wait")
		run.Env = env
		out, err := run.CombinedOutput()
		took := time.Since(start)
		b.StopTimer()
		profiled()
		if err != nil {
			b.Fatalf("billctl run bill: %v\n%s", err, out)
		}
		var issued, stored int64
		_ = pgtest.Pool(d.store).QueryRow(ctx, `SELECT count(*) FROM invoices WHERE state = 'issued'`).Scan(&issued)
		_ = pgtest.Pool(d.store).QueryRow(ctx, `SELECT count(*) FROM cdrs WHERE status = 'rated'`).Scan(&stored)
		if issued != int64(clients) || stored != int64(calls) {
			b.Fatalf("%d invoices issued of %d clients, %d calls rated of %d\n%s", issued, clients, stored, calls, out)
		}
		phases := childTimes(b, tc, runID, start)
		b.ReportMetric(took.Seconds(), "total_s")
		b.ReportMetric(phases["Ingest"].Seconds(), "ingest_s")
		b.ReportMetric(phases["InvoiceRun"].Seconds(), "invoice_s")
		b.ReportMetric((phases["BillRun"] - phases["Ingest"] - phases["InvoiceRun"]).Seconds(), "rest_s")
		b.ReportMetric(float64(clients)/phases["InvoiceRun"].Seconds(), "invoices/s")
		b.StartTimer()
	}
}

func clientIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("client", i)
	}
	return ids
}

func putInbox(b *testing.B, s3 *s3store.Store, name string, body []byte) {
	b.Helper()
	if _, err := s3.Put(ctx, billing.InboxKey(cdr.Canonical, name), bytes.NewReader(body), "text/csv", nil); err != nil {
		b.Fatal(err)
	}
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// childTimes sums, by workflow type (Ingest, InvoiceRun …), how long the
// workflows of the bill run root started since start ran.
func childTimes(b *testing.B, tc client.Client, root string, start time.Time) map[string]time.Duration {
	out := map[string]time.Duration{}
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
		Query: fmt.Sprintf("RootWorkflowId = '%s'", root)})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range resp.Executions {
		if e.CloseTime == nil || e.StartTime.AsTime().Before(start) {
			continue
		}
		out[e.Type.Name] += e.CloseTime.AsTime().Sub(e.StartTime.AsTime())
	}
	return out
}

// BenchmarkArchiveMillion archives the month of 1,000,000 stored calls to
// S3 (a gzipped CSV file a day, each read back and checked, then the
// partitions dropped) and restores it, timing each (issue 15: under 20 s
// each).
func BenchmarkArchiveMillion(b *testing.B) {
	d := newBenchData(b, 1_000_000)
	if st := d.load(b, d.file); st.CDRs != 1_000_000 {
		b.Fatal(st)
	}
	svc := billing.New(d.store, s3test.New(b))
	month := period.Of(ratingtest.Start)
	for range b.N {
		var stored int64 // bytes the month takes in PostgreSQL
		if err := pgtest.Pool(d.store).QueryRow(ctx, `SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i
			JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('cdrs_' || replace($1, '-', '_'))`, string(month)).Scan(&stored); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(stored)/1e6, "db_MB")
		start := time.Now()
		a, err := svc.ArchiveMonth(ctx, month, nil)
		if err != nil {
			b.Fatal(err)
		}
		archived := time.Since(start)
		start = time.Now()
		r, err := svc.RestoreMonth(ctx, month, nil)
		if err != nil {
			b.Fatal(err)
		}
		restored := time.Since(start)
		if a.Calls != 1_000_000 || r.Calls != a.Calls {
			b.Fatalf("archived %+v, restored %+v", a, r)
		}
		b.ReportMetric(archived.Seconds(), "archive_s")
		b.ReportMetric(restored.Seconds(), "restore_s")
		b.ReportMetric(float64(a.Bytes)/1e6, "MB")
	}
}
