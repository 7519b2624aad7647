package billing_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rerate"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

var ctx = context.Background()

// Instants of the tests' months, never today's.
var (
	berlin, _ = time.LoadLocation("Europe/Berlin")
	issuedAt  = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)  // October is invoiced
	adjustAt  = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) // and corrected
)

// month is the demo catalogue and October's calls on the real services.
type month struct {
	t     *testing.T
	store *postgres.Store
	svc   *billing.Service
}

func october(t *testing.T) *month {
	t.Helper()
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	s3 := s3test.New(t)
	m := &month{t: t, store: store, svc: billing.New(store, s3)}
	m.svc.Clock = func() time.Time { return adjustAt }
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "cdrs-2026-10.csv"))
	if err != nil {
		t.Fatal(err)
	}
	m.ingest("october.csv", body)
	return m
}

func (m *month) ingest(name string, body []byte) {
	m.t.Helper()
	key := billing.InboxKey(cdr.Canonical, name)
	if _, err := m.svc.Objects.Put(ctx, key, bytes.NewReader(body), "text/csv", nil); err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.svc.Ingest(ctx, key, "", nil); err != nil {
		m.t.Fatal(err)
	}
}

// issue invoices client's month, issued at the instant at.
func (m *month) issue(client string, month period.Month, at time.Time) billing.Created {
	m.t.Helper()
	c, err := m.svc.CreateInvoice(ctx, client, billing.InvoiceOptions{Period: month, Issue: true, Now: at})
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

// setAcme imports acme's client row with its time zone and invoice day
// changed.
func (m *month) setAcme(zone, invoiceDay string) {
	m.t.Helper()
	cs, err := catalog.ReadClients("clients.csv", strings.NewReader("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		"acme,Acme Telecom GmbH,EUR,"+zone+",acme-special,de-vat,"+invoiceDay+",14,default,billing@acme.example,\"Hauptstr. 1, 10115 Berlin\",true\n"))
	if err == nil {
		_, err = m.store.ImportClients(ctx, "clients.csv", cs)
	}
	if err != nil {
		m.t.Fatal(err)
	}
}

// reprice changes acme's price to German mobiles and rerates October's
// calls, day by day as a rerate run does.
func (m *month) reprice(price string) {
	m.t.Helper()
	rs, err := catalog.ReadRates("r.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,"+price+",2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = m.store.ImportRates(ctx, "r.csv", "acme-special", rs, false)
	}
	if err != nil {
		m.t.Fatal(err)
	}
	from, to := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	run := "test-rerate-" + price
	if err := m.svc.BeginRerate(ctx, billing.Rerate{RunID: run, From: from, To: to, Match: rerate.All}); err != nil {
		m.t.Fatal(err)
	}
	var sum rerate.Summary
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		s, err := m.svc.RerateDay(ctx, cdr.Selection{From: d, To: d.AddDate(0, 0, 1), Match: string(rerate.All)})
		if err != nil {
			m.t.Fatal(err)
		}
		sum.Examined += s.Examined
	}
	if err := m.svc.EndRerate(ctx, run, &sum); err != nil {
		m.t.Fatal(err)
	}
}

// live are the documents of client that are not void: invoices of month
// and every note.
func (m *month) live(client string, month period.Month) (invoices, notes []invoice.Stored) {
	m.t.Helper()
	all, err := m.svc.Invoices(ctx, month, client)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, inv := range all {
		switch {
		case inv.State == "void" || inv.Preview:
		case inv.Corrects != nil:
			notes = append(notes, inv)
		default:
			invoices = append(invoices, inv)
		}
	}
	return invoices, notes
}

