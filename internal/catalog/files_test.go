package catalog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestReadRatesParsesEveryField(t *testing.T) {
	in := "code,rate,effective_from,end,increment,setup_fee\n" +
		"4915,0.0120,2026-10-01,,60/60,\n" +
		"49,-0.5,2026-10-01 12:00:00,2026-11-01T00:00:00+01:00,30/6/3,0.30000000\n"
	rs, err := ReadRates("rates.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d rates", len(rs))
	}
	r := rs[1]
	if r.Line != 3 || r.Code != "49" || r.PerMinute.String() != "-0.5" || r.SetupFee.String() != "0.3" ||
		r.Increment != (Increment{30, 6, 3}) || !r.EffectiveFrom.Equal(time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)) ||
		!r.End.Equal(time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", r)
	}
	if rs[0].Increment != (Increment{60, 60, 0}) || !rs[0].End.IsZero() || !rs[0].SetupFee.IsZero() {
		t.Fatalf("%+v", rs[0])
	}
}

func TestBadLinesNameFileLineAndField(t *testing.T) {
	const rateHeader = "code,rate,effective_from,end,increment,setup_fee\n"
	const clientHeader = "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"
	const accountHeader = "client,kind,value,tech_prefix,rate_table,enabled\n"
	cases := []struct {
		name string
		read func(string, *strings.Reader) error
		in   string
		want string
	}{
		{"a code with letters", rates, rateHeader + "49,0.1,2026-10-01,,60/60,\n4a,0.1,2026-10-01,,60/60,\n", `rates.csv:3: field code: "4a" is not a string of digits`},
		{"a rate that is not a number", rates, rateHeader + "49,abc,2026-10-01,,60/60,\n", `rates.csv:2: field rate: "abc" is not a decimal number`},
		{"a rate in exponent form", rates, rateHeader + "49,1e-3,2026-10-01,,60/60,\n", `rates.csv:2: field rate: "1e-3" is not a decimal number`},
		{"a rate with nine places", rates, rateHeader + "49,0.123456789,2026-10-01,,60/60,\n", `rates.csv:2: field rate: "0.123456789" has more than 8 decimal places`},
		{"a missing effective_from", rates, rateHeader + "49,0.1,,,60/60,\n", `rates.csv:2: field effective_from: required`},
		{"a bad date", rates, rateHeader + "49,0.1,2026-13-01,,60/60,\n", `rates.csv:2: field effective_from: "2026-13-01" is not a time`},
		{"an end before the start", rates, rateHeader + "49,0.1,2026-10-01,2026-09-01,60/60,\n", `rates.csv:2: field end: 2026-09-01 is not after effective_from`},
		{"a zero interval", rates, rateHeader + "49,0.1,2026-10-01,,60/0,\n", `rates.csv:2: field increment: "60/0" is not min/interval[/grace]`},
		{"a one-part increment", rates, rateHeader + "49,0.1,2026-10-01,,60,\n", `rates.csv:2: field increment: "60" is not`},
		{"a code twice from the same instant", rates, rateHeader + "49,0.1,2026-10-01,,60/60,\n49,0.2,2026-10-01 00:00:00,,60/60,\n", `rates.csv:3: field effective_from: "49 from 2026-10-01T00:00:00Z" again (first on line 2)`},
		{"a missing column", rates, "code,rate,effective_from,increment,setup_fee\n", `rates.csv:1: field end: missing column`},
		{"an unknown column", rates, "code,rate,effective_from,end,increment,setup_fee,colour\n", `rates.csv:1: field colour: unknown column`},
		{"a short line", rates, rateHeader + "49,0.1\n", `rates.csv:2: 2 fields, the header has 6`},
		{"an unterminated quote", rates, rateHeader + "\"49,0.1,2026-10-01,,60/60,\n", `rates.csv:2: extraneous or missing " in quoted-field`},
		{"an empty file", rates, "", `rates.csv:1: empty file`},
		// One rule for every text stored, and dates in a sane window (issue 12).
		{"a date of year 0", rates, rateHeader + "49,0.1,0000-01-01,,60/60,\n", `rates.csv:2: field effective_from: 0000-01-01 is outside the years 1970 to 2199`},
		{"an end in year 9999", rates, rateHeader + "49,0.1,2026-10-01,9999-12-31,60/60,\n", `rates.csv:2: field end: 9999-12-31 is outside the years 1970 to 2199`},
		{"a name that is not UTF-8", clients, clientHeader + "acme,Ac\xffme,USD,UTC,,,1,0,default,,,false\n", `clients.csv:2: field name: "Ac\xffme" is not valid UTF-8`},
		{"a NUL byte", clients, clientHeader + "acme,Ac\x00me,USD,UTC,,,1,0,default,,,false\n", `clients.csv:2: field name: "Ac\x00me" holds a NUL byte`},
		{"a name of a megabyte", clients, clientHeader + "acme," + strings.Repeat("A", 1<<20) + ",USD,UTC,,,1,0,default,,,false\n", `clients.csv:2: field name: 1048576 bytes: at most 1000`},
		{"a header of a megabyte", clients, strings.Repeat("x", 1<<20) + "\n", `clients.csv:1: field xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…: unknown column`},
		{"a lower-case currency", clients, clientHeader + "acme,Acme,usd,UTC,,,1,0,default,,,false\n", `clients.csv:2: field currency: "usd" is not an ISO 4217 code`},
		{"an unknown time zone", clients, clientHeader + "acme,Acme,USD,Mars/Olympus,,,1,0,default,,,false\n", `clients.csv:2: field timezone: "Mars/Olympus" is not an IANA time zone`},
		{"an invoice day past 28", clients, clientHeader + "acme,Acme,USD,UTC,,,29,0,default,,,false\n", `clients.csv:2: field invoice_day: "29" is not a whole number from 1 to 28`},
		{"an unknown template", clients, clientHeader + "acme,Acme,USD,UTC,,,1,0,fancy,,,false\n", `clients.csv:2: field template: "fancy" is not one of default, extended`},
		{"a bad e-mail", clients, clientHeader + "acme,Acme,USD,UTC,,,1,0,default,finance-at-acme,,false\n", `clients.csv:2: field billing_email: "finance-at-acme" is not an e-mail address`},
		{"an unknown rounding mode", clients, strings.TrimSuffix(clientHeader, "\n") + ",rounding\nacme,Acme,USD,UTC,,,1,0,default,,,false,round_up\n",
			`clients.csv:2: field rounding: "round_up" is not one of round_then_sum, sum_then_round`},
		{"a client twice", clients, clientHeader + "acme,Acme,USD,UTC,,,1,0,default,,,false\nacme,Acme,USD,UTC,,,1,0,default,,,false\n", `clients.csv:3: field id: "acme" again (first on line 2)`},
		{"an ip account that is no address", accounts, accountHeader + "acme,ip,10.0.0.300,,,true\n", `accounts.csv:2: field value: "10.0.0.300" is not an IP address`},
		{"an unknown kind", accounts, accountHeader + "acme,mac,aa:bb,,,true\n", `accounts.csv:2: field kind: "mac" is not one of ip, username, ani`},
		{"a tech prefix with a star", accounts, accountHeader + "acme,ip,10.0.0.1,*9,,true\n", `accounts.csv:2: field tech_prefix: "*9" is not a string of digits`},
		{"an enabled flag that is not boolean", accounts, accountHeader + "acme,ip,10.0.0.1,,,maybe\n", `accounts.csv:2: field enabled: "maybe" is not true or false`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(tc.name, strings.NewReader(tc.in))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %q\nwant prefix %q", err, tc.want)
			}
		})
	}
}

