package demo

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Month describes the month to write.
type Month struct {
	Seed  uint64
	Calls int // calls in the month's regular files
	Year  int
	Month time.Month
}

// Summary is what Write wrote, for the demo to say and to act on.
type Summary struct {
	Destinations int
	Clients      int
	Calls        int       // in the regular files
	Files        []File    // every CDR file, in upload order
	DeletedRate  RateRef   // the rate finance deletes after ingestion
	Corrections  []RateRef // the rates corrected after issue
	Missing      RateRef   // the destination retail-eur lacks
}

// File is one CDR file written.
type File struct {
	Path      string // under the output folder
	Format    string // canonical, asterisk or freeswitch
	Calls     int    // lines that are calls
	Corrupt   int    // lines that are not
	Duplicate string // the file whose calls it repeats, if any
}

// RateRef names a rate of a table.
type RateRef struct{ Table, Code, Name string }

// Write writes the month into dir: master/ (the catalogue to import),
// fixes/ (what finance imports to fix it), cdrs/<format>/ (the calls).
func (m Month) Write(dir string) (Summary, error) {
	g := &gen{m: m, r: rand.New(rand.NewPCG(m.Seed, 0x62696c6c72756e)), dir: dir}
	return g.write()
}

type gen struct {
	m    Month
	r    *rand.Rand
	dir  string
	deck []Destination
	// by region: its fixed and (if any) mobile destination
	fixed, mobile map[string]*Destination
	base          map[string]int64 // carrier price per code, in 1/10000 a minute
	sum           Summary
}

func (g *gen) write() (Summary, error) {
	g.deck = Destinations()
	g.fixed, g.mobile = map[string]*Destination{}, map[string]*Destination{}
	for i := range g.deck {
		d := &g.deck[i]
		if d.Mobile {
			g.mobile[d.Country] = d
		} else if g.fixed[d.Country] == nil {
			g.fixed[d.Country] = d
		}
	}
	g.sum.Destinations, g.sum.Clients = len(g.deck), len(clients)
	for _, sub := range []string{"master", "fixes", "cdrs/canonical", "cdrs/asterisk", "cdrs/freeswitch"} {
		if err := os.MkdirAll(filepath.Join(g.dir, sub), 0o755); err != nil {
			return g.sum, err
		}
	}
	for _, step := range []func() error{g.master, g.rates, g.calls} {
		if err := step(); err != nil {
			return g.sum, err
		}
	}
	return g.sum, nil
}

