package readiness

import (
	"reflect"
	"strings"
	"testing"
)

func TestEveryCheckFindsWhatItLooksFor(t *testing.T) {
	good := Client{ID: "good", Currency: "EUR", RateTable: "eur", RateTableCurrency: "EUR", Accounts: []Account{{Label: "ip:1", Enabled: true}}}
	f := Facts{
		Period: "2026-10",
		Clients: []Client{
			good,
			{ID: "noaccount", Currency: "EUR", RateTable: "eur", RateTableCurrency: "EUR", Accounts: []Account{{Label: "ip:2", Enabled: false}}},
			{ID: "notable", Currency: "EUR", Accounts: []Account{{Label: "ip:3", Enabled: true}}},
			{ID: "subsonly", Currency: "EUR", HasSubscription: true, Accounts: []Account{{Label: "ip:4", Enabled: true}}},
			{ID: "accounttables", Currency: "EUR", Accounts: []Account{{Label: "ip:5", Enabled: true, RateTable: "eur", RateTableCurrency: "EUR"}}},
			{ID: "wrongcurrency", Currency: "USD", RateTable: "eur", RateTableCurrency: "EUR", Accounts: []Account{{Label: "ip:6", Enabled: true, RateTable: "gbp", RateTableCurrency: "GBP"}}},
			{ID: "foreignpackage", Currency: "EUR", RateTable: "eur", RateTableCurrency: "EUR", ForeignPackages: []string{"pbx-seat (USD)"},
				Accounts: []Account{{Label: "ip:7", Enabled: true}}},
		},
		Calls: map[string]int64{"good": 10, "noaccount": 1, "notable": 1, "subsonly": 1, "accounttables": 1, "wrongcurrency": 1,
			"foreignpackage": 1},
		Mismatches:   map[string]map[string]int64{"good": {"unknown_destination": 2, "deleted_rate": 1}, "": {"unknown_account": 7}},
		UnnamedCodes: map[string][]string{"good": {"999", "998"}},
		Stale:        map[string]int64{"subsonly": 4},
		OverLimit:    map[string][2]string{"accounttables": {"1250.00 EUR", "1000.00 EUR"}},
		Files:        []File{{Key: "inbox/canonical/x.csv", Status: "failed", Reason: "is binary"}, {Key: "inbox/canonical/y.csv", Status: "pending"}},
	}
	f.Calls["good"] = 10
	got := map[string]bool{}
	for _, x := range Check(f) {
		got[string(x.Severity)+" "+x.Client+" "+x.Check] = true
		if x.Message == "" {
			t.Errorf("%+v has no message", x)
		}
	}
	want := []string{
		"error  inbox", "error noaccount account", "error notable rate_table", "error wrongcurrency currency", "error foreignpackage currency",
		"warning good mismatches", "warning good code_names", "warning  mismatches", "warning subsonly stale",
		"warning accounttables credit_limit",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing %q in %v", w, got)
		}
	}
	for _, unwanted := range []string{"error subsonly rate_table", "error accounttables rate_table", "error good account", "warning good traffic",
		"warning good credit_limit"} {
		if got[unwanted] {
			t.Errorf("unexpected %q", unwanted)
		}
	}
	delete(f.Calls, "good")
	f.Files = nil
	fs := Check(Facts{Period: "2026-10", Clients: []Client{good}})
	if len(fs) != 1 || fs[0].Check != "traffic" || fs[0].Severity != Warning || HasErrors(fs) || !strings.Contains(fs[0].Message, "no rated calls in 2026-10") {
		t.Fatalf("%+v", fs)
	}
}

func TestADigestCountsEverythingAndKeepsErrorsFirst(t *testing.T) {
	w1 := Finding{Severity: Warning, Client: "a", Check: "traffic"}
	w2 := Finding{Severity: Warning, Client: "b", Check: CheckMismatches}
	e1 := Finding{Severity: Error, Client: "c", Check: "account"}
	e2 := Finding{Severity: Error, Client: "d", Check: "currency"}
	tests := []struct {
		name string
		in   []Finding
		keep int
		want Digest
	}{
		{"nothing found", nil, 2, Digest{}},
		{"errors move first, in their order", []Finding{w1, e1, w2, e2}, 10,
			Digest{Errors: 2, Warnings: 2, Mismatched: true, Findings: []Finding{e1, e2, w1, w2}}},
		{"counts cover what is cut", []Finding{w1, w2, e1, e2}, 3,
			Digest{Errors: 2, Warnings: 2, Mismatched: true, Findings: []Finding{e1, e2, w1}}},
		{"no mismatch finding", []Finding{w1, e1}, 1, Digest{Errors: 1, Warnings: 1, Findings: []Finding{e1}}},
		{"stale calls block as mismatched ones do", []Finding{{Severity: Warning, Client: "a", Check: CheckStale}}, 1,
			Digest{Warnings: 1, Mismatched: true, Findings: []Finding{{Severity: Warning, Client: "a", Check: CheckStale}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewDigest(tt.in, tt.keep); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
