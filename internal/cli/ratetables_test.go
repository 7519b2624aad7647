package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/postgres/pgtest"
)

// importAll imports files into a database through billctl, failing the test
// on the first refusal.
func importAll(t *testing.T, url string, steps ...[]string) {
	t.Helper()
	for _, args := range steps {
		if code, _, errOut := run(t, url, append([]string{"import"}, args...)...); code != 0 {
			t.Fatalf("import %v: exit %d: %s", args, code, errOut)
		}
	}
}

func rateTablesCatalogue(t *testing.T) (deck, resellers, tables, wholesale, retail string) {
	deck = write(t, "deck.csv", "code,name,country\n49,Germany,DE\n4915,Germany Mobile,DE\n44,United Kingdom,GB\n447,United Kingdom Mobile,GB\n")
	resellers = write(t, "resellers.csv", "id,name\nnordic,Nordic Voice AB\nsouth,Southern Telecom\n")
	tables = write(t, "ratetables.csv", "name,currency,deck,parent,rates_include_taxes,notes,src_deck,reseller\n"+
		"wholesale,EUR,world,,false,the carrier's prices,world,\n"+
		"retail-nordic,EUR,world,wholesale,true,Nordic's retail,,nordic\n"+
		"retail-south,EUR,world,wholesale,false,,,south\n")
	wholesale = write(t, "wholesale.csv", "code,rate,effective_from,end,increment,setup_fee\n"+
		"49,0.0100,2026-01-01,,1/1,\n"+
		"49,0.0090,2026-10-15,,1/1,\n"+ // a price cut: in force from the 15th
		"4915,0.0500,2026-01-01,,60/60,0.02\n"+
		"44,0.0120,2026-01-01,2026-10-01,1/1,\n"+ // ended before October
		"447,0.0600,2026-01-01T06:30:00Z,,30/6/3,\n")
	retail = write(t, "retail.csv", "code,rate,effective_from,end,increment,setup_fee\n"+
		"49,0.0200,2026-01-01,,60/60,\n"+
		"491,0.0700,2026-01-01,,60/60,\n")
	return
}

func TestRateTablesAreListedSearchedShownAndExportedToImportBack(t *testing.T) {
	url := pgtest.URL(t, pgtest.New(t))
	deck, resellers, tables, wholesale, retail := rateTablesCatalogue(t)
	importAll(t, url, []string{"codedeck", "--deck", "world", deck}, []string{"resellers", resellers}, []string{"ratetables", tables},
		[]string{"rates", "--table", "wholesale", wholesale}, []string{"rates", "--table", "retail-nordic", retail})
	if code, _, errOut := run(t, url, "rates", "delete", "--table", "retail-nordic", "--code", "491"); code != 0 {
		t.Fatal(errOut)
	}

	list := func(args ...string) []map[string]any {
		t.Helper()
		code, out, errOut := run(t, url, append([]string{"--format", "json", "ratetables", "list", "--at", "2026-10-20"}, args...)...)
		var doc []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		return doc
	}
	names := func(doc []map[string]any) string {
		var n []string
		for _, d := range doc {
			n = append(n, d["name"].(string))
		}
		return strings.Join(n, " ")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"every table, in the order made", nil, "wholesale retail-nordic retail-south"},
		{"a name search ignores case", []string{"--name", "RETAIL"}, "retail-nordic retail-south"},
		{"by reseller", []string{"--reseller", "south"}, "retail-south"},
		{"by parent", []string{"--parent", "wholesale"}, "retail-nordic retail-south"},
		{"nothing matches", []string{"--name", "x", "--reseller", "nordic"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(list(tc.args...)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	all := list()
	w, n := all[0], all[1]
	// wholesale on the 20th: 49 (the cut), 4915, 447; 44 has ended.
	if w["rates"] != 3.0 || w["src_deck"] != "world" || w["dst_deck"] != "world" || w["notes"] != "the carrier's prices" || w["reseller"] != "" {
		t.Errorf("wholesale %v", w)
	}
	if n["rates"] != 1.0 || n["reseller"] != "nordic" || n["parent"] != "wholesale" || n["rates_include_taxes"] != true {
		t.Errorf("retail-nordic %v", n)
	}

	code, out, errOut := run(t, url, "--format", "json", "ratetables", "show", "retail-nordic", "--at", "2026-10-20")
	var show map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &show) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if chain, _ := json.Marshal(show["chain"]); string(chain) != `["retail-nordic","wholesale"]` ||
		show["versions"] != 2.0 || show["deleted"] != 1.0 || show["rates"] != 1.0 {
		t.Errorf("show %v", show)
	}

	// The effective rates of retail-nordic on the 20th: its own 49; from
	// wholesale 4915 and 447 (491 was deleted, 44 has ended).
	code, out, errOut = run(t, url, "rates", "export", "--table", "retail-nordic", "--with-parents", "--at", "2026-10-20")
	want := "code,rate,effective_from,end,increment,setup_fee\n" +
		"447,0.06,2026-01-01T06:30:00Z,,30/6/3,\n" +
		"49,0.02,2026-01-01,,60/60,\n" +
		"4915,0.05,2026-01-01,,60/60,0.02\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d: %s\nwant\n%s%s", code, out, want, errOut)
	}

	// An export imports into an empty database to the same rates.
	first := filepath.Join(t.TempDir(), "wholesale.csv")
	if code, _, errOut := run(t, url, "rates", "export", "--table", "wholesale", "--at", "2026-10-20", "--out", first); code != 0 {
		t.Fatal(errOut)
	}
	empty := pgtest.URL(t, pgtest.New(t))
	importAll(t, empty, []string{"codedeck", "--deck", "world", deck}, []string{"resellers", resellers}, []string{"ratetables", tables},
		[]string{"rates", "--table", "wholesale", first})
	code, again, errOut := run(t, empty, "rates", "export", "--table", "wholesale", "--at", "2026-10-20")
	exported, _ := os.ReadFile(first)
	if code != 0 || again != string(exported) || !strings.Contains(again, "49,0.009,2026-10-15,,1/1,\n") {
		t.Fatalf("exit %d: exported\n%s\nexported again\n%s%s", code, exported, again, errOut)
	}
}