// owed is what client owes once everything issued is due and counted.
func (m *month) owed(client string) string {
	m.t.Helper()
	bs, err := m.svc.Balances(ctx, client, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(bs) != 1 {
		m.t.Fatalf("%v %v", bs, err)
	}
	return bs[0].Balance.StringFixed(2)
}

// TestAnInvoiceDayChangedAfterIssueBillsNoCallTwice: acme's October is
// issued on invoice day 1, then its day becomes 15. October stays its
// issued period (invoicing it again is the same invoice, adjusting it finds
// nothing), and November is the transition period from 1 November to
// 15 December, its fees charged for its 44 days, a call of 3 November
// billed in it.
func TestAnInvoiceDayChangedAfterIssueBillsNoCallTwice(t *testing.T) {
	m := october(t)
	first := m.issue("acme", "2026-10", issuedAt)
	m.setAcme("Europe/Berlin", "15")
	m.ingest("november.csv", []byte("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"+
		"nov-1,2026-11-03 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n"))

	again := m.issue("acme", "2026-10", issuedAt.Add(time.Hour))
	if again.ID != first.ID || again.Number != first.Number {
		t.Fatalf("October invoiced again: %+v, first %+v", again, first)
	}
	if invs, _ := m.live("acme", "2026-10"); len(invs) != 1 {
		t.Fatalf("%d live invoices of October", len(invs))
	}
	notes, err := m.svc.AdjustInvoices(ctx, "2026-10", "", true, adjustAt, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		if n.NoteID != "" {
			t.Errorf("a note of %s for calls that did not change: %+v", n.Invoice, n)
		}
	}
	if _, err := m.svc.Reconcile(ctx, "2026-10", ""); err != nil {
		t.Fatalf("reconcile: %v", err)
	}

	nov := m.issue("acme", "2026-11", time.Date(2026, 12, 16, 9, 0, 0, 0, time.UTC))
	inv, err := m.svc.Invoice(ctx, nov.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.PeriodStart.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, berlin)) || !inv.PeriodEnd.Equal(time.Date(2026, 12, 15, 0, 0, 0, 0, berlin)) {
		t.Fatalf("November's period %s – %s, want 1 November – 15 December", inv.PeriodStart, inv.PeriodEnd)
	}
	var lines []string
	for _, l := range inv.Lines {
		lines = append(lines, l.Description+" "+l.Amount.StringFixed(2))
	}
	// pbx-seat × 3 at 10.00: 30.00 × 44 / 30 = 44.00; the call: 60 s to Berlin at 0.0120 = 0.012 → 0.01.
	got := strings.Join(lines, "; ")
	if !strings.Contains(got, "pbx-seat (44 days at 30 a month) 44.00") || !strings.Contains(got, "Germany Berlin 0.01") {
		t.Fatalf("November's lines: %s", got)
	}
}

// TestConcurrentAdjustsMakeOneNote: acme's German mobile price rises
// after October is issued; four adjusts started at once issue one debit
// note between them, and the balance is the invoice plus that note.
func TestConcurrentAdjustsMakeOneNote(t *testing.T) {
	m := october(t)
	inv := m.issue("acme", "2026-10", issuedAt)
	m.reprice("0.1600")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = m.svc.AdjustInvoices(ctx, "2026-10", []string{"acme", ""}[i%2], true, adjustAt, "")
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	_, notes := m.live("acme", "2026-10")
	if len(notes) != 1 || notes[0].State != "issued" || notes[0].Kind != invoice.KindDebitNote {
		t.Fatalf("notes %+v, want one issued debit note", notes)
	}
	issued, err := m.svc.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := issued.Total.Add(notes[0].Total).StringFixed(2); m.owed("acme") != want {
		t.Fatalf("acme owes %s, want %s", m.owed("acme"), want)
	}
	if again, err := m.svc.AdjustInvoices(ctx, "2026-10", "acme", true, adjustAt, ""); err != nil || again[0].NoteID != "" {
		t.Fatalf("a correction left: %+v %v", again, err)
	}
}

