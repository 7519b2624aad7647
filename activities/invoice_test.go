package activities_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rerate"
)

var invoicedAt = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func invoiced(t *testing.T) *fixture {
	f := newFixture(t)
	if _, err := f.ingest(f.upload(cdr.Canonical, "october.csv", testdata(t, "demo", "cdrs-2026-10.csv"))); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(in activities.CreateInvoiceInput) (activities.CreateInvoiceResult, error) {
	var res activities.CreateInvoiceResult
	if in.Now.IsZero() {
		in.Now = invoicedAt
	}
	v, err := f.env.ExecuteActivity(f.acts.CreateInvoice, in)
	if err != nil {
		return res, err
	}
	return res, v.Get(&res)
}

// TestAcmesOctoberInvoiceToTheCent checks the demo client acme (Europe/Berlin,
// VAT 19 %, grace 14 days) against the invoice computed by hand:
//
//	Germany Berlin   4930: 126 s at 0.0120/min 1/1 (retail-eur, longer than acme-special's 49) = 0.025200 → 0.03
//	Germany Mobile   4915: 61 s at 0.0800 1/1 = 0.081333; 60 s = 0.080000; sum 0.161333       → 0.16
//	UK Mobile         447: 45 s on 30/6 = 48 s at 0.0900                                       → 0.07
//	France Mobile     336: unanswered, 0 s, no cost: not a payable call, no line
//	did-number × 10 from 15 Oct: 1.50 × 10 × 17/31 = 8.2258                                    → 8.23
//	pbx-seat × 3: 10.00 × 3                                                                    → 30.00
//	subtotal 38.49; VAT 19 % = 7.3131 → 7.31; total 45.80; issued 2 Nov (Berlin), due 16 Nov.
//
// Drafted, its lines are grouped by the database; issued, they are summed
// from the calls read for its snapshot: the two must agree to the cent.
func TestAcmesOctoberInvoiceToTheCent(t *testing.T) {
	for _, c := range []struct {
		name  string
		issue bool
	}{{"as a draft", false}, {"issued", true}} {
		t.Run(c.name, func(t *testing.T) {
			f := invoiced(t)
			res, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Issue: c.issue}})
			if err != nil {
				t.Fatal(err)
			}
			inv, err := f.store.Invoice(ctx, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range inv.Lines {
				got = append(got, fmt.Sprintf("%s|%s|%s|%d|%d|%d|%s|%s", l.Kind, l.Description, l.Code, l.Calls, l.BilledSeconds, l.Quantity,
					l.Amount.StringFixed(2), l.Exact.String()))
			}
			want := []string{
				"usage|Germany Berlin|4930|1|126|0|0.03|0.0252",
				"usage|Germany Mobile|4915|2|121|0|0.16|0.161333",
				"usage|United Kingdom Mobile|447|1|48|0|0.07|0.072",
				"subscription|did-number (17 of 31 days)||0|0|10|8.23|8.22580645",
				"subscription|pbx-seat||0|0|3|30.00|30",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			doc := inv.Document()
			state, numbered := "draft", false
			if c.issue {
				state, numbered = "issued", true
			}
			if doc.Subtotal != "38.49" || doc.Total != "45.80" || len(doc.Taxes) != 1 || doc.Taxes[0].Amount != "7.31" || doc.Taxes[0].Included ||
				doc.IssueDate != "2026-11-02" || doc.DueDate != "2026-11-16" || (doc.Number != nil) != numbered || doc.State != state ||
				doc.PeriodStart != "2026-09-30T22:00:00Z" || doc.PeriodEnd != "2026-10-31T23:00:00Z" || doc.Currency != "EUR" {
				t.Fatalf("%+v", doc)
			}
		})
	}
}

