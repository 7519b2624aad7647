package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rating"
)

var ctx = context.Background()

func at(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDemoCatalogueRatesCallsAsComputedByHand goes through the database:
// import, snapshot, engine.
func TestDemoCatalogueRatesCallsAsComputedByHand(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	e, err := billing.NewEngines(s).Engine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                   string
		cdr                    rating.CDR
		client, code, cost, cu string
		billed                 int64
	}{
		{"the child table's equal-length code wins over its parent's", rating.CDR{ConnectTime: at("2026-10-01 08:15:00"), Duration: 61 * time.Second, OrigIP: "192.0.2.10", DstNumber: "+4915112345678"}, "acme", "4915", "0.081333", "EUR", 61},
		{"the parent's longer code wins", rating.CDR{ConnectTime: at("2026-10-01 09:00:00"), Duration: 125400 * time.Millisecond, OrigIP: "192.0.2.10", DstNumber: "4930987654"}, "acme", "4930", "0.025200", "EUR", 126},
		{"30/6 from the parent table", rating.CDR{ConnectTime: at("2026-10-16 10:30:00"), Duration: 45 * time.Second, OrigAccount: "acme-pbx", DstNumber: "447700900123"}, "acme", "447", "0.072000", "EUR", 48},
		{"a tech prefix picks the account's own table and the version in force", rating.CDR{ConnectTime: at("2026-10-03 12:05:00"), Duration: 31 * time.Second, OrigIP: "198.51.100.7", DstNumber: "00774915112345678"}, "globex", "4915", "0.072000", "EUR", 36},
		{"a newer version takes over from its effective date", rating.CDR{ConnectTime: at("2026-10-16 12:05:00"), Duration: 31 * time.Second, OrigIP: "198.51.100.7", DstNumber: "00774915112345678"}, "globex", "4915", "0.066000", "EUR", 36},
		{"setup fee and 60/60", rating.CDR{ConnectTime: at("2026-10-04 14:00:00"), Duration: 90 * time.Second, SrcNumber: "4934112345", DstNumber: "336123456789"}, "initech", "336", "0.350000", "EUR", 120},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Rate(&tc.cdr)
			if r.Status != rating.Rated || r.Client != tc.client || r.Code != tc.code || r.Cost.String() != tc.cost || r.Currency != tc.cu || r.BilledSeconds != tc.billed {
				t.Fatalf("got %v %s %s %d s %s %s", r.Status, r.Client, r.Code, r.BilledSeconds, r.Cost, r.Currency)
			}
		})
	}
}

