//go:build chaos

package chaos_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The month both runs bill: clients of two currencies and tables, CDR files
// with a bad line each, one file delivered twice, one client whose account
// finance adds only when the bill run waits on its calls.
const (
	clients      = 24
	files        = 12
	callsPerFile = 4000
	raceCalls    = 600
)

// lateIP is the account finance has not entered when the month's calls
// arrive: its calls are mismatched until the bill run waits on them.
const lateIP = "203.0.113.25"

// destinations are rated by both tables (wholesale-usd by a shorter code).
var destinations = []string{"12125550100", "442079460000", "447700900123", "4930123456", "4915112345678", "4969123456"}

// month is the generated input and what a correct run must store from it.
type month struct {
	dir        string
	cdrFiles   []string // paths, uploaded together
	again      string   // a copy of the first file under another name: every call a duplicate
	race       string   // race.csv, rewritten for each race
	calls      int      // calls to be stored, besides the race file's
	rejected   int      // lines to be rejected
	lateClient string
}

func writeMonth(t testing.TB, dir string) *month {
	t.Helper()
	m := &month{dir: dir, lateClient: fmt.Sprintf("c%02d", clients+1)}
	var cl, ac strings.Builder
	cl.WriteString("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n")
	ac.WriteString("client,kind,value,tech_prefix,rate_table,enabled\n")
	for i := 1; i <= clients+1; i++ {
		cur, table, tax := "USD", "wholesale-usd", "us-none"
		if i%2 == 1 {
			cur, table, tax = "EUR", "retail-eur", "de-vat"
		}
		fmt.Fprintf(&cl, "c%02d,Client %02d,%s,UTC,%s,%s,1,0,default,,,true\n", i, i, cur, table, tax)
		if i <= clients {
			fmt.Fprintf(&ac, "c%02d,ip,%s,,,true\n", i, clientIP(i))
		}
	}
	m.write(t, "clients.csv", cl.String())
	m.write(t, "accounts.csv", ac.String())
	m.write(t, "late-account.csv", fmt.Sprintf("client,kind,value,tech_prefix,rate_table,enabled\n%s,ip,%s,,,true\n", m.lateClient, lateIP))
	// Two rates of retail-eur's Germany Mobile that the races switch between.
	m.write(t, "rates-fix-a.csv", "code,rate,effective_from,end,increment,setup_fee\n4915,0.1000,2026-10-15,,30/6,\n")
	m.write(t, "rates-fix-b.csv", "code,rate,effective_from,end,increment,setup_fee\n4915,0.1050,2026-10-15,,30/6,\n")

	rng := rand.New(rand.NewPCG(12, 10))
	for f := 1; f <= files; f++ {
		var b strings.Builder
		b.WriteString("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n")
		for i := range callsPerFile {
			ip := clientIP(1 + rng.IntN(clients))
			if i%100 == 7 {
				ip = lateIP
			}
			writeCall(&b, rng, fmt.Sprintf("f%02d-%05d", f, i), 1+rng.IntN(31), ip)
			m.calls++
		}
		// One line each file rejects, in the middle.
		fmt.Fprintf(&b, "f%02d-bad,2026-10-05 10:00:00,not-a-number,%s,,4930111111,4930123456,ANSWERED\n", f, clientIP(1))
		m.rejected++
		name := fmt.Sprintf("cdrs-2026-10-%02d.csv", f)
		m.write(t, name, b.String())
		m.cdrFiles = append(m.cdrFiles, filepath.Join(dir, name))
	}
	first, err := os.ReadFile(m.cdrFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	m.write(t, "cdrs-2026-10-01-again.csv", string(first))
	m.again = filepath.Join(dir, "cdrs-2026-10-01-again.csv")
	m.rejected++ // the copy's bad line is rejected too: a rejected line is no call
	m.race = filepath.Join(dir, "race.csv")
	return m
}

func clientIP(i int) string { return fmt.Sprintf("10.0.%d.%d", i/200, 1+i%200) }

func writeCall(b *strings.Builder, rng *rand.Rand, id string, day int, ip string) {
	dur, disp := fmt.Sprintf("%d", 1+rng.IntN(900)), "ANSWERED"
	switch rng.IntN(10) {
	case 0:
		dur, disp = "0", "NO ANSWER"
	case 1:
		dur = fmt.Sprintf("%d.%d", rng.IntN(300), rng.IntN(10))
	}
	fmt.Fprintf(b, "%s,2026-10-%02d %02d:%02d:%02d,%s,%s,,4930%06d,%s,%s\n", id, day, rng.IntN(24), rng.IntN(60), rng.IntN(60),
		dur, ip, rng.IntN(1_000_000), destinations[rng.IntN(len(destinations))], disp)
}

// writeRace writes version v of race.csv: calls of 20 and 21 October whose
// durations differ from one version to the next; it returns their count.
func (m *month) writeRace(t testing.TB, v int) int {
	rng := rand.New(rand.NewPCG(uint64(v), 99))
	n := raceCalls + v*7
	var b strings.Builder
	b.WriteString("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n")
	for i := range n {
		writeCall(&b, rng, fmt.Sprintf("race-%05d", i), 20+i%2, clientIP(1+rng.IntN(clients)))
	}
	m.write(t, "race.csv", b.String())
	return n
}

func (m *month) write(t testing.TB, name, body string) {
	if err := os.WriteFile(filepath.Join(m.dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (m *month) path(name string) string { return filepath.Join(m.dir, name) }