func TestCreatingAnInvoiceAgainKeepsOneInvoiceAndOneNumber(t *testing.T) {
	f := invoiced(t)
	a, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	if err != nil || b.ID != a.ID {
		t.Fatalf("a second draft: %+v %v, first %s", b, err, a.ID)
	}
	issued, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Issue: true}})
	if err != nil || issued.ID != a.ID || issued.Number != "INV-2026-000001" {
		t.Fatalf("%+v %v", issued, err)
	}
	again, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Issue: true}})
	if err != nil || again.ID != a.ID || again.Number != issued.Number {
		t.Fatalf("issued again: %+v %v", again, err)
	}
	_, err = f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrInvoiceIssued {
		t.Fatalf("a draft over an issued invoice: %v", err)
	}
	if n := f.query(`SELECT count(*) FROM invoices`); n != 1 {
		t.Fatalf("%d invoices", n)
	}
	// Void keeps the number; a new draft may then replace it, and its issue takes the next number.
	if _, err := f.store.Void(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	next, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Issue: true}})
	if err != nil || next.ID == a.ID || next.Number != "INV-2026-000002" {
		t.Fatalf("%+v %v", next, err)
	}
	if n := f.query(`SELECT count(*) FROM invoices WHERE state = 'void' AND number = 'INV-2026-000001'`); n != 1 {
		t.Fatal("the void invoice lost its number")
	}
}