// count returns the number of rows of a table.
func count(t *testing.T, s *postgres.Store, table string) int {
	t.Helper()
	var n int
	if err := pgtest.Pool(s).QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestABadFileIsRefusedWithItsLineAndChangesNothing(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	before := map[string]int{}
	tables := []string{"rate_tables", "rates", "clients", "accounts", "subscriptions"}
	for _, tb := range tables {
		before[tb] = count(t, s, tb)
	}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"an account of an unknown client after good lines", func() error {
			as, err := catalog.ReadAccounts("accounts.csv", strings.NewReader("client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,192.0.2.77,,,true\nacme,ip,192.0.2.78,,,true\nghost,ip,192.0.2.79,,,true\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportAccounts(ctx, "accounts.csv", as)
			return err
		}, `accounts.csv:4: field client: unknown client "ghost"`},
		{"a client with an unknown rate table", func() error {
			cs, err := catalog.ReadClients("clients.csv", strings.NewReader("id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice\nnew,New,EUR,UTC,,,1,0,default,,,false\nnew2,New 2,EUR,UTC,nope,,1,0,default,,,false\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportClients(ctx, "clients.csv", cs)
			return err
		}, `clients.csv:3: field rate_table: unknown rate table "nope"`},
		{"rate tables whose parents form a cycle through the database", func() error {
			ts, err := catalog.ReadRateTables("rt.csv", strings.NewReader("name,currency,deck,parent,rates_include_taxes\nx,EUR,world,,false\nretail-eur,EUR,world,acme-special,false\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportRateTables(ctx, "rt.csv", ts)
			return err
		}, `rt.csv:3: field parent: parents form a cycle: retail-eur → acme-special → retail-eur`},
		{"a parent in another currency", func() error {
			ts, err := catalog.ReadRateTables("rt.csv", strings.NewReader("name,currency,deck,parent,rates_include_taxes\nusd-child,USD,world,retail-eur,false\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportRateTables(ctx, "rt.csv", ts)
			return err
		}, `rt.csv:2: field parent: parent "retail-eur" is in EUR, this table in USD`},
		{"a parent whose currency change would split it from its child", func() error {
			ts, err := catalog.ReadRateTables("rt.csv", strings.NewReader("name,currency,deck,parent,rates_include_taxes\nretail-eur,USD,world,,false\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportRateTables(ctx, "rt.csv", ts)
			return err
		}, `rt.csv:2: field currency: rate table "acme-special" has this one as parent and is in EUR`},
		{"a rate table on an unknown deck", func() error {
			ts, err := catalog.ReadRateTables("rt.csv", strings.NewReader("name,currency,deck,parent,rates_include_taxes\nnew,EUR,galaxy,,false\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportRateTables(ctx, "rt.csv", ts)
			return err
		}, `rt.csv:2: field deck: unknown code deck "galaxy"`},
		{"a subscription to an unknown package", func() error {
			ss, err := catalog.ReadSubscriptions("subs.csv", strings.NewReader("client,package,quantity,start,end\nacme,pbx-seat,1,2026-11-01,\nacme,fax,1,2026-11-01,\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportSubscriptions(ctx, "subs.csv", ss)
			return err
		}, `subs.csv:3: field package: unknown package "fax"`},
		{"a subscription to a package in another currency than the client's", func() error {
			ss, err := catalog.ReadSubscriptions("subs.csv", strings.NewReader("client,package,quantity,start,end\nacme,pbx-seat,1,2026-11-01,\nglobex,pbx-seat,1,2026-11-01,\n"))
			if err != nil {
				return err
			}
			_, err = s.ImportSubscriptions(ctx, "subs.csv", ss)
			return err
		}, `subs.csv:3: field package: package "pbx-seat" is priced in EUR, client globex is billed in USD`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var ce *catalog.Error
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			for _, tb := range tables {
				if n := count(t, s, tb); n != before[tb] {
					t.Fatalf("%s has %d rows, had %d", tb, n, before[tb])
				}
			}
		})
	}
}

func TestReimportUpdatesByNaturalKey(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	rs, _ := catalog.ReadRates("r.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n49,0.0200,2026-01-01,,60/60,\n4999,0.5,2026-01-01,,1/1,\n"))
	res, err := s.ImportRates(ctx, "r.csv", "retail-eur", rs, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 1 || res.Updated != 1 {
		t.Fatalf("%+v", res)
	}
	var rate string
	if err := pgtest.Pool(s).QueryRow(ctx, `SELECT rate::text FROM rates WHERE rate_table = 'retail-eur' AND code = '49'`).Scan(&rate); err != nil || rate != "0.02000000" {
		t.Fatalf("rate %s, %v", rate, err)
	}
}

func TestAZImportEndsAbsentCodesAtTheEarliestEffectiveFrom(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	rs, _ := catalog.ReadRates("az.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n49,0.0200,2026-11-01,,60/60,\n4915,0.1,2026-11-01,,30/6,\n"))
	res, err := s.ImportRates(ctx, "az.csv", "retail-eur", rs, true)
	if err != nil {
		t.Fatal(err)
	}
	// 8 codes of retail-eur are absent (1, 44, 447, 4916, 4930, 33, 336 and … ) and end;
	// 49 and 4915 stay open, superseded by their new versions.
	var open, ended int
	if err := pgtest.Pool(s).QueryRow(ctx, `SELECT count(*) FILTER (WHERE end_at IS NULL),
		count(*) FILTER (WHERE end_at = '2026-11-01T00:00:00Z') FROM rates WHERE rate_table = 'retail-eur' AND deleted_at IS NULL`).Scan(&open, &ended); err != nil {
		t.Fatal(err)
	}
	if res.Ended != 7 || ended != 7 || open != 5 {
		t.Fatalf("result %+v; %d open, %d ended", res, open, ended)
	}
	e, err := billing.NewEngines(s).Engine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// France is gone from November, priced until then.
	call := rating.CDR{SrcNumber: "4934112345", DstNumber: "33123456", Duration: time.Minute}
	call.ConnectTime = at("2026-10-31 23:59:59")
	if r := e.Rate(&call); r.Status != rating.Rated || r.Code != "33" {
		t.Fatalf("october: %+v", r)
	}
	call.ConnectTime = at("2026-11-01 00:00:00")
	if r := e.Rate(&call); r.Status != rating.UnknownDestination {
		t.Fatalf("november: %+v", r)
	}
}

func TestClientReimportWithoutStatusKeepsItArchived(t *testing.T) {
	s := pgtest.New(t)
	pgtest.ImportDemo(t, s)
	const header = "id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice"
	cs, _ := catalog.ReadClients("c.csv", strings.NewReader(header+",status\nacme,Acme,EUR,UTC,,,1,0,default,,,false,archived\n"))
	if _, err := s.ImportClients(ctx, "c.csv", cs); err != nil {
		t.Fatal(err)
	}
	cs, _ = catalog.ReadClients("c.csv", strings.NewReader(header+"\nacme,Acme Renamed,EUR,UTC,,,1,0,default,,,false\n"))
	if _, err := s.ImportClients(ctx, "c.csv", cs); err != nil {
		t.Fatal(err)
	}
	var name, status string
	if err := pgtest.Pool(s).QueryRow(ctx, `SELECT name, status FROM clients WHERE id = 'acme'`).Scan(&name, &status); err != nil || name != "Acme Renamed" || status != "archived" {
		t.Fatalf("%s %s %v", name, status, err)
	}
}
