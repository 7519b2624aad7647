//go:build chaos

package chaos_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// corrections is how many times each race of corrections is run.
const corrections = 4

// TestCorrectionsRacedEndExact issues the month while its prices change,
// then races what finance does to an issued month (billing-rules §7) on
// services of its own: adjusts of all clients and of one at once, an adjust
// while a rerate reprices the month, a void while an adjust runs (and the
// month invoiced again), and an invoice day changed while an adjust runs.
// After each round no invoice may have got two notes, and once the month is
// adjusted nothing may be due: every issued invoice plus its issued notes is
// the invoice recomputed now, no call is adjustment_due, and each client's
// balance is exactly what its documents in force add up to.
func TestCorrectionsRacedEndExact(t *testing.T) {
	billctl, worker := build(t)
	pg := startPostgres(t)
	s3 := startS3(t)
	m := writeMonth(t, t.TempDir())
	r := newRun(t, "corrections", billctl, worker, pg, s3, m, false)
	r.ctl(append([]string{"cdr", "upload"}, m.cdrFiles...)...)
	r.ctl("cdr", "ingest", "--wait")
	// The late client's calls wait for its account, as finance would find.
	if out, err := r.try("run", "bill", "--period", "2026-10", "--state", "issued", "--wait"); !strings.Contains(out, "waits") {
		t.Fatalf("the month's bill run did not wait on the late client: %v\n%s", err, tail([]byte(out), 2000))
	}
	r.ctl("import", "accounts", m.path("late-account.csv"))
	// Master data edited while the run rerates and invoices: a price change
	// lands before, during or after the run reads it; what it changed
	// after the run's rerate is stale, rerated and corrected by notes.
	r.round("a price change during the bill run", func() {
		r.together([]string{"run", "resolve", "bill-run-2026-10", "--rerate", "--wait"},
			[]string{"import", "rates", "--table", "retail-eur", m.path("rates-fix-b.csv")})
		// What the change made stale after the run read it.
		r.ctl("rerate", "--from", "2026-10-01", "--to", "2026-11-01", "--match", "stale", "--wait")
	})
	fix := func(v int) {
		r.ctl("import", "rates", "--table", "retail-eur", m.path([]string{"rates-fix-a.csv", "rates-fix-b.csv"}[v%2]))
	}
	rerate := []string{"rerate", "--from", "2026-10-01", "--to", "2026-11-01", "--wait"}
	adjust := func(who ...string) []string {
		return append([]string{"invoice", "adjust", "--period", "2026-10", "--state", "issued", "--wait"}, who...)
	}
	one := fmt.Sprintf("c%02d", 1)

	for v := 1; v <= corrections; v++ {
		fix(v)
		r.ctl(rerate...)
		r.round(fmt.Sprintf("adjusts at once, round %d", v), func() {
			r.together(adjust("--all"), adjust("--client", one), adjust("--client", fmt.Sprintf("c%02d", 2)))
		})
	}
	for v := 1; v <= corrections; v++ {
		fix(v + 1)
		r.round(fmt.Sprintf("an adjust during a rerate, round %d", v), func() { r.together(rerate, adjust("--all")) })
	}
	for v := 1; v <= corrections; v++ {
		fix(v)
		r.ctl(rerate...)
		victim := fmt.Sprintf("c%02d", 2+v)
		id := r.ids(`SELECT id::text FROM invoices WHERE client = '` + victim + `' AND kind = 'invoice' AND state = 'issued'`)
		if len(id) != 1 {
			t.Fatalf("%s has %d issued invoices", victim, len(id))
		}
		r.round(fmt.Sprintf("a void during an adjust, round %d", v), func() {
			r.together(adjust("--all"), []string{"invoice", "void", id[0]})
			r.ctl("invoice", "create", "--client", victim, "--period", "2026-10", "--state", "issued", "--wait")
		})
	}
	for v := 1; v <= corrections; v++ {
		fix(v + 1)
		r.ctl(rerate...)
		r.round(fmt.Sprintf("an invoice day changed during an adjust, round %d", v), func() {
			r.together(adjust("--all"), []string{"import", "clients", m.clientsWithDay(t, one, 1+6*v)})
		})
	}
}

