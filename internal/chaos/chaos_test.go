//go:build chaos

package chaos_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/postgres/pgcluster"
	"github.com/shopspring/decimal"
)

// races is how many times each of the two races of docs/reliability.md is run.
const races = 8

// TestTheMonthEndLosesAndDoublesNothingUnderFaults runs the month twice on
// services of its own: once undisturbed, once while workers are SIGKILLed at
// random, PostgreSQL crashes mid-ingestion, S3 is down for 30 s while
// invoices are written, and a changed file and invoice drafts race rerates.
// Both runs must store every call and rejected line once and invoice every
// client once with gapless numbers and documents that agree with their
// lines; the faulty run must end as the clean one did, each phase within
// 60 s of the last fault it met.
func TestTheMonthEndLosesAndDoublesNothingUnderFaults(t *testing.T) {
	billctl, worker := build(t)
	pg := startPostgres(t)
	s3 := startS3(t)
	m := writeMonth(t, t.TempDir())

	clean := newRun(t, "clean", billctl, worker, pg, s3, m, false)
	clean.month()
	faulty := newRun(t, "faulty", billctl, worker, pg, s3, m, true)
	faulty.month()

	a, b := clean.ledger(), faulty.ledger()
	for _, section := range []string{"calls", "files", "rejected", "invoices", "lines", "reconcile"} {
		if d := firstDifference(a[section], b[section]); d != "" {
			t.Errorf("the faulty run's %s differ from the clean run's: %s", section, d)
		}
	}
	faulty.report(clean)
}

// run is one bill run of the month on a database, bucket and Temporal
// server of its own.
type run struct {
	t         *testing.T
	name      string
	m         *month
	billctl   string
	env       []string
	db        string
	dir       string
	pg        *pgcluster.Cluster
	s3        *s3Server
	workers   *workers
	faults    bool
	rng       *rand.Rand
	mu        sync.Mutex
	phases    []span
	outages   []span
	kills     []time.Time
	downloads int
	retries   int // billctl commands run again after a fault made them fail
	raceRuns  struct{ file, invoices, createFailed int }
}

type span struct {
	name       string
	start, end time.Time
	recovered  time.Duration // an outage: from its end to the first progress after it
}

func newRun(t *testing.T, name, billctl, worker string, pg *pgcluster.Cluster, s3 *s3Server, m *month, faults bool) *run {
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, name: name, m: m, billctl: billctl, dir: dir, pg: pg, s3: s3, faults: faults,
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	r.db = pg.CreateDB(t, "billrun_"+name)
	temporal := startTemporal(t, dir)
	env := append(os.Environ(), "TEMPORAL_ADDRESS="+temporal, "TEMPORAL_NAMESPACE=default", "TEMPORAL_TASK_QUEUE=billrun",
		fmt.Sprintf("S3_ENDPOINT=http://127.0.0.1:%d", s3.port), "S3_BUCKET=billrun-"+name,
		"AWS_ACCESS_KEY_ID="+s3Key, "AWS_SECRET_ACCESS_KEY="+s3Secret, "AWS_REGION=us-east-1")
	// The schema's owner migrates; billctl and the workers then run on
	// the least-privilege roles of deploy/postgres/roles.sql.
	r.env = append(clone(env), "DATABASE_URL="+r.db)
	r.ctl("migrate")
	r.env = append(clone(env), "DATABASE_URL="+as(r.db, "billrun_billctl"))
	workerEnv := append(clone(env), "DATABASE_URL="+as(r.db, "billrun_worker"))
	demo := filepath.Join(repoRoot(t), "testdata", "demo")
	r.ctl("import", "codedeck", "--deck", "world", filepath.Join(demo, "codedeck.csv"))
	r.ctl("import", "ratetables", filepath.Join(demo, "ratetables.csv"))
	for _, tb := range []string{"retail-eur", "acme-special", "wholesale-usd"} {
		r.ctl("import", "rates", "--table", tb, filepath.Join(demo, "rates-"+tb+".csv"))
	}
	r.ctl("import", "taxes", filepath.Join(demo, "taxes.csv"))
	r.ctl("import", "clients", m.path("clients.csv"))
	r.ctl("import", "accounts", m.path("accounts.csv"))
	r.workers = startWorkers(t, worker, workerEnv, dir, 2)
	return r
}

// as is url with the user replaced.
func as(url, user string) string {
	return strings.Replace(url, "postgres://billrun@", "postgres://"+user+"@", 1)
}

