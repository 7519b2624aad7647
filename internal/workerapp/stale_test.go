package workerapp_test

import (
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/workflows"
)

// TestAPriceCorrectedAfterRatingIsBilledAtTheNewPrice: acme's mobile rate is
// corrected after its calls were rated. The calls are stale (billing-rules
// §7): the bill run waits on them as on mismatched calls, and once resolved
// with a rerate (of the stale calls only) it bills them at the new price.
func TestAPriceCorrectedAfterRatingIsBilledAtTheNewPrice(t *testing.T) {
	c, queue, acts := inProcess(t)
	store := acts.store
	putDemoCurrencyRight(t, store)
	upload(t, acts.s3, cdr.Canonical, "october.csv", []byte(`call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition
s-1,2026-10-20 18:00:00,60,192.0.2.10,,4930111111,+4915112345678,ANSWERED
s-2,2026-10-21 18:00:00,120,192.0.2.10,,4930111111,4930987654,ANSWERED
s-3,2026-10-21 19:00:00,300,198.51.100.7,,12125550100,4915112345678,ANSWERED
`))
	if run, err := start(t, c, queue, acts, workflows.IngestInput{}); err != nil || run.Get(ctx, nil) != nil {
		t.Fatal(err)
	}
	rs, err := catalog.ReadRates("fix.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,0.0500,2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = store.ImportRates(ctx, "fix.csv", "acme-special", rs, false)
	}
	if err != nil {
		t.Fatal(err)
	}

	id, run, st := billRunUntilWaiting(t, c, queue)
	var stale []readiness.Finding
	for _, f := range st.Findings {
		if f.Check == readiness.CheckStale {
			stale = append(stale, f)
		}
	}
	// acme's two calls are stale (its table changed); globex's are not.
	if st.Errors != 0 || !st.Mismatched || len(stale) != 1 || stale[0].Client != "acme" || !strings.Contains(stale[0].Message, "has 2 calls") {
		t.Fatalf("the check before the rerate: %+v", st)
	}
	resolve(t, c, id, workflows.ResolveRerate)
	if err := run.Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Phase != workflows.PhaseDone || st.Accepted || len(st.Reratings) != 1 || st.Reratings[0].Examined != 2 || st.Reratings[0].Changed != 1 {
		t.Fatalf("done: %+v", st)
	}
	invs, err := store.Invoices(ctx, "2026-10", "acme")
	if err != nil || len(invs) != 1 {
		t.Fatalf("%+v %v", invs, err)
	}
	if invs[0], err = store.Invoice(ctx, invs[0].ID); err != nil {
		t.Fatal(err)
	}
	// 60 s to a mobile at the corrected 0.05 a minute; 120 s to Berlin at retail-eur's 0.012.
	var got []string
	for _, l := range invs[0].Lines {
		if l.Kind == "usage" {
			got = append(got, l.Description+" "+l.Amount.StringFixed(2))
		}
	}
	if strings.Join(got, ", ") != "Germany Berlin 0.02, Germany Mobile 0.05" {
		t.Fatalf("acme's usage lines: %v", got)
	}
}