// round runs a race, then adjusts what its order left due (an adjust that
// ran before a rerate, say, rightly found nothing yet), and checks that no
// invoice got more than one note in the round (a correction billed twice,
// or a passing state billed and taken back, would make two) and that the
// month is exact.
func (r *run) round(when string, race func()) {
	t := r.t
	t.Helper()
	notes := func() map[string]int64 {
		out := map[string]int64{}
		for _, row := range r.rows(`SELECT corrects, count(*) FROM invoices WHERE corrects IS NOT NULL AND state = 'issued' GROUP BY corrects`) {
			inv, n, _ := strings.Cut(row, "|")
			out[inv], _ = strconv.ParseInt(n, 10, 64)
		}
		return out
	}
	before := notes()
	r.phase(when, race)
	r.ctl("invoice", "adjust", "--all", "--period", "2026-10", "--state", "issued", "--wait")
	r.exact(when)
	for inv, n := range notes() {
		if n-before[inv] > 1 {
			t.Fatalf("%s: invoice %s got %d notes in one round: a correction billed twice", when, inv, n-before[inv])
		}
	}
}

// exact checks that nothing is due, and that balances are what the
// documents in force add up to.
func (r *run) exact(when string) {
	t := r.t
	t.Helper()
	var notes []map[string]string
	out := r.ctl("--format", "json", "invoice", "adjust", "--all", "--period", "2026-10", "--state", "issued", "--wait")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &notes); err != nil {
		t.Fatalf("%s: %v\n%s", when, err, out)
	}
	for _, n := range notes {
		if n["note"] != "" {
			t.Fatalf("%s: a correction was still due after the last adjust: %v", when, n)
		}
	}
	if strings.Contains(r.ctl("report", "reconcile", "--period", "2026-10"), "adjustment_due") {
		t.Fatalf("%s: calls adjustment_due after the last adjust", when)
	}
	if n := r.count(`SELECT count(*) FROM (SELECT client FROM invoices WHERE kind = 'invoice' AND state = 'issued'
		GROUP BY client HAVING count(*) > 1) x`); n != 0 {
		t.Fatalf("%s: %d clients have two issued invoices of the month", when, n)
	}
	if n := r.count(`SELECT count(*) FROM invoices n JOIN invoices i ON i.id = n.corrects WHERE i.state = 'void' AND n.state <> 'void'`); n != 0 {
		t.Fatalf("%s: %d notes in force correct a void invoice", when, n)
	}
	var owed []map[string]string
	out = r.ctl("--format", "json", "client", "balance", "--at", "2027-06-01")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &owed); err != nil {
		t.Fatalf("%s: %v\n%s", when, err, out)
	}
	docs := map[string]string{}
	for _, row := range r.rows(`SELECT client, sum(total) FROM invoices WHERE state = 'issued' GROUP BY client`) {
		client, total, _ := strings.Cut(row, "|")
		docs[client] = total
	}
	for _, b := range owed {
		if want := docs[b["client"]]; want != "" && b["balance"] != want {
			t.Fatalf("%s: %s owes %s; its documents in force add up to %s", when, b["client"], b["balance"], want)
		}
	}
}

// clientsWithDay writes a clients file of client alone (as writeMonth
// made it, a EUR client with an odd number) with its invoice day changed.
func (m *month) clientsWithDay(t *testing.T, client string, day int) string {
	name := fmt.Sprintf("clients-%s-%d.csv", client, day)
	m.write(t, name, "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		fmt.Sprintf("%s,Client %s,EUR,UTC,retail-eur,de-vat,%d,0,default,,,true\n", client, strings.TrimPrefix(client, "c"), day))
	return m.path(name)
}