func TestAnEmptyInvoiceIsCreatedOnlyWhenAskedFor(t *testing.T) {
	f := newFixture(t) // globex has no subscription and no calls here
	res, err := f.create(activities.CreateInvoiceInput{Client: "globex", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	if err != nil || res.Skipped == "" || res.ID != "" {
		t.Fatalf("%+v %v", res, err)
	}
	res, err = f.create(activities.CreateInvoiceInput{Client: "globex", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", AllowEmpty: true}})
	if err != nil || res.ID == "" {
		t.Fatalf("%+v %v", res, err)
	}
}

// drafts makes empty drafts of October for n new clients c00, c01 …, in
// that order.
func drafts(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	var clients strings.Builder
	clients.WriteString("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n")
	for i := range n {
		fmt.Fprintf(&clients, "c%02d,Client %d,EUR,UTC,retail-eur,,1,0,default,,,false\n", i, i)
	}
	f.importCSV("clients", clients.String())
	ids := make([]string, n)
	for i := range n {
		res, err := f.create(activities.CreateInvoiceInput{Client: fmt.Sprintf("c%02d", i), InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", AllowEmpty: true}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.ID
	}
	return ids
}

func TestConcurrentIssuesNeverShareOrSkipANumber(t *testing.T) {
	f := newFixture(t)
	const n = 40
	ids := drafts(t, f, n)
	// Half are issued one by one, half in batches of five, all at once.
	var wg sync.WaitGroup
	numbers := make([]string, n)
	errs := make([]error, n)
	for i := range n / 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			numbers[i], errs[i] = issueOne(f.store, ids[i])
		}()
	}
	for i := n / 2; i < n; i += 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch, err := f.store.Issue(ctx, ids[i:i+5], invoicedAt, map[string]string{"invoice": "INV-{YYYY}-{SEQ:6}"}, nil)
			copy(numbers[i:], batch)
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(numbers)
	for i, num := range numbers {
		if want := fmt.Sprintf("INV-2026-%06d", i+1); num != want {
			t.Fatalf("number %d is %s, want %s: %v", i, num, want, numbers)
		}
	}
}

func TestABatchIsNumberedInTheOrderGivenOrNotAtAll(t *testing.T) {
	f := newFixture(t)
	ids := drafts(t, f, 4)
	tpl := map[string]string{"invoice": "INV-{YYYY}-{SEQ:6}"}
	if _, err := f.store.Void(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Issue(ctx, ids[:3], invoicedAt, tpl, nil); err == nil {
		t.Fatal("a batch holding a void invoice was issued")
	}
	if inv, err := f.store.Invoice(ctx, ids[0]); err != nil || inv.State != "draft" || inv.Number != "" {
		t.Fatalf("after a refused batch, its first draft is %s %q (%v)", inv.State, inv.Number, err)
	}
	got, err := f.store.Issue(ctx, []string{ids[3], ids[0], ids[1], ids[0]}, invoicedAt, tpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"INV-2026-000001", "INV-2026-000002", "INV-2026-000003", "INV-2026-000002"}; !slices.Equal(got, want) {
		t.Fatalf("numbers %v, want %v", got, want)
	}
	again, err := f.store.Issue(ctx, []string{ids[1]}, invoicedAt, tpl, nil)
	if err != nil || again[0] != "INV-2026-000003" {
		t.Fatalf("issued again: %v %v", again, err)
	}
}

func TestRenderedDocumentsHoldTheInvoice(t *testing.T) {
	f := invoiced(t)
	res, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Issue: true}})
	if err != nil {
		t.Fatal(err)
	}
	var docs map[string]string
	for range 2 { // rendering again overwrites the same objects
		v, err := f.env.ExecuteActivity(f.acts.RenderInvoice, activities.RenderInvoiceInput{ID: res.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(&docs); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := f.s3.List(ctx, "invoices/")
	if err != nil || len(objs) != 3 {
		t.Fatalf("%d objects: %v", len(objs), err)
	}
	read := func(kind string) []byte { return f.object(t, docs[kind]) }
	var doc invoice.Document
	if err := json.Unmarshal(read("json"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Number == nil || *doc.Number != res.Number || doc.Total != "45.80" || doc.Documents["pdf"] != docs["pdf"] || len(doc.Lines) != 5 {
		t.Fatalf("%+v", doc)
	}
	csv := string(read("csv"))
	if lines := strings.Count(csv, "\n"); lines != 5 || !strings.Contains(csv, "'+4915112345678") || strings.Contains(csv, "demo-0004") {
		t.Fatalf("csv (%d lines):\n%s", lines, csv)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is missing")
		}
		t.Skip("pdftotext is missing")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(read("pdf"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Invoice " + res.Number, "€38.49", "€7.31", "€45.80", "Acme Telecom GmbH (acme)", "Period: 1 Oct 2026 – 31 Oct 2026"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the PDF lacks %q", want)
		}
	}
}

func TestTheExtendedDetailCountsTheCallsTheLinesBill(t *testing.T) {
	f := invoiced(t)
	// A deleted rate's calls are mismatches: neither lines nor detail bill them.
	if _, err := f.store.DeleteRate(ctx, "retail-eur", "447", time.Time{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Template: "extended"}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.store.Invoice(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := detailOf(f, inv)
	if err != nil {
		t.Fatal(err)
	}
	var lines, rates, days int64
	for _, l := range inv.Lines {
		lines += l.Calls
	}
	for _, r := range ext.Rates {
		rates += r.Calls
	}
	for _, d := range ext.Days {
		days += d.Calls
	}
	if lines != 3 || rates != lines || days != lines {
		t.Fatalf("lines bill %d calls, the rate detail %d, the daily breakdown %d", lines, rates, days)
	}
}

// object reads an S3 object by its s3:// URI.
func (f *fixture) object(t *testing.T, uri string) []byte {
	t.Helper()
	body, _, err := f.s3.Open(ctx, strings.TrimPrefix(uri, "s3://"+f.s3.Bucket()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestABatchOfInvoicesIsEachClientsOwnInvoice: the batch activities, which
// read all clients' calls in one pass, give each client the invoice and the
// documents that invoicing it alone gives, and a client whose period is
// issued is reported without failing the others.
func TestABatchOfInvoicesIsEachClientsOwnInvoice(t *testing.T) {
	f := invoiced(t)
	clients := []string{"initech", "acme", "globex"}
	batch := func() activities.CreateInvoicesResult {
		t.Helper()
		v, err := f.env.ExecuteActivity(f.acts.CreateInvoices, activities.CreateInvoicesInput{Clients: clients, InvoiceOptions: activities.InvoiceOptions{Period: "2026-10",
			AllowEmpty: true, Now: invoicedAt}})
		var res activities.CreateInvoicesResult
		if err == nil {
			err = v.Get(&res)
		}
		if err != nil || len(res.Invoices) != len(clients) {
			t.Fatalf("%+v %v", res, err)
		}
		return res
	}
	created := batch()
	ids := make([]string, len(clients))
	for i, r := range created.Invoices {
		if r.Client != clients[i] || r.ID == "" || r.Conflict != "" {
			t.Fatalf("%d: %+v", i, r)
		}
		ids[i] = r.ID
	}
	v, err := f.env.ExecuteActivity(f.acts.RenderInvoices, activities.RenderInvoicesInput{IDs: ids})
	var rendered activities.RenderInvoicesResult
	if err == nil {
		err = v.Get(&rendered)
	}
	if err != nil || len(rendered.Documents) != len(ids) {
		t.Fatalf("%+v %v", rendered, err)
	}
	summary := func(id string) string {
		inv, err := f.store.Invoice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(inv.Document())
		return string(js)
	}
	var calls int64
	for i, c := range clients {
		inBatch, csv := summary(ids[i]), f.object(t, rendered.Documents[ids[i]]["csv"])
		inv, _ := f.store.Invoice(ctx, ids[i])
		var billed int64
		for _, l := range inv.Lines {
			billed += l.Calls
		}
		if rows := int64(bytes.Count(csv, []byte("\n")) - 1); rows != billed {
			t.Errorf("%s: %d calls in the CSV, %d billed", c, rows, billed)
		}
		calls += billed
		alone, err := f.create(activities.CreateInvoiceInput{Client: c, InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", AllowEmpty: true}})
		if err != nil || alone.ID != ids[i] {
			t.Fatalf("%s alone: %+v %v", c, alone, err)
		}
		v, err := f.env.ExecuteActivity(f.acts.RenderInvoice, activities.RenderInvoiceInput{ID: alone.ID})
		var docs map[string]string
		if err == nil {
			err = v.Get(&docs)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(alone.ID); got != inBatch {
			t.Errorf("%s alone:\n%s\nin the batch:\n%s", c, got, inBatch)
		}
		if got := f.object(t, docs["csv"]); !bytes.Equal(got, csv) {
			t.Errorf("%s's CSV alone:\n%s\nin the batch:\n%s", c, got, csv)
		}
	}
	if calls == 0 {
		t.Fatal("no calls billed")
	}
	// The extended detail of several invoices at once (each in its client's
	// zone: Berlin, New York) is each one's alone.
	var invs []invoice.Stored
	for _, id := range ids {
		inv, err := f.store.Invoice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		invs = append(invs, inv)
	}
	// Rate tables that name origins add the use by origin.
	if _, err := pgtest.Pool(f.store).Exec(ctx, `UPDATE rate_tables SET src_deck = 'world'`); err != nil {
		t.Fatal(err)
	}
	together, err := f.store.InvoiceDetails(ctx, invs)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range together {
		var byRate, byOrigin int64
		for _, r := range d.Rates {
			byRate += r.Calls
		}
		names := map[string]bool{}
		for _, o := range d.Origins {
			byOrigin += o.Calls
			names[o.Name] = true
		}
		if byRate != byOrigin || (invs[i].Client == "acme" && !names["Germany Berlin"]) {
			t.Errorf("%s: %d calls by rate, %d by origin %v", invs[i].Client, byRate, byOrigin, d.Origins)
		}
	}
	for i, inv := range invs {
		alone, err := detailOf(f, inv)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(alone)
		b, _ := json.Marshal(together[i])
		if !bytes.Equal(a, b) || (inv.Client == "acme" && len(alone.Days) == 0) {
			t.Errorf("%s's detail alone:\n%s\ntogether:\n%s", inv.Client, a, b)
		}
	}

	if _, err := issueOne(f.store, ids[1]); err != nil {
		t.Fatal(err)
	}
	again := batch()
	for i, r := range again.Invoices {
		if (r.Conflict != "") != (clients[i] == "acme") || r.ID != ids[i] {
			t.Errorf("after acme's issue, %s: %+v", clients[i], r)
		}
	}
}

// detailOf reads the extended template's detail of one invoice.
func detailOf(f *fixture, inv invoice.Stored) (*invoice.Detail, error) {
	ds, err := f.store.InvoiceDetails(ctx, []invoice.Stored{inv})
	if err != nil {
		return nil, err
	}
	return ds[0], nil
}

// TestAPeriodThatHasNotEndedIsNotInvoiced: acme's October (Berlin) ends
// 2026-11-01 00:00 CET, 31 October 23:00 UTC; a minute before, its invoice is
// refused with that end, and a batch reports it instead of invoicing it.
func TestAPeriodThatHasNotEndedIsNotInvoiced(t *testing.T) {
	f := invoiced(t)
	end := time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)
	_, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10",
		Now: end.Add(-time.Minute)}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrPeriodOpen || !app.NonRetryable() ||
		!strings.Contains(app.Message(), "ends 2026-11-01 00:00 CET") {
		t.Fatalf("an open period was invoiced: %v", err)
	}
	if n := f.query(`SELECT count(*) FROM invoices`); n != 0 {
		t.Fatalf("%d invoices of an open period", n)
	}
	// globex's October (New York) ends at 04:00 UTC: between the two ends,
	// a batch invoices acme and reports globex.
	v, err := f.env.ExecuteActivity(f.acts.CreateInvoices, activities.CreateInvoicesInput{Clients: []string{"acme", "globex"},
		InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Now: end.Add(time.Hour), AllowEmpty: true}})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.CreateInvoicesResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	acme, globex := res.Invoices[0], res.Invoices[1]
	if acme.ID == "" || acme.Open != "" || globex.ID != "" || !globex.Ends.Equal(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)) ||
		!strings.Contains(globex.Open, "ends 2026-11-01 00:00 EDT") {
		t.Fatalf("%+v", res.Invoices)
	}
	// The next wave, once globex's period has ended, invoices globex and
	// leaves acme, which the wave before decided, alone.
	v, err = f.env.ExecuteActivity(f.acts.CreateInvoices, activities.CreateInvoicesInput{Clients: []string{"acme", "globex"},
		InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Now: globex.Ends, EndedAfter: end.Add(time.Hour), AllowEmpty: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if acme, globex := res.Invoices[0], res.Invoices[1]; !acme.Earlier || acme.ID != "" || globex.ID == "" || globex.Open != "" {
		t.Fatalf("the second wave: %+v", res.Invoices)
	}
	if n := f.query(`SELECT count(*) FROM invoices`); n != 2 {
		t.Fatalf("%d invoices after two waves", n)
	}
}

// TestAPreviewOfAnOpenPeriodIsKeptApartAndNeverIssued: acme's October
// (ends 31 October 23:00 UTC) previewed on the 20th, again on the 25th (the
// same preview, replaced), refused as an invoice and at issue; after the end
// a preview is refused, and the first real draft drops the preview.
func TestAPreviewOfAnOpenPeriodIsKeptApartAndNeverIssued(t *testing.T) {
	f := invoiced(t)
	preview := func(now time.Time) (activities.CreateInvoiceResult, error) {
		return f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Now: now,
			Preview: true}})
	}
	first, err := preview(time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	again, err := preview(time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC))
	if err != nil || again.ID != first.ID {
		t.Fatalf("the next preview: %+v %v, first %s", again, err, first.ID)
	}
	inv, err := f.store.Invoice(ctx, first.ID)
	if err != nil || !inv.Preview || inv.State != "draft" || !inv.Document().Preview {
		t.Fatalf("%+v %v", inv, err)
	}
	var app *temporal.ApplicationError
	_, err = f.env.ExecuteActivity(f.acts.ChangeInvoice, activities.ChangeInvoiceInput{ID: first.ID, At: time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)})
	if !errors.As(err, &app) || app.Type() != activities.ErrPreview {
		t.Fatalf("a preview was issued: %v", err)
	}
	end := time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)
	if _, err := preview(end); !errors.As(err, &app) || app.Type() != activities.ErrPeriodEnded {
		t.Fatalf("a preview of an ended period: %v", err)
	}
	draft, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Now: end}})
	if err != nil || draft.ID == first.ID {
		t.Fatalf("%+v %v", draft, err)
	}
	if n := f.query(`SELECT count(*) FROM invoices WHERE preview`); n != 0 {
		t.Fatalf("the preview outlived the first real draft: %d", n)
	}
}

// TestIssuedDocumentsAreRenderedFromTheSnapshotKeptAtIssue: a draft is
// issued; before its documents are written (a crash between the two, say)
// its calls are rerated at another price. The documents written then list
// the calls as they were at the issue, in the CSV as in the detail.
func TestIssuedDocumentsAreRenderedFromTheSnapshotKeptAtIssue(t *testing.T) {
	f := invoiced(t)
	draft, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10",
		Template: "extended"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.ExecuteActivity(f.acts.ChangeInvoice, activities.ChangeInvoiceInput{ID: draft.ID, At: invoicedAt}); err != nil {
		t.Fatal(err)
	}
	rs, err := catalog.ReadRates("fix.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,0.0500,2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = f.store.ImportRates(ctx, "fix.csv", "acme-special", rs, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.ExecuteActivity(f.acts.RerateDay, activities.RerateDayInput{From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Match: rerate.All}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.ExecuteActivity(f.acts.RenderInvoice, activities.RenderInvoiceInput{ID: draft.ID}); err != nil {
		t.Fatal(err)
	}
	inv, err := f.store.Invoice(ctx, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := f.s3.Open(ctx, strings.TrimPrefix(inv.Documents["csv"], "s3://"+f.s3.Bucket()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	csv, _ := io.ReadAll(body)
	if !strings.Contains(string(csv), "0.081333") || strings.Contains(string(csv), "0.050833") {
		t.Fatalf("the issued CSV lists the calls as rerated after the issue:\n%s", csv)
	}
	pdf, _, err := f.s3.Open(ctx, strings.TrimPrefix(inv.Documents["pdf"], "s3://"+f.s3.Bucket()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	pdf.Close()
}

// TestAClientsRoundingModeIsItsOwnUnlessOverridden: acme rounds the sum of
// its exact amounts (clients.csv's rounding), 38.484339 → 38.48 where
// rounding each line first gives 38.49; invoice create --rounding overrides
// the setting.
func TestAClientsRoundingModeIsItsOwnUnlessOverridden(t *testing.T) {
	f := invoiced(t)
	f.importCSV("clients", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice,rounding\n"+
		"acme,Acme Telecom GmbH,EUR,Europe/Berlin,acme-special,de-vat,1,14,default,billing@acme.example,\"Hauptstr. 1, 10115 Berlin\",true,sum_then_round\n")
	for _, tc := range []struct {
		rounding invoice.Rounding
		want     string
	}{
		{"", "38.48 sum_then_round"},
		{invoice.RoundThenSum, "38.49 round_then_sum"},
	} {
		res, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Rounding: tc.rounding}})
		if err != nil {
			t.Fatal(err)
		}
		inv, err := f.store.Invoice(ctx, res.ID)
		if got := inv.Subtotal.StringFixed(2) + " " + string(inv.Rounding); err != nil || got != tc.want {
			t.Errorf("--rounding %q: %s, want %s (%v)", tc.rounding, got, tc.want, err)
		}
	}
}

// TestAnUnknownClientIsAFinalError: invoice create --client ghost once
// retried "no client" for minutes; it is final, and says so at once.
func TestAnUnknownClientIsAFinalError(t *testing.T) {
	f := newFixture(t)
	_, err := f.create(activities.CreateInvoiceInput{Client: "ghost", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrUnknownClient || !app.NonRetryable() || !strings.Contains(app.Message(), `"ghost"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestADraftIsNotRenderedFromCallsItsLinesDoNotBill: issue 12's second
// finding. A rerate between computing a draft and writing its documents
// once gave a CSV with the new costs under the old lines. The render
// refuses (CallsChanged, final: the workflow computes the draft again), and
// the draft computed again renders.
func TestADraftIsNotRenderedFromCallsItsLinesDoNotBill(t *testing.T) {
	f := invoiced(t)
	draft, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	if err != nil {
		t.Fatal(err)
	}
	f.importCSV("rates:acme-special", "code,rate,effective_from,end,increment,setup_fee\n4915,0.0500,2026-01-01,,1/1,\n")
	if _, err := f.env.ExecuteActivity(f.acts.RerateDay, activities.RerateDayInput{From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Match: rerate.All}); err != nil {
		t.Fatal(err)
	}
	_, err = f.env.ExecuteActivity(f.acts.RenderInvoice, activities.RenderInvoiceInput{ID: draft.ID})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrCallsChanged || !app.NonRetryable() || !strings.Contains(app.Message(), "Germany Mobile") {
		t.Fatalf("err = %v", err)
	}
	again, err := f.create(activities.CreateInvoiceInput{Client: "acme", InvoiceOptions: activities.InvoiceOptions{Period: "2026-10"}})
	if err != nil || again.ID != draft.ID {
		t.Fatalf("%+v %v", again, err)
	}
	if _, err := f.env.ExecuteActivity(f.acts.RenderInvoice, activities.RenderInvoiceInput{ID: draft.ID}); err != nil {
		t.Fatal(err)
	}
}

// issueOne numbers one draft as a bill run would, with no snapshot.
func issueOne(store *postgres.Store, id string) (string, error) {
	n, err := store.Issue(ctx, []string{id}, invoicedAt, map[string]string{"invoice": "INV-{YYYY}-{SEQ:6}"}, nil)
	if err != nil {
		return "", err
	}
	return n[0], nil
}

func TestClientRangesCoverThePageInOrderCutBySizeOrIntoParts(t *testing.T) {
	f := invoiced(t)
	all, err := f.store.ClientsToInvoice(ctx, "", "", 0, "")
	if err != nil || len(all) < 2 {
		t.Fatalf("%v %v", all, err)
	}
	half := (len(all) + 1) / 2
	tests := []struct {
		name string
		in   activities.ClientRangesInput
		want []int // each range's count
		full bool
	}{
		{"ranges of size clients", activities.ClientRangesInput{Limit: 100, Size: 1}, counts(len(all), 1), false},
		{"a page cut into parts", activities.ClientRangesInput{Limit: 100, Parts: 2, MinSize: 1}, counts(len(all), half), false},
		{"parts no smaller than the least size", activities.ClientRangesInput{Limit: 100, Parts: 2, MinSize: 100}, []int{len(all)}, false},
		{"a full page says there may be more", activities.ClientRangesInput{Limit: 1, Parts: 2, MinSize: 1}, []int{1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.env.ExecuteActivity(f.acts.ClientRanges, tt.in)
			var res activities.ClientRangesResult
			if err == nil {
				err = v.Get(&res)
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			after, at := "", 0
			for _, r := range res.Ranges {
				got = append(got, r.Count)
				if r.After != after || r.Last != all[at+r.Count-1] {
					t.Errorf("range %+v: want after %q up to %s", r, after, all[at+r.Count-1])
				}
				after, at = r.Last, at+r.Count
			}
			if !slices.Equal(got, tt.want) || res.Full != tt.full {
				t.Errorf("counts %v full %v, want %v %v", got, res.Full, tt.want, tt.full)
			}
		})
	}
}

// counts cuts n into ranges of size.
func counts(n, size int) []int {
	var out []int
	for ; n > 0; n -= size {
		out = append(out, min(n, size))
	}
	return out
}

func TestARangeOfClientsIsInvoicedWithItsDocumentsAndNoOneElse(t *testing.T) {
	f := invoiced(t)
	all, err := f.store.ClientsToInvoice(ctx, "", "", 0, "")
	if err != nil || len(all) < 2 {
		t.Fatalf("%v %v", all, err)
	}
	r := activities.ClientRange{After: all[0], Last: all[1], Count: 1}
	run := func() activities.InvoiceRangeResult {
		t.Helper()
		v, err := f.env.ExecuteActivity(f.acts.InvoiceRange, activities.InvoiceRangeInput{Range: r,
			InvoiceOptions: activities.InvoiceOptions{Period: "2026-10", Issue: true, AllowEmpty: true, Now: invoicedAt}})
		var res activities.InvoiceRangeResult
		if err == nil {
			err = v.Get(&res)
		}
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := run(); got.Clients != 1 || got.Invoiced != 1 {
		t.Fatalf("%+v, want 1 client invoiced", got)
	}
	for i, c := range all {
		invs, err := f.store.Invoices(ctx, "2026-10", c)
		if err != nil {
			t.Fatal(err)
		}
		inRange := i == 1
		switch {
		case inRange && (len(invs) != 1 || invs[0].State != "issued" || len(invs[0].Documents) != 3):
			t.Errorf("%s is in the range: %+v", c, invs)
		case !inRange && len(invs) != 0:
			t.Errorf("%s is not in the range, but has %d invoices", c, len(invs))
		}
	}
	// Run again (a retried batch): the same invoices, counted again.
	if got := run(); got.Clients != 1 || got.Invoiced != 1 {
		t.Errorf("again: %+v", got)
	}
}