func rates(_ string, in *strings.Reader) error {
	_, err := ReadRates("rates.csv", in)
	return err
}

func clients(_ string, in *strings.Reader) error {
	_, err := ReadClients("clients.csv", in)
	return err
}

func accounts(_ string, in *strings.Reader) error {
	_, err := ReadAccounts("accounts.csv", in)
	return err
}

func TestDefaultsApplyToEmptyOptionalFields(t *testing.T) {
	cs, err := ReadClients("c.csv", strings.NewReader("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\nacme,Acme,EUR,,,,,,,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	if c.Timezone != "UTC" || c.InvoiceDay != 1 || c.GraceDays != 0 || c.Template != "default" || c.Autoinvoice || c.Status != "" {
		t.Fatalf("%+v", c)
	}
	as, err := ReadAccounts("a.csv", strings.NewReader("enabled,value,kind,client,tech_prefix,rate_table\n,alice,username,acme,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !as[0].Enabled || as[0].Value != "alice" {
		t.Fatalf("%+v", as[0])
	}
}

// FuzzReadRates: whatever the bytes, the reader returns rates that obey the
// rules or an *Error with a line number, and never panics.
func FuzzReadRates(f *testing.F) {
	f.Add("code,rate,effective_from,end,increment,setup_fee\n4915,0.0120,2026-10-01,,60/60,\n")
	f.Add("code,rate,effective_from,end,increment,setup_fee\n49,-1.5,2026-10-01 00:00:00,2027-01-01,30/6/3,0.3\n")
	f.Add("code,rate,effective_from,end,increment,setup_fee\n\"4\n9\",1,2026-10-01,,1/1,\n")
	f.Fuzz(func(t *testing.T, in string) {
		rs, err := ReadRates("f.csv", strings.NewReader(in))
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) && ce.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, r := range rs {
			if r.Code == "" || strings.Trim(r.Code, "0123456789") != "" || r.Min < 1 || r.Interval < 1 || r.Grace < 0 ||
				r.EffectiveFrom.IsZero() || (!r.End.IsZero() && !r.End.After(r.EffectiveFrom)) {
				t.Fatalf("accepted a bad rate %+v", r)
			}
		}
	})
}

// FuzzReadClients: whatever the bytes, the clients read hold only text that
// may be stored (UTF-8, no NUL, at most 1,000 bytes a field), or the error
// names a line.
func FuzzReadClients(f *testing.F) {
	const header = "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\n"
	f.Add(header + "acme,Acme Telecom GmbH,EUR,Europe/Berlin,acme-special,de-vat,1,14,default,billing@acme.example,\"Hauptstr. 1, 10115 Berlin\",true\n")
	f.Add(header + "acme,Ac\xffme,EUR,UTC,,,1,0,default,,,false\n")
	f.Add(header + "acme,Acme,EUR,UTC,,,1,0,default,,\"a\x00b\",false\n")
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := ReadClients("f.csv", strings.NewReader(in))
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) && ce.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, c := range cs {
			for _, s := range []string{c.ID, c.Name, c.Currency, c.Timezone, c.RateTable, c.TaxProfile, c.Template, c.BillingEmail, c.Address, c.Rounding} {
				if !utf8.ValidString(s) || strings.Contains(s, "\x00") || len(s) > 1000 {
					t.Fatalf("accepted text that may not be stored: %+v", c)
				}
			}
		}
	})
}