// month runs the month end as finance would, with faults if the run has them.
func (r *run) month() {
	t := r.t
	stop := make(chan struct{})
	var bg sync.WaitGroup
	if r.faults {
		bg.Add(1)
		go func() { defer bg.Done(); r.killWorkers(stop) }()
	}
	defer func() { close(stop); bg.Wait() }()

	// Ingestion: PostgreSQL crashes once a few files are in.
	ingested := func() int64 { return r.count(`SELECT count(*) FROM cdr_files WHERE status = 'ingested'`) }
	crash := r.after(func() bool { return ingested() >= 3 },
		func() {
			r.outage("postgres", 10*time.Second, r.pg.Crash, r.pg.Start, ingested, int64(len(r.m.cdrFiles)+1))
		})
	r.phase("ingest", func() {
		r.ctl(append([]string{"cdr", "upload"}, append(r.m.cdrFiles, r.m.again)...)...)
		r.ctl("cdr", "ingest", "--wait")
	})
	crash()

	// Race 1: a changed file re-ingested while a rerate of its days runs.
	var raceN int
	for v := 1; v <= races; v++ {
		raceN = r.m.writeRace(t, v)
		r.phase(fmt.Sprintf("race-file-%d", v), func() {
			r.ctl("cdr", "upload", r.m.race)
			r.together(
				[]string{"cdr", "ingest", "--wait"},
				[]string{"rerate", "--from", "2026-10-20", "--to", "2026-10-22", "--wait"})
		})
		if got := r.count(`SELECT count(*) FROM cdrs c JOIN cdr_files f ON f.id = c.file_id WHERE f.key LIKE '%/race.csv'`); got != int64(raceN) {
			t.Fatalf("%s: race %d: race.csv has %d calls stored, its content %d", r.name, v, got, raceN)
		}
		r.raceRuns.file++
	}

	// Race 2: every client's draft made while a rerate of the month changes
	// its calls' costs.
	for v := 1; v <= races; v++ {
		fix := "rates-fix-a.csv"
		if v%2 == 0 {
			fix = "rates-fix-b.csv"
		}
		r.ctl("import", "rates", "--table", "retail-eur", r.m.path(fix))
		r.phase(fmt.Sprintf("race-invoices-%d", v), func() {
			errs := r.together(
				[]string{"invoice", "create", "--all", "--period", "2026-10", "--wait"},
				[]string{"rerate", "--from", "2026-10-01", "--to", "2026-11-01", "--wait"})
			if errs[0] != nil {
				r.t.Logf("%s: race %d: invoice create --all was refused: %v", r.name, v, errs[0])
				r.raceRuns.createFailed++
			}
		})
		for _, id := range r.ids(`SELECT id FROM invoices WHERE state = 'draft'`) {
			r.documentsAgree(id)
		}
		r.raceRuns.invoices++
	}
	r.ctl("import", "rates", "--table", "retail-eur", r.m.path("rates-fix-a.csv"))

	// The bill run waits on the late client's calls; finance adds its
	// account and resolves with a rerate; S3 fails while invoices are written.
	r.phase("bill-run", func() {
		out, err := r.try("run", "bill", "--period", "2026-10", "--state", "issued", "--wait")
		for err != nil && !strings.Contains(out, "waits") {
			r.retried("run bill", out)
			out, err = r.try("run", "bill", "--period", "2026-10", "--state", "issued", "--wait")
		}
		if err == nil {
			t.Fatalf("%s: the bill run did not wait on the late client's calls:\n%s", r.name, out)
		}
	})
	r.ctl("import", "accounts", r.m.path("late-account.csv"))
	issued := func() int64 { return r.count(`SELECT count(*) FROM invoices WHERE state = 'issued'`) }
	// S3 stops a second into the resolution: as the late client's calls
	// are rerated and before the invoices' documents are written.
	var resolving atomic.Bool
	s3down := r.after(func() bool { return resolving.Load() },
		func() {
			r.outage("s3", 30*time.Second, func() error { r.s3.stop(); return nil }, func() error { r.s3.start(t); return nil },
				issued, clients+1)
		})
	r.phase("resolve", func() {
		time.AfterFunc(time.Second, func() { resolving.Store(true) })
		out, err := r.try("run", "resolve", "bill-run-2026-10", "--rerate", "--wait")
		for err != nil {
			r.retried("run resolve", out)
			if strings.Contains(out, "not waiting") {
				out, err = r.try("run", "bill", "--period", "2026-10", "--state", "issued", "--wait")
			} else {
				out, err = r.try("run", "resolve", "bill-run-2026-10", "--rerate", "--wait")
			}
		}
	})
	s3down()

	r.check(raceN)
}

