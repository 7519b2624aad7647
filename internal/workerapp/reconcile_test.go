package workerapp_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/workflows"
)

// TestEveryCallOfAMonthIsAccountedFor: a month with a call of every mismatch
// category, a foreign-currency account, a call of no worth, a deleted rate,
// a bill run accepted with its findings, an issued invoice whose calls a rate
// fix then changed, and a client left to invoice by hand. Reconciliation
// gives every call of each client's period one reason: per client the rows
// count its calls, the rows not mismatched add up to the summary of its
// period, the mismatched ones to the mismatches report.
func TestEveryCallOfAMonthIsAccountedFor(t *testing.T) {
	c, queue, acts := inProcess(t)
	store, b := acts.store, acts.billing
	wf := workflows.Client{Client: c, TaskQueue: queue}
	cs, err := catalog.ReadClients("clients.csv", strings.NewReader("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		"hooli,Hooli,EUR,UTC,,de-vat,1,14,default,ap@hooli.example,Valley,true\n"))
	if err == nil {
		_, err = store.ImportClients(ctx, "clients.csv", cs)
	}
	as, err2 := catalog.ReadAccounts("accounts.csv", strings.NewReader("client,kind,value,tech_prefix,rate_table,enabled\nhooli,ip,192.0.2.99,,,true\n"))
	if err == nil && err2 == nil {
		_, err = store.ImportAccounts(ctx, "accounts.csv", as)
	}
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	upload(t, acts.s3, cdr.Canonical, "october.csv", read(t, "demo", "cdrs-2026-10.csv"))
	upload(t, acts.s3, cdr.Canonical, "more.csv", []byte(`call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition
x-1,2026-10-07 10:00:00,30,192.0.2.10,,4930111111,999123,ANSWERED
x-2,2026-10-07 11:00:00,30,192.0.2.99,,4930555555,4930987654,ANSWERED
x-3,2026-10-31 23:30:00,30,192.0.2.10,,4930111111,4930987654,ANSWERED
`))
	if run, err := start(t, c, queue, acts, workflows.IngestInput{}); err != nil || run.Get(ctx, nil) != nil {
		t.Fatal(err)
	}
	id, run, _ := billRunUntilWaiting(t, c, queue)
	resolve(t, c, id, workflows.ResolveAccept)
	var st workflows.BillRunStatus
	if err := run.Get(ctx, &st); err != nil || !st.Accepted {
		t.Fatalf("%+v %v", st, err)
	}
	var runCalls int64
	for _, r := range st.Accounted {
		runCalls += r.Calls
	}

	// acme's invoice is issued, then its mobile rate corrected and the month rerated.
	if issue, err := workflows.StartInvoice(ctx, wf, workflows.InvoiceInput{Client: "acme", Period: "2026-10", Issue: true}); err != nil || issue.Get(ctx, nil) != nil {
		t.Fatal(err)
	}
	rs, err := catalog.ReadRates("fix.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,0.0500,2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = store.ImportRates(ctx, "fix.csv", "acme-special", rs, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	rerateOctober(t, wf, time.Now())
	// Then initech's rate is deleted: its call is deleted_rate.
	var table, code string
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT rate_table, code FROM cdrs WHERE call_id = 'demo-0007'`).Scan(&table, &code); err != nil {
		t.Fatal(err)
	}
	if _, err := store.DeleteRate(ctx, table, code, time.Time{}); err != nil {
		t.Fatal(err)
	}

	rows, err := b.Reconcile(ctx, "2026-10", "")
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	var lines []string
	for _, r := range rows {
		reasons[r.Reason] = true
		lines = append(lines, fmt.Sprintf("%s %s %s %d %s", r.Client, r.Currency, r.Reason, r.Calls, r.Amount.StringFixed(6)))
	}
	t.Logf("reconcile:\n%s", strings.Join(lines, "\n"))
	for _, want := range []string{"mismatched:unknown_account", "mismatched:no_rate_table", "mismatched:unknown_destination",
		"mismatched:deleted_rate", report.ReasonOtherCurrency, report.ReasonNotPayable, report.ReasonAdjustmentDue,
		report.ReasonNotInvoiced, report.ReasonInvoiced} {
		if !reasons[want] {
			t.Errorf("no row for %s", want)
		}
	}

	// Per client: every call of its period, one reason each.
	type clientRow struct {
		ID, TimeZone string
		InvoiceDay   int
	}
	var clients []clientRow
	dbRows, _ := pgtest.Pool(store).Query(ctx, `SELECT id, timezone, invoice_day FROM clients ORDER BY id`)
	var cr clientRow
	if _, err := pgx.ForEachRow(dbRows, []any{&cr.ID, &cr.TimeZone, &cr.InvoiceDay}, func() error { clients = append(clients, cr); return nil }); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, cl := range append(clients, clientRow{}) {
		from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		if cl.ID != "" {
			loc, _ := time.LoadLocation(cl.TimeZone)
			if from, to, err = invoice.Period("2026-10", cl.InvoiceDay, loc); err != nil {
				t.Fatal(err)
			}
		}
		var calls int64
		if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM cdrs WHERE coalesce(client, '') = $1 AND connect_time >= $2 AND connect_time < $3`,
			cl.ID, from, to).Scan(&calls); err != nil {
			t.Fatal(err)
		}
		total += calls
		billable, mismatched := map[string]row{}, map[string]int64{}
		var counted int64
		for _, r := range rows {
			if r.Client != cl.ID {
				continue
			}
			counted += r.Calls
			if cat, ok := strings.CutPrefix(r.Reason, report.MismatchedPrefix); ok {
				mismatched[cat] += r.Calls
			} else {
				x := billable[r.Currency]
				billable[r.Currency] = row{x.calls + r.Calls, x.amount.Add(r.Amount)}
			}
		}
		if counted != calls {
			t.Errorf("client %q: %d calls in its period, %d accounted for", cl.ID, calls, counted)
		}
		sum, err := b.Summary(ctx, report.Summary{From: from, To: to, GroupBy: []report.Key{report.Client, report.Currency}})
		if err != nil {
			t.Fatal(err)
		}
		summed := map[string]row{}
		for _, s := range sum {
			if s.Values[0] == cl.ID {
				summed[s.Currency] = row{s.Calls, s.Amount}
			}
		}
		if fmt.Sprint(sortedRows(summed)) != fmt.Sprint(sortedRows(billable)) {
			t.Errorf("client %q: not mismatched %v, the summary %v", cl.ID, sortedRows(billable), sortedRows(summed))
		}
		ms, err := b.Mismatches(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		reported := map[string]int64{}
		for _, m := range ms {
			if m.Client == cl.ID {
				reported[m.Category] += m.Calls
			}
		}
		if fmt.Sprint(reported) != fmt.Sprint(mismatched) {
			t.Errorf("client %q: mismatched %v, the mismatches report %v", cl.ID, mismatched, reported)
		}
	}
	if runCalls != total {
		t.Errorf("the bill run accounted for %d calls, the month has %d", runCalls, total)
	}
}

type row struct {
	calls  int64
	amount decimal.Decimal
}

func sortedRows(m map[string]row) []string {
	var out []string
	for k, r := range m {
		out = append(out, fmt.Sprintf("%s:%d:%s", k, r.calls, r.amount.StringFixed(6)))
	}
	slices.Sort(out)
	return out
}