// FuzzReadMasterData: whatever the bytes (and the kind), each reader of the other
// master-data kinds either names the line of its error or returns records
// whose every text field may be stored (UTF-8, no NUL, at most 1,000
// bytes). Its seeds are the committed corpus of testdata/bad/imports.
func FuzzReadMasterData(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "bad", "imports", "*", "*.csv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 4<<10 { // the huge ones make each input, and minimizing, slow
			for kind := range 6 {
				f.Add(uint8(kind), b)
			}
		}
	}
	readers := []func(string, io.Reader) (any, error){
		anyOf(ReadCodeDeck), anyOf(ReadRateTables), anyOf(ReadAccounts), anyOf(ReadTaxes), anyOf(ReadPackages), anyOf(ReadSubscriptions),
	}
	f.Fuzz(func(t *testing.T, kind uint8, in []byte) {
		rows, err := readers[int(kind)%len(readers)]("f.csv", bytes.NewReader(in))
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) && ce.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		v := reflect.ValueOf(rows)
		for i := range v.Len() {
			storable(t, v.Index(i))
		}
	})
}

func anyOf[T any](read func(string, io.Reader) ([]T, error)) func(string, io.Reader) (any, error) {
	return func(name string, in io.Reader) (any, error) { return read(name, in) }
}

// storable fails t on a string field of v that PostgreSQL would refuse or
// that is longer than the text rule allows.
func storable(t *testing.T, v reflect.Value) {
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			if s := f.String(); !utf8.ValidString(s) || strings.Contains(s, "\x00") || len(s) > 1000 {
				t.Fatalf("accepted text that may not be stored in %s: %q", v.Type().Field(i).Name, s)
			}
		}
	}
}