// TestVoidingAnInvoiceVoidsItsNotes: an issued invoice with an issued
// note is voided and the month invoiced again: the balance is the new
// invoice, which bills the new price once.
func TestVoidingAnInvoiceVoidsItsNotes(t *testing.T) {
	m := october(t)
	inv := m.issue("acme", "2026-10", issuedAt)
	m.reprice("0.1600")
	if _, err := m.svc.AdjustInvoices(ctx, "2026-10", "acme", true, adjustAt, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.svc.VoidInvoice(ctx, inv.ID, adjustAt); err != nil {
		t.Fatal(err)
	}
	if invs, notes := m.live("acme", "2026-10"); len(invs) != 0 || len(notes) != 0 {
		t.Fatalf("left in force after the void: %d invoices, %d notes", len(invs), len(notes))
	}
	again := m.issue("acme", "2026-10", adjustAt)
	fresh, err := m.svc.Invoice(ctx, again.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.owed("acme") != fresh.Total.StringFixed(2) {
		t.Fatalf("acme owes %s, want the new invoice's %s", m.owed("acme"), fresh.Total.StringFixed(2))
	}
	rows, err := m.svc.Reconcile(ctx, "2026-10", "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Reason == "adjustment_due" {
			t.Fatalf("reconcile: %+v", rows)
		}
	}
}

// TestAnAdjustDuringARerateMakesNoNote: while a rerate of October runs,
// an adjust is refused naming it, and no note is made.
func TestAnAdjustDuringARerateMakesNoNote(t *testing.T) {
	m := october(t)
	m.issue("acme", "2026-10", issuedAt)
	m.reprice("0.1600") // the calls are already at the new price: a note would be due
	if err := m.svc.BeginRerate(ctx, billing.Rerate{RunID: "running", From: time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 10, 11, 0, 0, 0, 0, time.UTC), Match: rerate.All}); err != nil {
		t.Fatal(err)
	}
	_, err := m.svc.AdjustInvoices(ctx, "2026-10", "acme", true, adjustAt, "")
	if !errors.Is(err, billing.ErrRerateRunning) || !strings.Contains(err.Error(), "running") {
		t.Fatalf("adjust during a rerate: %v", err)
	}
	if _, notes := m.live("acme", "2026-10"); len(notes) != 0 {
		t.Fatalf("notes made during a rerate: %+v", notes)
	}
	if err := m.svc.EndRerate(ctx, "running", &rerate.Summary{}); err != nil {
		t.Fatal(err)
	}
	if notes, err := m.svc.AdjustInvoices(ctx, "2026-10", "acme", true, adjustAt, ""); err != nil || notes[0].Number == "" {
		t.Fatalf("after the rerate: %+v %v", notes, err)
	}
}