func TestARateTablesFileWithoutTheNewColumnsKeepsResellersAndDecks(t *testing.T) {
	url := pgtest.URL(t, pgtest.New(t))
	deck, resellers, tables, _, _ := rateTablesCatalogue(t)
	old := write(t, "old.csv", "name,currency,deck,parent,rates_include_taxes\nretail-nordic,EUR,world,wholesale,true\nwholesale,EUR,world,,false\n")
	importAll(t, url, []string{"codedeck", "--deck", "world", deck}, []string{"resellers", resellers}, []string{"ratetables", tables},
		[]string{"ratetables", old})
	code, out, _ := run(t, url, "--format", "csv", "ratetables", "list")
	if code != 0 || !strings.Contains(out, ",wholesale,EUR,world,world,,,false,the carrier's prices,0\n") ||
		!strings.Contains(out, ",retail-nordic,EUR,,world,nordic,wholesale,true,Nordic's retail,0\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, bad := range []struct{ file, want string }{
		{"name,currency,deck,parent,rates_include_taxes,reseller\nx,EUR,,,false,ghost\n", "bad.csv:2: field reseller: unknown reseller \"ghost\""},
		{"name,currency,deck,parent,rates_include_taxes,src_deck\nx,EUR,,,false,nowhere\n", "bad.csv:2: field src_deck: unknown code deck \"nowhere\""},
	} {
		code, _, errOut := run(t, url, "import", "ratetables", write(t, "bad.csv", bad.file))
		if code == 0 || !strings.Contains(errOut, bad.want) {
			t.Errorf("exit %d: %s, want %s", code, errOut, bad.want)
		}
	}
}

