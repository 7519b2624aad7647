package workerapp_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/workflows"
)

// TestIssuedInvoicesAndTheirNotesAddUpAfterRandomRerates is the property of
// billing-rules §7 on the real services: October's invoices are issued, then
// six times the master data changes at random (rates up and down, a rate
// deleted, an account moved to another client and back, an account disabled
// so that its calls go mismatched and enabled again), the month is rerated
// and adjusted with the notes issued. After each round a second adjust must
// find nothing: every issued invoice plus its issued notes is the invoice
// recomputed now. Issued documents never change. Once with each rounding
// mode, the second with rates that include taxes.
func TestIssuedInvoicesAndTheirNotesAddUpAfterRandomRerates(t *testing.T) {
	if testing.Short() {
		t.Skip("rounds of rerates and notes on the real services")
	}
	for i, rounding := range []invoice.Rounding{invoice.RoundThenSum, invoice.SumThenRound} {
		t.Run(string(rounding), func(t *testing.T) { randomRerates(t, rand.New(rand.NewPCG(uint64(i)+1, 42)), rounding, i == 1) })
	}
}

func randomRerates(t *testing.T, rng *rand.Rand, rounding invoice.Rounding, gross bool) {
	c, queue, acts := inProcess(t)
	wf := workflows.Client{Client: c, TaskQueue: queue}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if gross { // acme's prices include VAT: its invoices show it included in calls and added to fees
		ts, err := catalog.ReadRateTables("rt.csv", strings.NewReader("name,currency,deck,parent,rates_include_taxes\n"+
			"retail-eur,EUR,world,,true\nacme-special,EUR,world,retail-eur,true\n"))
		must(nil, err)
		must(acts.store.ImportRateTables(ctx, "rt.csv", ts))
	}
	// 400 calls of October from every account to destinations of every table.
	accounts := []string{"192.0.2.10,", ",acme-pbx", "198.51.100.7,", "198.51.100.7,"}
	prefixes := []string{"", "", "", "0077"}
	dests := []string{"1212555", "4420712", "4479111", "4930123", "4915123", "4916123", "3312345", "3361234", "999123"}
	var file bytes.Buffer
	file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for n := range 400 {
		a := rng.IntN(len(accounts))
		at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		src := "4930111111"
		if rng.IntN(8) == 0 {
			src = "4934112345" // initech's number: its calls are initech's
			a = 0
		}
		ip, user, _ := strings.Cut(accounts[a], ",")
		if src == "4934112345" {
			ip, user = "203.0.113.50", ""
		}
		fmt.Fprintf(&file, "r%d,%s,%d,%s,%s,%s,%s%s,ANSWERED\n", n, at.Format(time.DateTime), rng.IntN(600), ip, user, src,
			prefixes[a], dests[rng.IntN(len(dests))])
	}
	upload(t, acts.s3, cdr.Canonical, "october.csv", file.Bytes())
	run, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err == nil {
		err = run.Get(ctx, nil)
	}
	must(nil, err)
	issue, err := workflows.StartInvoiceRun(ctx, wf, workflows.InvoiceRunInput{Period: "2026-10", Issue: true, Rounding: rounding})
	var p workflows.InvoiceRunProgress
	if err == nil {
		err = issue.Get(ctx, &p)
	}
	if err != nil || p.Invoiced != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	adjust := func() workflows.AdjustResult {
		t.Helper()
		run, err := workflows.StartAdjust(ctx, wf, workflows.AdjustInput{Period: "2026-10", Issue: true})
		var res workflows.AdjustResult
		if err == nil {
			err = run.Get(ctx, &res)
		}
		must(nil, err)
		return res
	}
	tables := []string{"retail-eur", "acme-special", "wholesale-usd"}
	codes := []string{"1", "44", "447", "49", "4915", "4916", "4930", "33", "336"}
	notes := 0
	for round := range 6 {
		var did []string
		for range 3 {
			switch rng.IntN(4) {
			case 0:
				table, code := tables[rng.IntN(len(tables))], codes[rng.IntN(len(codes))]
				price := fmt.Sprintf("%.4f", 0.001+rng.Float64()*0.2)
				rs, err := catalog.ReadRates("r.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n"+code+","+price+",2026-01-01,,1/1,\n"))
				must(nil, err)
				must(acts.store.ImportRates(ctx, "r.csv", table, rs, false))
				did = append(did, "rate "+table+" "+code+" "+price)
			case 1:
				owner := []string{"acme", "initech"}[rng.IntN(2)]
				as, err := catalog.ReadAccounts("a.csv", strings.NewReader("client,kind,value,tech_prefix,rate_table,enabled\n"+owner+",username,acme-pbx,,,true\n"))
				must(nil, err)
				must(acts.store.ImportAccounts(ctx, "a.csv", as))
				did = append(did, "acme-pbx to "+owner)
			case 2:
				enabled := rng.IntN(2) == 0
				as, err := catalog.ReadAccounts("a.csv", strings.NewReader(fmt.Sprintf("client,kind,value,tech_prefix,rate_table,enabled\nacme,ip,192.0.2.10,,,%v\n", enabled)))
				must(nil, err)
				must(acts.store.ImportAccounts(ctx, "a.csv", as))
				did = append(did, fmt.Sprint("acme's ip enabled ", enabled))
			case 3:
				table, code := tables[rng.IntN(len(tables))], codes[rng.IntN(len(codes))]
				if _, err := acts.store.DeleteRate(ctx, table, code, time.Time{}); err == nil {
					did = append(did, "deleted "+table+" "+code)
				}
			}
		}
		rerateOctober(t, wf, time.Now().Add(time.Duration(round)*time.Second))
		notes += len(notesOf(t, acts, adjust()))
		for _, n := range notesOf(t, acts, adjust()) {
			t.Fatalf("round %d (%s): invoice %s and its notes do not add up to its recomputation: a %s of %s", round,
				strings.Join(did, "; "), n.Invoice, n.Kind, n.Total)
		}
	}
	if notes == 0 {
		t.Fatal("six rounds of changes made no note: the test changed nothing")
	}
	invs, err := acts.store.Invoices(ctx, "2026-10", "")
	must(nil, err)
	checks, err := acts.billing.Verify(ctx, invs)
	must(nil, err)
	for _, ch := range checks {
		if ch.Status != "ok" {
			t.Fatalf("an issued document changed: %+v", ch)
		}
	}
	if gross {
		included := false
		for _, inv := range invs {
			for _, x := range inv.Taxes {
				included = included || x.Included
			}
		}
		if !included {
			t.Fatal("no invoice or note with an included tax: the gross case tested nothing")
		}
	}
	t.Logf("%s: %d notes over %d documents", rounding, notes, len(invs))
}
