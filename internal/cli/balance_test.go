package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/internal/workerapp"
)

// demoWithWorker is the demo catalogue on a database of its own, a bucket
// and task queue of their own, and a worker polling it: billctl's URL.
func demoWithWorker(t *testing.T) string {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	c, queue := temporaltest.New(t)
	s3 := s3test.New(t)
	t.Setenv("S3_BUCKET", s3.Bucket())
	t.Setenv("TEMPORAL_TASK_QUEUE", queue)
	w := workerapp.New(c, queue, activities.New(billing.New(store, s3)))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return pgtest.URL(t, store)
}

// TestAResellersClientsAreInvoicedUnderItsNameAndNumbers: a reseller's
// client gets numbers from the reseller's sequence and its seller details;
// the carrier's clients keep the carrier's.
func TestAResellersClientsAreInvoicedUnderItsNameAndNumbers(t *testing.T) {
	url := demoWithWorker(t)
	importAll(t, url,
		[]string{"resellers", write(t, "resellers.csv", "id,name,address,tax_id,email,invoice_template\n"+
			"albion,Albion Voice Ltd,\"1 Albion St, Leeds\",GB123456789,billing@albion.example,ALB/{YYYY}/{SEQ:4}\n")},
		[]string{"clients", write(t, "clients.csv", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice,reseller\n"+
			"acme,Acme Telecom GmbH,EUR,Europe/Berlin,acme-special,de-vat,1,14,default,billing@acme.example,Berlin,true,albion\n")})
	for _, tc := range []struct{ client, number string }{{"acme", "ALB/2026/0001"}, {"initech", "INV-2026-000001"}} {
		if code, _, errOut := run(t, url, "invoice", "create", "--client", tc.client, "--period", "2026-10", "--state", "issued", "--wait"); code != 0 {
			t.Fatal(errOut)
		}
		code, out, errOut := run(t, url, "--format", "json", "invoice", "list", "--client", tc.client, "--period", "2026-10")
		var invs []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &invs) != nil || len(invs) != 1 || invs[0]["number"] != tc.number {
			t.Fatalf("%s: exit %d: %s %s, want number %s", tc.client, code, out, errOut, tc.number)
		}
		dir := t.TempDir()
		if code, _, errOut := run(t, url, "invoice", "download", invs[0]["id"].(string), "--out", dir); code != 0 {
			t.Fatal(errOut)
		}
		doc, err := os.ReadFile(filepath.Join(dir, strings.ReplaceAll(tc.number, "/", "-")+".pdf"))
		if err != nil {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("%v: %v", err, entries)
		}
		// The seller is the PDF's author, in the document's info dictionary (UTF-16).
		albion := bytes.Contains(doc, utf16be("Albion Voice Ltd"))
		if albion != (tc.client == "acme") {
			t.Errorf("%s's invoice names Albion as its seller: %v", tc.client, albion)
		}
	}
	// An invoice run of Albion's clients only: globex (autoinvoice, the carrier's) is not invoiced.
	if code, _, errOut := run(t, url, "invoice", "create", "--all", "--reseller", "albion", "--period", "2026-10", "--wait"); code != 0 {
		t.Fatal(errOut)
	}
	if code, out, _ := run(t, url, "--format", "csv", "invoice", "list", "--period", "2026-10", "--client", "globex"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("globex was invoiced by Albion's run: %s", out)
	}
	for _, args := range [][]string{{"invoice", "list", "--period", "2026-10"}, {"client", "balance"}} {
		code, out, errOut := run(t, url, append([]string{"--format", "csv"}, append(args, "--reseller", "albion")...)...)
		if code != 0 || !strings.Contains(out, "acme") || strings.Contains(out, "initech") {
			t.Errorf("%v --reseller albion: exit %d: %s %s", args, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, url, "report", "summary", "--from", "2026-10-01", "--to", "2026-11-01", "--reseller", "nobody"); code == 0 ||
		!strings.Contains(errOut, `no reseller "nobody"`) {
		t.Errorf("an unknown reseller: exit %d: %s", code, errOut)
	}
}

func utf16be(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// TestAClientsBalanceAgesItsInvoicesLessItsPaymentsAndItsStatementClosesThere
// issues an invoice on the real services, records a payment, and reads the
// balance, its ageing, the statement and the readiness warning back.
func TestAClientsBalanceAgesItsInvoicesLessItsPaymentsAndItsStatementClosesThere(t *testing.T) {
	url := demoWithWorker(t)
	if code, _, errOut := run(t, url, "invoice", "create", "--client", "acme", "--period", "2026-10", "--state", "issued", "--wait"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := run(t, url, "--format", "json", "invoice", "list", "--client", "acme", "--period", "2026-10")
	var invs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &invs) != nil || len(invs) != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	total := decimal.RequireFromString(invs[0]["total"].(string))
	// Every day below is taken from the invoice itself: it is issued today,
	// whatever day that is, so no fixed date can stand before or after it.
	issued, _ := time.Parse(time.DateOnly, invs[0]["issue_date"].(string))
	due, _ := time.Parse(time.DateOnly, invs[0]["due_date"].(string))
	number := invs[0]["number"].(string)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	paid := issued.AddDate(0, 0, 1) // the day after issue: a balance at its start is before the payment

	for _, bad := range []struct{ file, want string }{
		{"client,date,amount,currency,reference\nacme," + day(paid) + ",20.00,USD,BANK-1\n", "payments.csv:2: field currency: client acme is billed in EUR"},
		{"client,date,amount,currency,reference\nacme," + day(paid) + ",20.00,EUR,BANK-1\nacme," + day(paid.AddDate(0, 0, 1)) + ",5.00,EUR,BANK-1\n", "payments.csv:3: field reference"},
		{"client,date,amount,currency,reference\nghost," + day(paid) + ",20.00,EUR,BANK-9\n", "payments.csv:2: field client: unknown client"},
	} {
		code, _, errOut := run(t, url, "import", "payments", write(t, "payments.csv", bad.file))
		if code == 0 || !strings.Contains(errOut, bad.want) {
			t.Errorf("exit %d: %s, want %s", code, errOut, bad.want)
		}
	}
	payments := write(t, "payments.csv", "client,date,amount,currency,reference\nacme,"+day(paid)+",20.00,EUR,BANK-1\n")
	importAll(t, url, []string{"payments", payments})
	if code, _, errOut := run(t, url, "import", "payments", payments); code == 0 || !strings.Contains(errOut, `payment "BANK-1" was imported before`) {
		t.Errorf("a reference used again: exit %d: %s", code, errOut)
	}

	owed := total.Sub(decimal.NewFromInt(20))
	late := due.AddDate(0, 0, 36) // 36 days past due: the 31–60 bucket
	code, out, errOut = run(t, url, "--format", "json", "client", "balance", "--client", "acme", "--at", day(late))
	var bal []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &bal) != nil || len(bal) != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if bal[0]["balance"] != owed.StringFixed(2) || bal[0]["days_31_60"] != owed.StringFixed(2) || bal[0]["current"] != "0.00" || bal[0]["currency"] != "EUR" {
		t.Fatalf("balance %v, want %s owed 31–60 days", bal[0], owed.StringFixed(2))
	}
	code, out, _ = run(t, url, "--format", "json", "client", "balance", "--client", "acme", "--at", day(paid))
	if code != 0 || !strings.Contains(out, `"balance": "`+total.StringFixed(2)+`"`) || !strings.Contains(out, `"current": "`+total.StringFixed(2)+`"`) {
		t.Fatalf("before the payment and the due date: %s", out)
	}
	code, out, _ = run(t, url, "--format", "json", "client", "balance", "--client", "acme", "--at", day(issued))
	if code != 0 || !strings.Contains(out, `"balance": "0.00"`) {
		t.Fatalf("at the start of the issue day, before the invoice: %s", out)
	}

	dir := t.TempDir()
	code, out, errOut = run(t, url, "--format", "json", "client", "statement", "--client", "acme", "--from", day(issued), "--to", day(late), "--out", dir)
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	lines, _ := json.Marshal(st["lines"])
	if st["opening_balance"] != "0.00" || st["closing_balance"] != bal[0]["balance"] || !strings.Contains(string(lines), number) || !strings.Contains(string(lines), "BANK-1") {
		t.Fatalf("statement %s", out)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "statement-acme-"+day(issued)+".csv"))
	if err != nil || !strings.Contains(string(csv), "closing_balance,,,,"+owed.StringFixed(2)+"\n") {
		t.Fatalf("%v\n%s", err, csv)
	}
	if pdf, err := os.ReadFile(filepath.Join(dir, "statement-acme-"+day(issued)+".pdf")); err != nil || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Fatalf("%v: %d bytes", err, len(pdf))
	}

	// A credit limit below what acme owes now: readiness warns, and does not stop.
	clients := write(t, "clients.csv", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice,credit_limit\n"+
		"acme,Acme Telecom GmbH,EUR,Europe/Berlin,acme-special,de-vat,1,14,default,billing@acme.example,\"Hauptstr. 1, 10115 Berlin\",true,10.00\n")
	importAll(t, url, []string{"clients", clients})
	code, out, _ = run(t, url, "check", "readiness", "--period", "2026-10", "--client", "acme")
	if !strings.Contains(out, "credit_limit") || !strings.Contains(out, "over its credit limit of 10.00 EUR") {
		t.Fatalf("exit %d: %s", code, out)
	}
}