// TestADraftFromBeforeExactAmountsIsIssued: a draft whose lines were
// stored before migration 016 (no exact amount) issues: its calls are
// checked against its lines to the cent.
func TestADraftFromBeforeExactAmountsIsIssued(t *testing.T) {
	m := october(t)
	draft, err := m.svc.CreateInvoice(ctx, "acme", billing.InvoiceOptions{Period: "2026-10", Now: issuedAt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgtest.Pool(m.store).Exec(ctx, `UPDATE invoice_lines SET exact = NULL WHERE invoice_id = $1`, draft.ID); err != nil {
		t.Fatal(err)
	}
	inv, err := m.svc.IssueInvoice(ctx, draft.ID, issuedAt)
	if err != nil || inv.State != "issued" {
		t.Fatalf("%+v %v", inv.State, err)
	}
	want, _ := decimal.NewFromString("45.80") // TestAcmesOctoberInvoiceToTheCent
	if !inv.Total.Equal(want) {
		t.Fatalf("total %s, want %s", inv.Total, want)
	}
}

// TestAKiritimatiClientsInvoiceCountsTheMomentItIsIssued: issued at 11:00
// UTC on 2 November, acme's invoice is dated 3 November in
// Pacific/Kiritimati (UTC+14); its balance read without a day (as billctl
// client balance, the console and readiness's credit-limit check read it)
// counts it at once.
func TestAKiritimatiClientsInvoiceCountsTheMomentItIsIssued(t *testing.T) {
	m := october(t)
	m.setAcme("Pacific/Kiritimati", "1")
	at := time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)
	m.svc.Clock = func() time.Time { return at.Add(time.Minute) }
	inv := m.issue("acme", "2026-10", at)
	issued, err := m.svc.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := issued.IssueDate.Format(time.DateOnly); got != "2026-11-03" {
		t.Fatalf("issue date %s, want 2026-11-03", got)
	}
	bs, err := m.svc.Balances(ctx, "acme", time.Time{})
	if err != nil || len(bs) != 1 {
		t.Fatalf("%v %v", bs, err)
	}
	if !bs[0].Balance.Equal(issued.Total) || bs[0].At.Format(time.DateOnly) != "2026-11-04" {
		t.Fatalf("balance %s at %s, want %s at 2026-11-04", bs[0].Balance, bs[0].At.Format(time.DateOnly), issued.Total)
	}
}

// TestLateFilesDelayTheInvoiceAfterThePeriodEnds: with six hours for late
// files, acme's October (ended 1 November 00:00 Berlin) is open an hour
// after its end, with the instant it will be invoiced, and is invoiced
// seven hours after; a wave that ran after that instant counts it done.
func TestLateFilesDelayTheInvoiceAfterThePeriodEnds(t *testing.T) {
	m := october(t)
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, berlin)
	o := billing.InvoiceOptions{Period: "2026-10", LateFiles: 6 * time.Hour, Now: end.Add(time.Hour)}
	res, err := m.svc.CreateInvoices(ctx, []string{"acme"}, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Open == "" || !res[0].Ends.Equal(end.Add(6*time.Hour)) || res[0].ID != "" {
		t.Fatalf("an hour after the end: %+v", res[0])
	}
	o.Now = end.Add(7 * time.Hour)
	if res, err = m.svc.CreateInvoices(ctx, []string{"acme"}, o, nil); err != nil || res[0].ID == "" {
		t.Fatalf("seven hours after the end: %+v %v", res, err)
	}
	o.EndedAfter = end.Add(6 * time.Hour)
	if res, err = m.svc.CreateInvoices(ctx, []string{"acme"}, o, nil); err != nil || !res[0].Earlier {
		t.Fatalf("after the wave that invoiced it: %+v %v", res, err)
	}
}

// TestAnAdjustOfARangeCorrectsOnlyItsClients: acme's and globex's October
// are issued, then acme's price changes. The ranges of the month's clients
// with an issued invoice are one a client; the range after acme finds
// nothing to correct, and acme's range makes acme's note.
func TestAnAdjustOfARangeCorrectsOnlyItsClients(t *testing.T) {
	m := october(t)
	m.issue("acme", "2026-10", issuedAt)
	m.issue("globex", "2026-10", issuedAt)
	m.reprice("0.1600")
	rs, full, err := m.svc.AdjustRanges(ctx, "2026-10", "", 10, 1)
	if err != nil || full || len(rs) != 2 || rs[0] != (billing.ClientRange{Last: "acme", Count: 1}) ||
		rs[1] != (billing.ClientRange{After: "acme", Last: "globex", Count: 1}) {
		t.Fatalf("ranges %+v full %v: %v", rs, full, err)
	}
	tests := []struct {
		name  string
		r     billing.ClientRange
		notes int
	}{
		{"the range after acme", rs[1], 0},
		{"acme's range", rs[0], 1},
	}
	for _, tt := range tests {
		made, err := m.svc.AdjustRange(ctx, "2026-10", tt.r, true, adjustAt, "range-test")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range made {
			if a.NoteID != "" {
				n++
				if a.Client != "acme" {
					t.Errorf("%s: a note for %s", tt.name, a.Client)
				}
			}
		}
		if n != tt.notes {
			t.Errorf("%s: %d notes, want %d", tt.name, n, tt.notes)
		}
	}
}
