package activities_test

import (
	"testing"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/readiness"
)

// TestReadinessFindsEveryErrorAndWarning builds a catalogue that holds each
// problem of billing-rules §6 once and expects each to be found.
func TestReadinessFindsEveryErrorAndWarning(t *testing.T) {
	f := newFixture(t)
	f.importCSV("clients", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		"noacct,No Account,EUR,UTC,retail-eur,,1,0,default,,,false\n"+
		"notable,No Table,EUR,UTC,,,1,0,default,,,false\n"+
		"usdclient,Dollar Client,USD,UTC,retail-eur,,1,0,default,,,false\n")
	f.importCSV("accounts", "client,kind,value,tech_prefix,rate_table,enabled\nnotable,ip,198.18.0.2,,,true\nusdclient,ip,198.18.0.3,,,true\n")
	f.importCSV("rates:acme-special", "code,rate,effective_from,end,increment,setup_fee\n4989,0.5,2026-01-01,,1/1,\n")
	// A subscription in another currency than the client's covers nothing: its fees cannot be invoiced.
	// Import refuses one; here the package's currency changes after.
	f.importCSV("packages", "name,currency,monthly_fee,activation_fee,fees_include_taxes\nusd-fax,EUR,5.00,0,false\n")
	f.importCSV("subscriptions", "client,package,quantity,start,end\nnotable,usd-fax,1,2026-10-01,\n")
	f.importCSV("packages", "name,currency,monthly_fee,activation_fee,fees_include_taxes\nusd-fax,USD,5.00,0,false\n")
	calls := `call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition
a,2026-10-05 10:00:00,60,192.0.2.10,,,4989123,ANSWERED
b,2026-10-05 11:00:00,60,192.0.2.10,,,999999,ANSWERED
c,2026-10-05 12:00:00,60,203.0.113.9,,,4930111,ANSWERED
d,2026-10-05 13:00:00,60,198.51.100.7,,,4915111,ANSWERED
e,2026-10-05 14:00:00,60,,,4934112345,4915111,ANSWERED
g,2026-10-05 15:00:00,60,198.18.0.3,,,4930111,ANSWERED
h,2026-10-05 16:00:00,60,198.18.0.2,,,4930111,ANSWERED
`
	if _, err := f.ingest(f.upload(cdr.Canonical, "october.csv", []byte(calls))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ingest(f.upload(cdr.Canonical, "broken.csv", []byte("\x00\x01binary"))); err == nil {
		t.Fatal("a binary file was ingested")
	}
	f.upload(cdr.Canonical, "late.csv", []byte("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"))

	fs, err := f.acts.Billing.Readiness(ctx, "2026-10", readiness.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, x := range fs {
		got[string(x.Severity)+"/"+x.Client+"/"+x.Check]++
	}
	want := map[string]int{
		"error//inbox":               2, // broken.csv failed, late.csv pending
		"error/noacct/account":       1,
		"error/notable/rate_table":   1, // the USD package does not count as its subscription
		"error/notable/currency":     1, // and is itself an error
		"error/usdclient/currency":   1,
		"error/globex/currency":      1, // its tech-prefix account rates in EUR
		"warning/noacct/traffic":     1,
		"warning/notable/traffic":    1,
		"warning/acme/mismatches":    1, // 999999 is no destination
		"warning/acme/code_names":    1, // 4989 has no name in the deck
		"warning//mismatches":        1, // 203.0.113.9 is no account
		"warning/globex/traffic":     0,
		"warning/initech/traffic":    0,
		"error/acme/rate_table":      0,
		"error/usdclient/rate_table": 0,
		"warning/usdclient/traffic":  0,
		"warning/initech/code_names": 0,
		"warning/initech/mismatches": 0,
		"error/initech/account":      0,
		"error/acme/account":         0,
		"warning/notable/mismatches": 1, // its call found no rate table
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d findings, want %d", k, got[k], n)
		}
	}
	if !readiness.HasErrors(fs) {
		t.Fatal("no errors")
	}
	// One client alone: only its findings, and no inbox-wide ones about others' calls.
	fs, err = f.acts.Billing.Readiness(ctx, "2026-10", readiness.Scope{Client: "initech"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fs {
		if x.Client != "initech" && x.Check != "inbox" {
			t.Errorf("finding about another client: %+v", x)
		}
	}
}

// TestABillRunIsHeldUpOnlyByClientsItBills: the bill run's checks judge the
// clients it invoices (autoinvoice); the problems of the others are left to
// billctl check readiness.
func TestABillRunIsHeldUpOnlyByClientsItBills(t *testing.T) {
	f := newFixture(t)
	f.importCSV("clients", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"+
		"noacct,No Account,EUR,UTC,retail-eur,,1,0,default,,,false\n")
	v, err := f.env.ExecuteActivity(f.acts.ReadinessDigest, activities.ReadinessInput{Period: "2026-10"})
	if err != nil {
		t.Fatal(err)
	}
	var d readiness.Digest
	if err := v.Get(&d); err != nil {
		t.Fatal(err)
	}
	billed := map[string]bool{}
	for _, x := range d.Findings {
		billed[x.Client] = true
	}
	if billed["noacct"] || billed["initech"] || !billed["globex"] {
		t.Fatalf("a bill run judged %v", billed)
	}
	all, err := f.acts.Billing.Readiness(ctx, "2026-10", readiness.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range all {
		found = found || x.Client == "noacct"
	}
	if !found {
		t.Fatal("billctl check readiness no longer judges a client without autoinvoice")
	}
}