// TestARateForAnOriginPricesCallsFromIt: the rates for given origins reach
// the engine through the database, and export and import back with them.
func TestARateForAnOriginPricesCallsFromIt(t *testing.T) {
	url := pgtest.URL(t, pgtest.New(t))
	importAll(t, url,
		[]string{"codedeck", "--deck", "world", write(t, "deck.csv", "code,name,country\n44,United Kingdom,GB\n4477,UK Mobile Vodafone,GB\n49,Germany,DE\n4915,Germany Mobile,DE\n")},
		[]string{"ratetables", write(t, "t.csv", "name,currency,deck,parent,rates_include_taxes,src_deck\norigin,EUR,world,,false,world\n")},
		[]string{"rates", "--table", "origin", write(t, "r.csv", "code,rate,effective_from,end,increment,setup_fee,src_code\n"+
			"4915,0.10,2026-01-01,,1/1,,\n4915,0.30,2026-01-01,,1/1,,44\n4915,0.50,2026-01-01,,1/1,,4477\n49,0.05,2026-01-01,,1/1,,\n")},
		[]string{"clients", write(t, "c.csv", "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\nacme,Acme,EUR,UTC,origin,,1,0,default,,,true\n")},
		[]string{"accounts", write(t, "a.csv", "client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,192.0.2.1,,,true\n")})
	cdrs := write(t, "cdrs.csv", "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"+
		"a,2026-10-01 10:00:00,60,192.0.2.1,,4930111111,4915112345678,ANSWERED\n"+
		"b,2026-10-01 10:00:00,60,192.0.2.1,,+442071234567,4915112345678,ANSWERED\n"+
		"c,2026-10-01 10:00:00,60,192.0.2.1,,447700900123,4915112345678,ANSWERED\n"+
		"d,2026-10-01 10:00:00,60,192.0.2.1,,447700900123,4930111111,ANSWERED\n")
	code, out, errOut := run(t, url, "--format", "json", "cdr", "rate", cdrs)
	var calls []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &calls) != nil || len(calls) != 4 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	for i, want := range []string{"0.1", "0.3", "0.5", "0.05"} { // d: no rate of 49 names an origin
		if got := fmt.Sprint(calls[i]["cost"]); !strings.HasPrefix(got, want) {
			t.Errorf("call %s from %s: cost %s, want %s", calls[i]["call_id"], calls[i]["src_number"], got, want)
		}
	}
	code, first, errOut := run(t, url, "rates", "export", "--table", "origin")
	if code != 0 || !strings.Contains(first, "4915,0.5,2026-01-01,,1/1,,4477\n") {
		t.Fatalf("exit %d: %s %s", code, first, errOut)
	}
	empty := pgtest.URL(t, pgtest.New(t))
	importAll(t, empty,
		[]string{"ratetables", write(t, "t.csv", "name,currency,deck,parent,rates_include_taxes\norigin,EUR,,,false\n")},
		[]string{"rates", "--table", "origin", write(t, "export.csv", first)})
	if code, again, errOut := run(t, empty, "rates", "export", "--table", "origin"); code != 0 || again != first {
		t.Fatalf("exit %d: %s\nwant\n%s%s", code, again, first, errOut)
	}
}

// TestAClientMovedToAnotherTableMidMonthIsRatedWithEachInItsTime: an import
// with effective_from keeps the rate-table history; one without sets the
// table for all time again.
func TestAClientMovedToAnotherTableMidMonthIsRatedWithEachInItsTime(t *testing.T) {
	url := pgtest.URL(t, pgtest.New(t))
	const clientHeader = "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice"
	importAll(t, url,
		[]string{"ratetables", write(t, "t.csv", "name,currency,deck,parent,rates_include_taxes\ncheap,EUR,,,false\ndear,EUR,,,false\n")},
		[]string{"rates", "--table", "cheap", write(t, "c.csv", "code,rate,effective_from,end,increment,setup_fee\n49,0.01,2026-01-01,,1/1,\n")},
		[]string{"rates", "--table", "dear", write(t, "d.csv", "code,rate,effective_from,end,increment,setup_fee\n49,0.05,2026-01-01,,1/1,\n")},
		[]string{"clients", write(t, "clients.csv", clientHeader+"\nacme,Acme,EUR,UTC,cheap,,1,0,default,,,true\n")},
		[]string{"accounts", write(t, "a.csv", "client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,192.0.2.1,,,true\n")})
	cdrs := write(t, "cdrs.csv", "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"+
		"a,2026-10-10 10:00:00,60,192.0.2.1,,,4930111111,ANSWERED\n"+
		"b,2026-10-20 10:00:00,60,192.0.2.1,,,4930111111,ANSWERED\n"+
		"c,2026-10-26 10:00:00,60,192.0.2.1,,,4930111111,ANSWERED\n")
	costs := func() string {
		t.Helper()
		code, out, errOut := run(t, url, "--format", "json", "cdr", "rate", cdrs)
		var calls []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &calls) != nil {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		var got []string
		for _, c := range calls {
			got = append(got, fmt.Sprint(c["cost"]))
		}
		return strings.Join(got, " ")
	}
	for _, step := range []struct {
		name, kind, file, want string
	}{
		{"one table for all time", "", "", "0.010000 0.010000 0.010000"},
		{"acme moves to dear on the 15th", "clients", clientHeader + ",effective_from\nacme,Acme,EUR,UTC,dear,,1,0,default,,,true,2026-10-15\n",
			"0.010000 0.050000 0.050000"},
		{"its account takes cheap from the 25th", "accounts", "client,kind,value,tech_prefix,rate_table,enabled,effective_from\nacme,ip,192.0.2.1,,cheap,true,2026-10-25\n",
			"0.010000 0.050000 0.010000"},
		{"a file without effective_from sets the client's table for all time", "clients", clientHeader + "\nacme,Acme,EUR,UTC,dear,,1,0,default,,,true\n",
			"0.050000 0.050000 0.010000"},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.kind != "" {
				importAll(t, url, []string{step.kind, write(t, step.kind+".csv", step.file)})
			}
			if got := costs(); got != step.want {
				t.Fatalf("costs %s, want %s", got, step.want)
			}
		})
	}
}