// check asserts what every run must hold on its own.
func (r *run) check(raceN int) {
	t := r.t
	if n, d := r.count(`SELECT count(*) FROM cdrs`), r.count(`SELECT count(*) FROM (SELECT DISTINCT file_id, line FROM cdrs) x`); n != d || n != int64(r.m.calls+raceN) {
		t.Errorf("%s: %d calls stored (%d distinct file lines); the files hold %d", r.name, n, d, r.m.calls+raceN)
	}
	if n := r.count(`SELECT count(*) FROM rejected_lines`); n != int64(r.m.rejected) {
		t.Errorf("%s: %d rejected lines recorded; the files have %d", r.name, n, r.m.rejected)
	}
	// Which of the two copies is first is a race of its own: the other
	// holds the duplicates.
	if n := r.count(`SELECT sum(duplicates) FROM cdr_files`); n != callsPerFile {
		t.Errorf("%s: %d duplicates found; the copied file has %d calls", r.name, n, callsPerFile)
	}
	if n := r.count(`SELECT count(*) FROM cdr_files WHERE status <> 'ingested'`); n != 0 {
		t.Errorf("%s: %d files not ingested", r.name, n)
	}
	if n := r.count(`SELECT count(*) FROM cdrs WHERE status <> 'rated'`); n != 0 {
		t.Errorf("%s: %d calls not rated after the bill run", r.name, n)
	}
	// Every client invoiced once, numbered without gaps.
	var numbers []int
	for _, n := range r.ids(`SELECT number FROM invoices WHERE state = 'issued' AND kind = 'invoice'`) {
		i, err := strconv.Atoi(n[strings.LastIndex(n, "-")+1:])
		if err != nil {
			t.Fatalf("%s: invoice number %q", r.name, n)
		}
		numbers = append(numbers, i)
	}
	sort.Ints(numbers)
	for i, n := range numbers {
		if n != i+1 {
			t.Errorf("%s: invoice numbers %v are not 1..%d", r.name, numbers, len(numbers))
			break
		}
	}
	if n := r.count(`SELECT count(DISTINCT client) FROM invoices WHERE state = 'issued' AND kind = 'invoice'`); n != clients+1 || len(numbers) != clients+1 {
		t.Errorf("%s: %d issued invoices for %d clients; want one for each of %d", r.name, len(numbers), n, clients+1)
	}
	for _, id := range r.ids(`SELECT id FROM invoices WHERE state = 'issued'`) {
		r.documentsAgree(id)
	}
	r.ctl("invoice", "verify", "--period", "2026-10")
}

// documentsAgree downloads an invoice's JSON and CSV and checks that the
// calls of the CSV add up to its usage lines, line by line.
func (r *run) documentsAgree(id string) {
	t := r.t
	r.downloads++
	dir := filepath.Join(r.dir, "documents", strconv.Itoa(r.downloads))
	r.ctl("invoice", "download", id, "--out", dir)
	js, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	cs, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(js) != 1 || len(cs) != 1 {
		t.Fatalf("%s: invoice %s downloaded as %v %v", r.name, id, js, cs)
	}
	var doc struct {
		Lines []struct {
			Kind, Description, Code string
			Calls                   int64
			BilledSeconds           int64 `json:"billed_seconds"`
			Amount                  decimal.Decimal
		}
	}
	b, err := os.ReadFile(js[0])
	if err != nil || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("%s: invoice %s: JSON %v", r.name, id, err)
	}
	type sum struct {
		calls, seconds int64
		cost           decimal.Decimal
	}
	lines, calls := map[string]*sum{}, map[string]*sum{}
	add := func(m map[string]*sum, k string) *sum {
		if m[k] == nil {
			m[k] = &sum{}
		}
		return m[k]
	}
	for _, l := range doc.Lines {
		if l.Kind == "usage" {
			s := add(lines, l.Description+" "+l.Code)
			s.calls += l.Calls
			s.seconds += l.BilledSeconds
			s.cost = s.cost.Add(l.Amount)
		}
	}
	f, err := os.Open(cs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: invoice %s: CSV %v", r.name, id, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		s := add(calls, row[col["description"]]+" "+row[col["code"]])
		s.calls++
		sec, _ := strconv.ParseInt(row[col["billed_seconds"]], 10, 64)
		s.seconds += sec
		s.cost = s.cost.Add(decimal.RequireFromString(row[col["cost"]]))
	}
	for k, l := range lines {
		c := calls[k]
		if c == nil || c.calls != l.calls || c.seconds != l.seconds || !c.cost.Round(2).Equal(l.cost) {
			t.Errorf("%s: invoice %s: line %q says %+v, its CSV's calls %+v", r.name, id, k, *l, c)
		}
	}
	for k := range calls {
		if lines[k] == nil {
			t.Errorf("%s: invoice %s: CSV calls of %q have no line", r.name, id, k)
		}
	}
}

