//go:build chaos && scale

package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestACarrierMonth is `make scale`: a carrier's month at the size of
// BILLRUN_SCALE_CLIENTS clients (20,000 unless set) of BILLRUN_SCALE_CALLS
// calls each (10), on services of its own with two workers, through
// billctl as finance runs it. October is billed and issued; a rate fix
// reprices every client's calls; the rerate reports every call changed
// and one difference per client; the notes are issued, one per client;
// nothing is left due. November's bill run waits on the calls a price
// change after ingestion made stale; resolved with a rerate, it issues
// every invoice at the new price. Each step's time and the answers of run
// status, run list and invoice list are logged for docs/scaling.md.
func TestACarrierMonth(t *testing.T) {
	n, calls := envInt(t, "BILLRUN_SCALE_CLIENTS", 20000), envInt(t, "BILLRUN_SCALE_CALLS", 10)
	billctl, worker := build(t)
	pg := startPostgres(t)
	s3 := startS3(t)
	m := writeCarrier(t, t.TempDir(), n, calls)
	r := newRun(t, "scale", billctl, worker, pg, s3, m, false)
	all := strconv.Itoa(n * calls)

	r.step("ingest October", "cdr", "upload", m.path("cdrs-2026-10.csv"))
	r.step("ingest October", "cdr", "ingest", "--wait")
	if got := r.count(`SELECT count(*) FROM cdrs WHERE cost = 0.12`); got != int64(n*calls) {
		t.Fatalf("%d of %d October calls rated at 0.12", got, n*calls)
	}
	r.step("bill October", "run", "bill", "--period", "2026-10", "--state", "issued", "--wait")
	r.issued("2026-10", "invoice", n, "1.20") // 10 × 60 s at 0.12/min

	// A rate fix reprices every call of the month.
	r.step("rate fix", "import", "rates", "--table", "retail-eur", m.path("rates-fix-10.csv"))
	var rr struct {
		Examined, Changed int
		Differences       []map[string]string
	}
	out := r.step("rerate October", "--format", "json", "rerate", "--from", "2026-10-01", "--to", "2026-11-01", "--wait")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rr); err != nil {
		t.Fatalf("rerate: %v\n%s", err, tail([]byte(out), 2000))
	}
	if strconv.Itoa(rr.Examined) != all || strconv.Itoa(rr.Changed) != all || len(rr.Differences) != n {
		t.Fatalf("rerate: examined %d, changed %d, %d differences; want %s, %s and one per client (%d)", rr.Examined, rr.Changed,
			len(rr.Differences), all, all, n)
	}
	r.step("adjust October", "invoice", "adjust", "--all", "--period", "2026-10", "--state", "issued", "--wait")
	r.issued("2026-10", "debit", n, "0.20") // 10 × (0.14 − 0.12)
	r.nothingDue("2026-10")

	// November: a price change after ingestion makes its calls stale; the
	// bill run waits on them, and the rerate that resolves it reprices.
	r.step("ingest November", "cdr", "upload", m.path("cdrs-2026-11.csv"))
	r.step("ingest November", "cdr", "ingest", "--wait")
	r.step("rate fix", "import", "rates", "--table", "retail-eur", m.path("rates-fix-11.csv"))
	if out, err := r.long("bill November", "run", "bill", "--period", "2026-11", "--state", "issued", "--wait"); !strings.Contains(out, "waits") {
		t.Fatalf("November's bill run did not wait on its stale calls: %v\n%s", err, tail([]byte(out), 2000))
	}
	r.step("resolve November", "run", "resolve", "bill-run-2026-11", "--rerate", "--wait")
	r.issued("2026-11", "invoice", n, "1.30") // 10 × 60 s at 0.13/min
	r.nothingDue("2026-11")

	for _, q := range [][]string{
		{"run", "status", "bill-run-2026-11"},
		{"run", "list"},
		{"invoice", "list", "--period", "2026-11"},
	} {
		var took []time.Duration
		for range 3 {
			start := time.Now()
			r.step("", q...)
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		t.Logf("billctl %s at %d clients: median %s of %v", strings.Join(q, " "), n, took[1].Round(time.Millisecond), took)
	}
	for _, s := range r.phases {
		t.Logf("%-20s %s", s.name, s.end.Sub(s.start).Round(time.Second))
	}
}