// file writes one text file, plain or gzipped by its name.
func (g *gen) file(name string, fill func(w *bufio.Writer)) error {
	path := filepath.Join(g.dir, name)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var out io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(name, ".gz") {
		zw = gzip.NewWriter(f)
		out = zw
	}
	w := bufio.NewWriterSize(out, 1<<16)
	fill(w)
	err = w.Flush()
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (g *gen) lines(name string, rows ...string) error {
	return g.file(name, func(w *bufio.Writer) {
		for _, r := range rows {
			w.WriteString(r)
			w.WriteByte('\n')
		}
	})
}

func q(s string) string { // a CSV field, quoted where it must be
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func (g *gen) start() time.Time {
	return time.Date(g.m.Year, g.m.Month, 1, 0, 0, 0, 0, time.UTC)
}

func (g *gen) master() error {
	deck := []string{"code,name,country"}
	for _, d := range g.deck {
		deck = append(deck, d.Code+","+q(d.Name)+","+d.Country)
	}
	clientRows := []string{"id,name,currency,timezone,rate_table,tax_profile,invoice_day,grace_days,template,billing_email,address,autoinvoice,reseller"}
	accounts := []string{"client,kind,value,tech_prefix,rate_table,enabled"}
	corrected := []string{accounts[0]}
	for _, c := range clients {
		clientRows = append(clientRows, strings.Join([]string{c.id, q(c.name), c.currency, c.tz, c.rateTable, c.tax,
			fmt.Sprint(c.day), fmt.Sprint(c.grace), c.template, c.email, q(c.address), "true", c.reseller}, ","))
		for _, a := range c.accounts {
			row := func(table string) string {
				return strings.Join([]string{c.id, a.kind, a.value, a.techPrefix, table, fmt.Sprint(a.enabled)}, ",")
			}
			if !a.late {
				accounts = append(accounts, row(a.rateTable))
			}
			table := a.rateTable
			if a.fixRateTable != "" {
				table = a.fixRateTable
			}
			corrected = append(corrected, row(table))
		}
	}
	y := g.m.Year
	mid := func(day int) string { return time.Date(y, g.m.Month, day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly) }
	files := []struct {
		name string
		rows []string
	}{
		{"master/codedeck.csv", deck},
		{"master/resellers.csv", []string{"id,name,address,tax_id,email,invoice_template",
			`albion,Albion Voice Ltd,"2 Wellington Place, Leeds LS1 4AP",GB 987 6543 21,billing@albion.example,ALB-{YYYY}-{SEQ:5}`}},
		{"master/ratetables.csv", []string{"name,currency,deck,parent,rates_include_taxes,notes,src_deck,reseller",
			"carrier-usd,USD,world,,false,the carrier's buying prices: every destination,,",
			"wholesale-usd,USD,world,carrier-usd,false,wholesale: carrier-usd plus a margin on half the destinations,,",
			"retail-usd,USD,world,wholesale-usd,false,retail: the popular destinations; the rest from wholesale-usd,,",
			"northwind-special,USD,world,retail-usd,false,Northwind's negotiated prices; everything else from retail-usd,,",
			"retail-eur,EUR,world,,false,EUR retail: mobiles called from home cheaper,world,",
			"retail-gbp,GBP,world,,true,GBP retail sold by Albion: prices include UK VAT; mobiles called from home cheaper,world,albion",
		}},
		{"master/taxes.csv", []string{"profile,name,percent",
			"us-none,Sales tax (exempt),0", "us-tx,State sales tax,6.25", "us-tx,Local sales tax,2",
			"de-vat,MwSt,19", "fr-vat,TVA,20", "nl-vat,BTW,21", "es-vat,IVA,21", "uk-vat,VAT,20", "sg-gst,GST,9"}},
		{"master/packages.csv", []string{"name,currency,monthly_fee,activation_fee,fees_include_taxes",
			"pbx-seat-usd,USD,12.00,25.00,false", "sip-trunk-usd,USD,150.00,0,false", "did-usd,USD,1.00,0,false",
			"pbx-seat-eur,EUR,10.00,20.00,false", "did-eur,EUR,1.50,0,false", "pbx-seat-gbp,GBP,9.00,15.00,true"}},
		{"master/clients.csv", clientRows},
		{"master/accounts.csv", accounts},
		{"master/subscriptions.csv", []string{"client,package,quantity,start,end",
			"wayne,pbx-seat-usd,20,2026-01-01,", "wayne,pbx-seat-usd,5," + mid(12) + ",",
			"cyberdyne,sip-trunk-usd,2,2026-01-01,", "cyberdyne,pbx-seat-usd,40," + mid(6) + ",",
			"acme,did-eur,50," + mid(15) + ",", "tyrell,pbx-seat-eur,12,2026-03-01," + mid(20),
			"stark,pbx-seat-gbp,8," + mid(20) + ",", "oscorp,pbx-seat-gbp,3,2026-01-01,", "globex,did-usd,200,2026-01-01,"}},
		{"fixes/accounts-corrected.csv", corrected},
	}
	for _, f := range files {
		if err := g.lines(f.name, f.rows...); err != nil {
			return err
		}
	}
	return nil
}

// money writes an amount kept in 1/10000.
func money(n int64) string { return decimal.New(n, -4).StringFixed(4) }

func (g *gen) rates() error {
	g.base = map[string]int64{}
	for _, d := range g.deck {
		lo, hi := 200.0, 1500.0 // fixed lines abroad: 0.02–0.15 a minute
		switch {
		case cheap[d.Country] && !d.Mobile:
			lo, hi = 30, 120
		case cheap[d.Country]:
			lo, hi = 80, 300
		case d.Mobile:
			lo, hi = 400, 3000
		}
		g.base[d.Code] = int64(lo + g.r.Float64()*(hi-lo))
	}
	const from = "2026-01-01"
	header := "code,rate,effective_from,end,increment,setup_fee"
	row := func(code string, rate int64, from, inc, setup string) string {
		return strings.Join([]string{code, money(rate), from, "", inc, setup}, ",")
	}
	scale := func(n int64, f float64) int64 { return int64(math.Ceil(float64(n) * f)) }
	var carrier, wholesale, retail, special, eur, gbp []string
	isPopular := map[string]bool{}
	for _, r := range popular {
		isPopular[r] = true
	}
	for _, c := range clients {
		isPopular[c.home] = true
	}
	nspecial := 0
	for _, d := range g.deck {
		b := g.base[d.Code]
		carrier = append(carrier, row(d.Code, b, from, "1/1", ""))
		if g.r.IntN(2) == 0 {
			wholesale = append(wholesale, row(d.Code, scale(b, 1.12), from, "6/6", ""))
		}
		if isPopular[d.Country] {
			inc := "60/60"
			if d.Mobile {
				inc = "30/6"
			}
			retail = append(retail, row(d.Code, scale(b, 1.6), from, inc, ""))
			if d.Code == "1" { // a price cut from the 15th
				retail = append(retail, row(d.Code, scale(b, 1.4), time.Date(g.m.Year, g.m.Month, 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), inc, ""))
			}
			if nspecial < 12 && d.Country != "US" {
				special = append(special, row(d.Code, scale(b, 1.3), from, "1/1", ""))
				nspecial++
			}
		}
		if d.Country != missingFromEUR {
			inc := "30/6"
			if d.Mobile {
				inc = "1/1"
			}
			eur = append(eur, row(d.Code, scale(b, 1.45*0.92), from, inc, ""))
		}
		setup := ""
		if !cheap[d.Country] && d.Mobile {
			setup = "0.0100"
		}
		gbp = append(gbp, row(d.Code, scale(b, 1.5*0.79*1.2), from, "60/60", setup))
	}
	// Origin-based prices: a mobile called from its own country costs less
	// (the src_code column, written only for these rows).
	for _, o := range []struct {
		rows   *[]string
		region string
		factor float64
	}{{&eur, "DE", 1.45 * 0.92 * 0.6}, {&eur, "FR", 1.45 * 0.92 * 0.6}, {&gbp, "GB", 1.5 * 0.79 * 1.2 * 0.6}} {
		d, cc := g.mobile[o.region], g.fixed[o.region].Code
		inc := "1/1"
		if o.rows == &gbp {
			inc = "60/60"
		}
		*o.rows = append(*o.rows, row(d.Code, scale(g.base[d.Code], o.factor), from, inc, "")+","+cc)
	}
	// retail-usd's India Mobile promotion, loaded by mistake.
	promo := g.mobile[promoRegion]
	retail = append(retail, row(promo.Code, 10, time.Date(g.m.Year, g.m.Month, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), "1/1", ""))
	g.sum.DeletedRate = RateRef{Table: "retail-usd", Code: promo.Code, Name: promo.Name}
	for name, rows := range map[string][]string{"carrier-usd": carrier, "wholesale-usd": wholesale, "retail-usd": retail,
		"northwind-special": special, "retail-eur": eur, "retail-gbp": gbp} {
		sort.Strings(rows)
		head := header
		for _, r := range rows {
			if strings.Count(r, ",") == 6 { // a table with prices for given origins
				head = header + ",src_code"
			}
		}
		for i, r := range rows {
			if head != header && strings.Count(r, ",") == 5 {
				rows[i] = r + ","
			}
		}
		if err := g.lines("master/rates-"+name+".csv", append([]string{head}, rows...)...); err != nil {
			return err
		}
	}
	// The fixes: retail-eur's missing Kosovo, and the corrections after issue.
	var kosovo []string
	for _, d := range []*Destination{g.fixed[missingFromEUR], g.mobile[missingFromEUR]} {
		kosovo = append(kosovo, row(d.Code, scale(g.base[d.Code], 1.45*0.92), from, "30/6", ""))
	}
	g.sum.Missing = RateRef{Table: "retail-eur", Code: g.fixed[missingFromEUR].Code, Name: g.fixed[missingFromEUR].Name}
	mx, de := g.fixed[creditRegionUSD], g.mobile[debitRegionGBP]
	g.sum.Corrections = []RateRef{{Table: "retail-usd", Code: mx.Code, Name: mx.Name}, {Table: "retail-gbp", Code: de.Code, Name: de.Name}}
	for _, f := range []struct {
		name string
		rows []string
	}{
		{"fixes/rates-retail-eur-missing.csv", kosovo},
		{"fixes/rates-retail-usd-correction.csv", []string{row(mx.Code, scale(g.base[mx.Code], 1.6*0.8), from, "60/60", "")}},
		{"fixes/rates-retail-gbp-correction.csv", []string{row(de.Code, scale(g.base[de.Code], 1.5*0.79*1.2*1.25), from, "60/60", "")}},
	} {
		if err := g.lines(f.name, append([]string{header}, f.rows...)...); err != nil {
			return err
		}
	}
	return nil
}
