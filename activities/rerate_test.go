package activities_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/internal/rerate"
)

var (
	october  = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	november = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

// mismatchFile has one call of each kind on top of the demo catalogue.
const mismatchFile = `call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition
ok-1,2026-10-02 10:00:00,60,192.0.2.10,,,4930111,ANSWERED
ok-2,2026-10-03 10:00:00,61,192.0.2.10,,,+4915112345,ANSWERED
unknown-account,2026-10-04 10:00:00,30.5,203.0.113.50,,,4930111,ANSWERED
no-table,2026-10-05 10:00:00,45,198.18.0.1,,,4930111,ANSWERED
unknown-dest,2026-10-06 10:00:00,90,192.0.2.10,,,861390000,ANSWERED
deleted,2026-10-07 10:00:00,120,198.51.100.7,,,441234567,ANSWERED
`

func (f *fixture) importCSV(kind, body string) {
	f.t.Helper()
	var err error
	st := f.store
	switch kind {
	case "clients":
		var cs []catalog.Client
		if cs, err = catalog.ReadClients(kind, strings.NewReader(body)); err == nil {
			_, err = st.ImportClients(ctx, kind, cs)
		}
	case "accounts":
		var as []catalog.Account
		if as, err = catalog.ReadAccounts(kind, strings.NewReader(body)); err == nil {
			_, err = st.ImportAccounts(ctx, kind, as)
		}
	case "packages":
		var ps []catalog.Package
		if ps, err = catalog.ReadPackages(kind, strings.NewReader(body)); err == nil {
			_, err = st.ImportPackages(ctx, kind, ps)
		}
	case "subscriptions":
		var ss []catalog.Subscription
		if ss, err = catalog.ReadSubscriptions(kind, strings.NewReader(body)); err == nil {
			_, err = st.ImportSubscriptions(ctx, kind, ss)
		}
	default:
		table, _ := strings.CutPrefix(kind, "rates:")
		var rs []catalog.Rate
		if rs, err = catalog.ReadRates(kind, strings.NewReader(body)); err == nil {
			_, err = st.ImportRates(ctx, kind, table, rs, false)
		}
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

// mismatched ingests mismatchFile with a client that has no rate table and
// a deleted rate, so that every category appears.
func mismatched(t *testing.T) *fixture {
	f := newFixture(t)
	f.importCSV("clients", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		"norates,No Rates Ltd,EUR,UTC,,,1,0,default,,,false\n")
	f.importCSV("accounts", "client,kind,value,tech_prefix,rate_table,enabled\nnorates,ip,198.18.0.1,,,true\n")
	if _, err := f.ingest(f.upload(cdr.Canonical, "mismatch.csv", []byte(mismatchFile))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.DeleteRate(ctx, "wholesale-usd", "44", time.Time{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestEveryMismatchCategoryIsReported(t *testing.T) {
	f := mismatched(t)
	rows, err := f.store.Mismatches(ctx, october, november)
	if err != nil {
		t.Fatal(err)
	}
	want := []report.MismatchRow{
		{Category: report.DeletedRate, Client: "globex", Calls: 1, Seconds: 120},
		{Category: report.NoRateTable, Client: "norates", Calls: 1, Seconds: 45},
		{Category: report.UnknownAccount, Client: "", Calls: 1, Seconds: 31},
		{Category: report.UnknownDestination, Client: "acme", Calls: 1, Seconds: 90},
	}
	if len(rows) != len(want) {
		t.Fatalf("%+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	details, total, err := f.store.MismatchDetails(ctx, october, november, 2)
	if err != nil || total != 4 || len(details) != 2 {
		t.Fatalf("%d of %d, %v", len(details), total, err)
	}
	if d := details[0]; d.Category != report.UnknownAccount || d.OrigIP != "203.0.113.50" || d.File != "inbox/canonical/mismatch.csv" || d.Line != 4 {
		t.Fatalf("%+v", d)
	}
}

func TestFixingMasterDataAndReratingMismatchedMovesExactlyThoseCalls(t *testing.T) {
	f := mismatched(t)
	before := f.query(`SELECT count(*) FROM cdrs`)
	okCost := f.query(`SELECT (sum(cost) * 1000000)::bigint FROM cdrs WHERE call_id LIKE 'ok-%'`)
	// Finance fixes each cause.
	f.importCSV("accounts", "client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,203.0.113.50,,,true\n")
	f.importCSV("clients", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		"norates,No Rates Ltd,EUR,UTC,retail-eur,,1,0,default,,,false\n")
	f.importCSV("rates:retail-eur", "code,rate,effective_from,end,increment,setup_fee\n86,0.0600,2026-01-01,,1/1,\n")
	f.importCSV("rates:wholesale-usd", "code,rate,effective_from,end,increment,setup_fee\n44,0.0300,2026-06-01,,60/60,\n")

	var sum rerate.Summary
	v, err := f.env.ExecuteActivity(f.acts.RerateDay, activities.RerateDayInput{From: october, To: november, Match: rerate.Mismatched})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&sum); err != nil {
		t.Fatal(err)
	}
	if sum.Examined != 4 || sum.Changed != 4 || sum.NewlyMatched != 3 || sum.StillMismatched != 0 {
		t.Fatalf("%+v", sum)
	}
	if n := f.query(`SELECT count(*) FROM cdrs`); n != before {
		t.Fatalf("%d calls after rerating, %d before", n, before)
	}
	if rows, _ := f.store.Mismatches(ctx, october, november); len(rows) != 0 {
		t.Fatalf("mismatches left: %+v", rows)
	}
	if c := f.query(`SELECT (sum(cost) * 1000000)::bigint FROM cdrs WHERE call_id LIKE 'ok-%'`); c != okCost {
		t.Fatalf("matched calls changed: %d, was %d", c, okCost)
	}
	// Hand-computed: retail-eur's 4930 (longer than acme-special's 49) at 0.0120 1/1 for 31 s;
	// the same for 45 s; retail-eur 86 at 0.0600 1/1 for 90 s; wholesale-usd's new 44 at 0.0300
	// 60/60 for 120 s (a rate imported again from the same instant would be restored instead).
	costs := map[string]string{"unknown-account": "0.006200", "no-table": "0.009000", "unknown-dest": "0.090000", "deleted": "0.060000"}
	for id, want := range costs {
		var got string
		var status string
		if err := pgtest.Pool(f.store).QueryRow(ctx, `SELECT cost::text, status FROM cdrs WHERE call_id = $1`, id).Scan(&got, &status); err != nil {
			t.Fatal(err)
		}
		if got != want || status != "rated" {
			t.Errorf("%s: %s %s, want rated %s", id, status, got, want)
		}
	}
	diffs := map[string]string{}
	for _, d := range sum.Differences {
		diffs[d.Client+" "+d.Currency] = d.Amount.String()
	}
	// deleted: 0.060000 now, 0.016000 before (0.0080 1/1 for 120 s).
	if diffs["acme EUR"] != "0.096200" || diffs["norates EUR"] != "0.009000" || diffs["globex USD"] != "0.044000" {
		t.Fatalf("differences %v", diffs)
	}
}

func TestReratingIsRepeatableAndLeavesUnchangedCallsAlone(t *testing.T) {
	f := mismatched(t)
	run := func() rerate.Summary {
		var s rerate.Summary
		v, err := f.env.ExecuteActivity(f.acts.RerateDay, activities.RerateDayInput{From: october, To: november, Match: rerate.All})
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&s)
		return s
	}
	first := run()
	second := run()
	if first.Examined != 6 || second.Examined != 6 || second.Changed != 0 || len(second.Differences) != 0 {
		t.Fatalf("first %+v\nsecond %+v", first, second)
	}
}

func TestAnOverlappingRerateIsRefused(t *testing.T) {
	f := newFixture(t)
	begin := func(id string, from, to time.Time) error {
		_, err := f.env.ExecuteActivity(f.acts.BeginRerate, activities.BeginRerateInput{RunID: id, From: from, To: to, Match: rerate.All})
		return err
	}
	if err := begin("r1", october, november); err != nil {
		t.Fatal(err)
	}
	err := begin("r2", october.AddDate(0, 0, 14), november.AddDate(0, 0, 14))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrRerateRunning || !strings.Contains(app.Message(), "r1") {
		t.Fatalf("err = %v", err)
	}
	if err := begin("r3", november, november.AddDate(0, 1, 0)); err != nil {
		t.Fatalf("an adjacent period: %v", err)
	}
	if _, err := f.env.ExecuteActivity(f.acts.EndRerate, activities.EndRerateInput{RunID: "r1", Result: &rerate.Summary{}}); err != nil {
		t.Fatal(err)
	}
	if err := begin("r2", october.AddDate(0, 0, 14), october.AddDate(0, 0, 20)); err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
}

func TestSummaryGroupsRatedCallsOnly(t *testing.T) {
	f := mismatched(t)
	rows, err := f.store.Summary(ctx, report.Summary{From: october, To: november, GroupBy: []report.Key{report.Client, report.DstName}})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range rows {
		got = append(got, strings.Join(r.Values, "/")+" "+itoa(r.Calls)+" "+itoa(r.BilledSeconds)+" "+r.Amount.StringFixed(6)+" "+r.Currency)
	}
	// ok-1: acme-special's 49 (1/1) loses to retail-eur's longer 4930: 0.0120 × 60 s.
	// ok-2: acme-special 4915 at 0.0800 1/1: 61 s. deleted: rated by a rate
	// deleted since, a mismatch (deleted_rate) until rerated: not in it.
	want := []string{"acme/Germany Berlin 1 60 0.012000 EUR", "acme/Germany Mobile 1 61 0.081333 EUR"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	total := decimal.Zero
	for _, r := range rows {
		total = total.Add(r.Amount)
	}
	if total.StringFixed(6) != "0.093333" {
		t.Fatal(total)
	}
}

func itoa(n int64) string { return decimal.NewFromInt(n).String() }

func TestAReleasedRunFreesItsPeriod(t *testing.T) {
	f := newFixture(t)
	if err := f.store.BeginRerate(ctx, "stuck", october, november, "", string(rerate.All)); err != nil {
		t.Fatal(err)
	}
	if err := f.store.BeginRerate(ctx, "next", october, november, "", string(rerate.All)); err == nil {
		t.Fatal("an overlapping run started")
	}
	if err := f.store.ReleaseRerate(ctx, "stuck"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.ReleaseRerate(ctx, "stuck"); err == nil {
		t.Fatal("released twice")
	}
	if err := f.store.BeginRerate(ctx, "next", october, november, "", string(rerate.All)); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// TestARerateOfAnUnknownClientIsRefused: it once exited 0 and recorded a run
// that rerated nothing.
func TestARerateOfAnUnknownClientIsRefused(t *testing.T) {
	f := newFixture(t)
	_, err := f.env.ExecuteActivity(f.acts.BeginRerate, activities.BeginRerateInput{RunID: "r", From: october, To: november, Client: "nosuch", Match: rerate.All})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrUnknownClient || !app.NonRetryable() {
		t.Fatalf("err = %v", err)
	}
	if n := f.query(`SELECT count(*) FROM rerate_runs`); n != 0 {
		t.Fatalf("%d runs recorded", n)
	}
}
