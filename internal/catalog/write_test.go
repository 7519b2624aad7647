package catalog

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestWrittenRatesReadBackTheSame(t *testing.T) {
	in := "code,rate,effective_from,end,increment,setup_fee\n" +
		"49,0.0150,2026-01-01,2026-10-15,60/60,\n" +
		"49,0.0140,2026-10-15,,60/60,0.02\n" +
		"4915,0.12,2026-10-01T12:30:00.5Z,,30/6/3,0\n" +
		"1,-0.5,2026-01-01 06:00:00,,1/1,\n"
	rates, err := ReadRates("in.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteRates(&out, rates); err != nil {
		t.Fatal(err)
	}
	want := "code,rate,effective_from,end,increment,setup_fee\n" +
		"1,-0.5,2026-01-01T06:00:00Z,,1/1,\n" +
		"49,0.015,2026-01-01,2026-10-15,60/60,\n" +
		"49,0.014,2026-10-15,,60/60,0.02\n" +
		"4915,0.12,2026-10-01T12:30:00.5Z,,30/6/3,\n"
	if out.String() != want {
		t.Fatalf("written\n%s\nwant\n%s", out.String(), want)
	}
	back, err := ReadRates("out.csv", bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteRates(&again, back); err != nil || again.String() != want {
		t.Fatalf("written again (%v)\n%s", err, again.String())
	}
}

func TestOptionalRateTableAndClientColumnsKeepWhatIsStoredWhenAbsent(t *testing.T) {
	for _, tc := range []struct {
		name, in                  string
		srcDeck, reseller, notes  string
		keepSrcDeck, keepReseller bool
	}{
		{"a file from before the new columns", "name,currency,deck,parent,rates_include_taxes\nretail,EUR,world,,false\n", "", "", "", true, true},
		{"every column", "name,currency,deck,parent,rates_include_taxes,notes,src_deck,reseller\nretail,EUR,world,,false,n,origins,r1\n",
			"origins", "r1", "n", false, false},
		{"an empty reseller column clears it", "name,currency,deck,parent,rates_include_taxes,reseller\nretail,EUR,world,,false,\n", "", "", "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ReadRateTables("ratetables.csv", strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got := ts[0]
			if got.SrcDeck != tc.srcDeck || got.Reseller != tc.reseller || got.Notes != tc.notes ||
				got.KeepSrcDeck != tc.keepSrcDeck || got.KeepReseller != tc.keepReseller {
				t.Fatalf("%+v", got)
			}
		})
	}
	cs, err := ReadClients("clients.csv", strings.NewReader("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice,reseller\n"+
		"acme,Acme,EUR,UTC,,,1,0,default,,,false,r1\n"))
	if err != nil || cs[0].Reseller != "r1" || cs[0].KeepReseller {
		t.Fatalf("%v %+v", err, cs)
	}
}

func TestResellersAreReadOnceEach(t *testing.T) {
	rs, err := ReadResellers("resellers.csv", strings.NewReader("id,name\nr1,Reseller One\nr2,\"Two, Ltd\"\n"))
	if err != nil || !reflect.DeepEqual(rs, []Reseller{{Line: 2, ID: "r1", Name: "Reseller One"}, {Line: 3, ID: "r2", Name: "Two, Ltd"}}) {
		t.Fatalf("%v %+v", err, rs)
	}
	for in, want := range map[string]string{
		"id,name\nr1,One\nr1,Again\n": "resellers.csv:3: field id",
		"id,name\nr 1,One\n":          "resellers.csv:2: field id",
		"id,name\nr1,\n":              "resellers.csv:2: field name",
	} {
		if _, err := ReadResellers("resellers.csv", strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestInheritPricesEveryOriginAsTheChainDoes(t *testing.T) {
	r := func(code, src string, id int64) Rate { return Rate{ID: id, Code: code, SrcCode: src} }
	ids := func(rs []Rate) []int64 {
		var out []int64
		for _, x := range rs {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		chain [][]Rate
		want  []int64
	}{
		{"a code of the table hides the parent's", [][]Rate{{r("49", "", 1)}, {r("49", "", 2), r("44", "", 3)}}, []int64{1, 3}},
		{"a parent's longer code stays", [][]Rate{{r("49", "", 1)}, {r("4915", "", 2)}}, []int64{1, 2}},
		{"a table's rate for any origin hides every parent rate of the code", [][]Rate{{r("49", "", 1)}, {r("49", "1", 2), r("49", "44", 3)}}, []int64{1}},
		{"a parent's rate for any origin stays beside the table's for some", [][]Rate{{r("49", "1", 1)}, {r("49", "", 2)}}, []int64{1, 2}},
		{"a parent's longer source code under the table's is hidden", [][]Rate{{r("49", "1", 1)}, {r("49", "12", 2), r("49", "2", 3)}}, []int64{1, 3}},
		{"a parent's shorter source code stays", [][]Rate{{r("49", "12", 1)}, {r("49", "1", 2)}}, []int64{1, 2}},
		{"three tables", [][]Rate{{r("49", "1", 1)}, {r("49", "2", 2)}, {r("49", "", 3), r("49", "21", 4), r("49", "3", 5)}}, []int64{1, 2, 3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(Inherit(tc.chain)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRatesForGivenOriginsAreWrittenAndReadWithTheirSourceCode(t *testing.T) {
	in := "code,rate,effective_from,end,increment,setup_fee,src_code\n" +
		"49,0.02,2026-01-01,,60/60,,\n" +
		"49,0.01,2026-01-01,,60/60,,4915\n"
	rates, err := ReadRates("in.csv", strings.NewReader(in))
	if err != nil || len(rates) != 2 || rates[1].SrcCode != "4915" {
		t.Fatalf("%v %+v", err, rates)
	}
	var out bytes.Buffer
	if err := WriteRates(&out, rates); err != nil || out.String() != "code,rate,effective_from,end,increment,setup_fee,src_code\n"+
		"49,0.02,2026-01-01,,60/60,,\n49,0.01,2026-01-01,,60/60,,4915\n" {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for bad, want := range map[string]string{
		in + "49,0.03,2026-01-01,,60/60,,4915\n":                                                      "in.csv:4: field effective_from",
		"code,rate,effective_from,end,increment,setup_fee,src_code\n49,0.02,2026-01-01,,60/60,,+49\n": "in.csv:2: field src_code",
	} {
		if _, err := ReadRates("in.csv", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want %s", err, want)
		}
	}
}