// ledger is what the two runs must end with alike, section by section.
func (r *run) ledger() map[string][]string {
	return map[string][]string{
		"calls": r.rows(`SELECT coalesce(client, ''), status, coalesce(currency, ''), count(*), sum(billed_seconds), sum(cost)
			FROM cdrs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
		"files":    r.rows(`SELECT key, status, cdrs + duplicates, rejected FROM cdr_files ORDER BY key`),
		"rejected": r.rows(`SELECT f.key, l.line, l.reason FROM rejected_lines l JOIN cdr_files f ON f.id = l.file_id ORDER BY 1, 2`),
		"invoices": r.rows(`SELECT client, kind, state, currency, subtotal, total FROM invoices WHERE state <> 'void' ORDER BY 1, 2, 3`),
		"lines": r.rows(`SELECT i.client, l.position, l.kind, l.description, coalesce(l.code, ''), coalesce(l.calls, 0),
			coalesce(l.billed_seconds, 0), l.amount FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
			WHERE i.state = 'issued' ORDER BY 1, 2`),
		"reconcile": strings.Split(r.ctl("report", "reconcile", "--period", "2026-10"), "\n"),
	}
}

func firstDifference(a, b []string) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("row %d: clean %q, faulty %q", i+1, x, y)
		}
	}
	return ""
}

// report logs the figures docs/reliability.md records, and fails the run
// if a phase ended more than 60 s after the last fault it met.
func (r *run) report(clean *run) {
	t := r.t
	if r.workers.kills < 10 {
		t.Errorf("only %d workers were killed: the run is too short to tell", r.workers.kills)
	}
	if len(r.outages) != 2 {
		t.Errorf("%d outages happened, want PostgreSQL's and S3's", len(r.outages))
	}
	for _, o := range r.outages {
		t.Logf("%s: back after %.0f s; the work it stopped moved on %.1f s later", o.name, o.end.Sub(o.start).Seconds(), o.recovered.Seconds())
		if o.recovered > 60*time.Second {
			t.Errorf("%s: the work it stopped moved on only %s after it was back: want within 60 s", o.name, o.recovered.Round(time.Second))
		}
		if !slices.ContainsFunc(r.phases, func(p span) bool { return !o.start.Before(p.start) && !o.start.After(p.end) }) {
			t.Errorf("the %s outage began between phases: it tried nothing", o.name)
		}
	}
	faults := append([]span(nil), r.outages...)
	for _, k := range r.kills {
		faults = append(faults, span{name: "kill", start: k, end: k})
	}
	// A phase's recovery is how long it ran on after the last fault that
	// ended in it (an upper bound: it had work left of its own); faults
	// keep coming during a phase, so only the last one can be waited out.
	// A fault that ended between phases cost the next phase nothing.
	worst := map[string]time.Duration{}
	for _, p := range r.phases {
		var last *span
		for i := range faults {
			if f := &faults[i]; !f.end.Before(p.start) && !f.end.After(p.end) && (last == nil || f.end.After(last.end)) {
				last = f
			}
		}
		if last == nil {
			continue
		}
		rec := p.end.Sub(last.end)
		worst[last.name] = max(worst[last.name], rec)
		if rec > 60*time.Second {
			t.Errorf("phase %s ended %s after the last fault in it (a %s) ended: want within 60 s", p.name, rec.Round(time.Second), last.name)
		}
	}
	took := func(x *run) time.Duration {
		return x.phases[len(x.phases)-1].end.Sub(x.phases[0].start).Round(time.Second)
	}
	t.Logf("clean run: %s; faulty run: %s", took(clean), took(r))
	t.Logf("faults: %d worker SIGKILLs, %d outages (%s), %d billctl commands run again after a fault",
		r.workers.kills, len(r.outages), outageNames(r.outages), r.retries)
	t.Logf("races: %d changed-file re-ingestions during a rerate, %d drafts-of-every-client during a rerate (%d refused as changed under them)",
		r.raceRuns.file, r.raceRuns.invoices, r.raceRuns.createFailed)
	t.Logf("worst recovery (a phase ran on after the last fault in it for): kill %s, postgres %s, s3 %s",
		worst["kill"].Round(100*time.Millisecond), worst["postgres"].Round(100*time.Millisecond), worst["s3"].Round(100*time.Millisecond))
	for _, p := range r.phases {
		t.Logf("  phase %-16s %6.1f s", p.name, p.end.Sub(p.start).Seconds())
	}
}

func outageNames(s []span) string {
	var n []string
	for _, o := range s {
		n = append(n, fmt.Sprintf("%s %.0f s", o.name, o.end.Sub(o.start).Seconds()))
	}
	return strings.Join(n, ", ")
}

// killWorkers SIGKILLs a worker every 3 to 8 s until stop.
func (r *run) killWorkers(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(3000+r.rng.IntN(5000)) * time.Millisecond):
		}
		r.workers.kill(r.rng)
		r.mu.Lock()
		r.kills = append(r.kills, time.Now())
		r.mu.Unlock()
	}
}

// after runs fault in the background, in a faulty run only, once cond
// holds (or after a minute); the function it returns waits for it.
func (r *run) after(cond func() bool, fault func()) func() {
	if !r.faults {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for end := time.Now().Add(time.Minute); !cond() && time.Now().Before(end); {
			time.Sleep(100 * time.Millisecond)
		}
		fault()
	}()
	return func() { <-done }
}

// outage stops a service for d and starts it again, and measures its
// recovery: how long after the service is back the work it stopped moves on
// (progress grows), unless that work was all done (progress reached done).
func (r *run) outage(name string, d time.Duration, stop, start func() error, progress func() int64, done int64) {
	s := span{name: name, start: time.Now()}
	if err := stop(); err != nil {
		r.t.Errorf("%s: %v", name, err)
		return
	}
	time.Sleep(d)
	if err := start(); err != nil {
		r.t.Errorf("%s: %v", name, err)
		return
	}
	s.end = time.Now()
	base := progress()
	for base < done && progress() == base && time.Since(s.end) < 2*time.Minute {
		time.Sleep(100 * time.Millisecond)
	}
	s.recovered = time.Since(s.end)
	if base >= done {
		s.recovered = 0
	}
	r.mu.Lock()
	r.outages = append(r.outages, s)
	r.mu.Unlock()
}

func (r *run) phase(name string, f func()) {
	s := span{name: name, start: time.Now()}
	f()
	s.end = time.Now()
	r.phases = append(r.phases, s)
}

// together runs billctl commands at once, each until it succeeds, and
// returns the error each first met: a race may refuse a command.
func (r *run) together(cmds ...[]string) []error {
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		wg.Go(func() {
			out, err := r.try(args...)
			if err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, tail([]byte(out), 500))
				r.ctl(args...)
			}
		})
	}
	wg.Wait()
	return errs
}

// ctl runs billctl until it succeeds: a fault may make a command fail, and
// finance would run it again. After eight failures the test fails.
func (r *run) ctl(args ...string) string {
	var out string
	var err error
	for attempt := range 8 {
		if out, err = r.try(args...); err == nil {
			return out
		}
		if attempt > 0 || !r.faults {
			r.t.Logf("%s: billctl %s: %v\n%s", r.name, strings.Join(args, " "), err, tail([]byte(out), 2000))
		}
		r.retried(args[0], out)
		time.Sleep(3 * time.Second)
	}
	r.t.Fatalf("%s: billctl %s kept failing: %v\n%s\nworkers:\n%s", r.name, strings.Join(args, " "), err, out, r.workers.logs())
	return ""
}

func (r *run) retried(what, out string) {
	r.mu.Lock()
	r.retries++
	r.mu.Unlock()
	if !r.faults {
		r.t.Errorf("%s: %s failed without a fault: %s", r.name, what, tail([]byte(out), 2000))
	}
}

func (r *run) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.billctl, args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return string(out), err
}

// count runs a query of one number; a crashed database is waited for.
func (r *run) count(q string) int64 {
	var n int64
	r.query(func(c *pgx.Conn) error { return c.QueryRow(context.Background(), q).Scan(&n) })
	return n
}

func (r *run) ids(q string) []string {
	var out []string
	r.query(func(c *pgx.Conn) error {
		out = nil
		rows, err := c.Query(context.Background(), q)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out
}

// rows is a query's rows as text, sorted.
func (r *run) rows(q string) []string {
	return sorted(r.ids(`SELECT concat_ws('|', VARIADIC ARRAY(SELECT x::text FROM json_each_text(row_to_json(q)) AS j(k, x))) FROM (` + q + `) q`))
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

func (r *run) query(f func(*pgx.Conn) error) {
	var err error
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		var c *pgx.Conn
		if c, err = pgx.Connect(context.Background(), r.db); err == nil {
			err = f(c)
			c.Close(context.Background())
			if err == nil {
				return
			}
		}
	}
	r.t.Fatalf("%s: query: %v", r.name, err)
}