// writeCarrier writes n clients of retail-eur (Europe/Berlin, VAT 19 %,
// invoice day 1), an IP account each, and the calls of October and
// November: calls a client, each a minute to a German mobile, on the 2nd
// to the 14th.
func writeCarrier(t *testing.T, dir string, n, calls int) *month {
	m := &month{dir: dir}
	var cl, ac strings.Builder
	cl.WriteString("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n")
	ac.WriteString("client,kind,value,tech_prefix,rate_table,enabled\n")
	for i := range n {
		fmt.Fprintf(&cl, "s%06d,Carrier Client %d,EUR,Europe/Berlin,retail-eur,de-vat,1,14,default,,,true\n", i, i)
		fmt.Fprintf(&ac, "s%06d,ip,%s,,,true\n", i, scaleIP(i))
	}
	m.write(t, "clients.csv", cl.String())
	m.write(t, "accounts.csv", ac.String())
	for _, month := range []string{"2026-10", "2026-11"} {
		var b strings.Builder
		b.WriteString("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n")
		for i := range n {
			for k := range calls {
				fmt.Fprintf(&b, "%s-s%06d-%02d,%s-%02d 12:%02d:%02d,60,%s,,4930111111,49151%08d,ANSWERED\n", month, i, k, month,
					2+k%13, i/60%60, i%60, scaleIP(i), i)
			}
		}
		m.write(t, "cdrs-"+month+".csv", b.String())
	}
	// retail-eur's Germany Mobile is 0.1200 a minute, 30/6, up to 15
	// October and 0.1100 from then on: October's fix makes its first half
	// 0.1400, November's fix makes November 0.1300.
	m.write(t, "rates-fix-10.csv", "code,rate,effective_from,end,increment,setup_fee\n4915,0.1400,2026-10-01,,30/6,\n")
	m.write(t, "rates-fix-11.csv", "code,rate,effective_from,end,increment,setup_fee\n4915,0.1300,2026-11-01,,30/6,\n")
	return m
}

func scaleIP(i int) string { return fmt.Sprintf("10.%d.%d.%d", i/62500, i/250%250, 1+i%250) }

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// long runs billctl for as long as a step at this size takes, timed as a
// phase of the run when named.
func (r *run) long(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, r.billctl, args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if name != "" {
		r.mu.Lock()
		if k := len(r.phases) - 1; k >= 0 && r.phases[k].name == name {
			r.phases[k].end = time.Now()
		} else {
			r.phases = append(r.phases, span{name: name, start: start, end: time.Now()})
		}
		r.mu.Unlock()
	}
	return string(out), err
}

// step is long that must succeed.
func (r *run) step(name string, args ...string) string {
	r.t.Helper()
	out, err := r.long(name, args...)
	if err != nil {
		r.t.Fatalf("billctl %s: %v\n%s\nworkers:\n%s", strings.Join(args, " "), err, tail([]byte(out), 3000), r.workers.logs())
	}
	return out
}

// issued checks that the month has n issued documents of kind, each of
// subtotal.
func (r *run) issued(month, kind string, n int, subtotal string) {
	r.t.Helper()
	where := fmt.Sprintf(`period = '%s' AND state = 'issued' AND `, month)
	if kind == "invoice" {
		where += `corrects IS NULL`
	} else {
		where += `corrects IS NOT NULL`
	}
	if got := r.count(`SELECT count(*) FROM invoices WHERE ` + where); got != int64(n) {
		r.t.Fatalf("%s: %d issued %ss, want %d", month, got, kind, n)
	}
	if got := r.count(`SELECT count(*) FROM invoices WHERE ` + where + ` AND subtotal = ` + subtotal); got != int64(n) {
		r.t.Fatalf("%s: %d of %d issued %ss of %s", month, got, n, kind, subtotal)
	}
	if got := r.count(`SELECT count(*) FROM invoices WHERE ` + where + ` AND documents = '{}'`); got != 0 {
		r.t.Fatalf("%s: %d issued %ss have no documents", month, got, kind)
	}
}

// nothingDue checks that reconcile finds no call whose correction is due.
func (r *run) nothingDue(month string) {
	r.t.Helper()
	if out := r.step("", "report", "reconcile", "--period", month); strings.Contains(out, "adjustment_due") || strings.Contains(out, "not_invoiced") {
		r.t.Fatalf("%s: reconcile still finds calls to correct:\n%s", month, tail([]byte(out), 2000))
	}
}
