package billing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rerate"
)

// TestARerateKeepsWhatItChangedInTheDatabaseDayByDay: a rerate run's days
// record their cost differences and adjustments due with the run as they
// commit, and return counts only; rerating a day again adds nothing; what
// the run changed reads back whole, with or without its end recorded.
//
// acme's two German mobile calls (61 s and 60 s at 0.0800 a minute, 1/1:
// 0.081333 + 0.080000) repriced at 0.1600 cost 0.162667 + 0.160000: 0.161334
// EUR more, all in its issued October invoice.
func TestARerateKeepsWhatItChangedInTheDatabaseDayByDay(t *testing.T) {
	m := october(t)
	inv := m.issue("acme", "2026-10", issuedAt)
	rs, err := catalog.ReadRates("r.csv", strings.NewReader("code,rate,effective_from,end,increment,setup_fee\n4915,0.1600,2026-01-01,,1/1,\n"))
	if err == nil {
		_, err = m.store.ImportRates(ctx, "r.csv", "acme-special", rs, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	const run = "rerate-kept"
	from, to := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if err := m.svc.BeginRerate(ctx, billing.Rerate{RunID: run, From: from, To: to, Match: rerate.All}); err != nil {
		t.Fatal(err)
	}
	rerateAll := func() (changed int64, months []string) {
		for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
			s, err := m.svc.RerateDay(ctx, cdr.Selection{From: d, To: d.AddDate(0, 0, 1), Match: string(rerate.All), RunID: run})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Differences) != 0 || len(s.Adjustments) != 0 {
				t.Fatalf("a day's result carries its lists: %+v", s)
			}
			changed, months = changed+s.Changed, append(months, s.Months...)
		}
		return changed, months
	}
	changed, months := rerateAll()
	if changed != 2 || len(months) == 0 || strings.Trim(strings.ReplaceAll(strings.Join(months, ","), "2026-10", ""), ",") != "" {
		t.Fatalf("changed %d calls of months %v, want 2 of 2026-10", changed, months)
	}
	want := func() {
		t.Helper()
		diffs, adjs, err := m.svc.RerateChanges(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) != 1 || diffs[0].Client != "acme" || diffs[0].Currency != "EUR" || diffs[0].Amount != rating.Money(161334) {
			t.Fatalf("differences %+v, want acme EUR 0.161334", diffs)
		}
		if len(adjs) != 1 || adjs[0].Invoice.ID != inv.ID || adjs[0].Invoice.Number != inv.Number || adjs[0].Amount != rating.Money(161334) {
			t.Fatalf("adjustments %+v, want 0.161334 in %s", adjs, inv.Number)
		}
	}
	want()
	if changed, _ := rerateAll(); changed != 0 {
		t.Fatalf("rerated again: %d calls changed", changed)
	}
	want()
	rec, err := m.svc.RerateRun(ctx, run)
	if err != nil || rec.State != "running" || len(rec.Summary.Differences) != 1 {
		t.Fatalf("the run cut short, as recorded: %+v %v", rec, err)
	}
}
