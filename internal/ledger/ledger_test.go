package ledger

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func issued(ref, on, due, amount string) Entry {
	return Entry{Date: day(on), Due: day(due), Kind: Invoice, Reference: ref, Amount: d(amount)}
}

func paid(ref, on, amount string) Entry {
	return Entry{Date: day(on), Due: day(on), Kind: Payment, Reference: ref, Amount: d(amount).Neg()}
}

func TestAgeingPaysTheOldestDebtsFirst(t *testing.T) {
	// Invoices due 2026-07-15, 08-15, 09-15, 10-15, 11-15; aged at 2026-11-20.
	month := []Entry{
		issued("INV-1", "2026-07-01", "2026-07-15", "100.00"),
		issued("INV-2", "2026-08-01", "2026-08-15", "200.00"),
		issued("INV-3", "2026-09-01", "2026-09-15", "300.00"),
		issued("INV-4", "2026-10-01", "2026-10-15", "400.00"),
		issued("INV-5", "2026-11-01", "2026-12-01", "500.00"),
	}
	at := day("2026-11-20")
	for _, tc := range []struct {
		name    string
		more    []Entry
		balance string
		buckets [5]string // current, 1–30, 31–60, 61–90, over 90
	}{
		{"nothing paid: each invoice in the bucket of its days past due", nil, "1500",
			[5]string{"500", "0", "400", "300", "300"}}, // INV-4 36 days late; INV-3 66; INV-2 97, INV-1 128
		{"a payment pays INV-1 and part of INV-2", []Entry{paid("P1", "2026-11-10", "250.00")}, "1250",
			[5]string{"500", "0", "400", "300", "50"}},
		{"a credit note counts as a payment", []Entry{{Date: day("2026-11-02"), Due: day("2026-11-02"), Kind: CreditNote, Reference: "CN-1", Amount: d("-600")}},
			"900", [5]string{"500", "0", "400", "0", "0"}},
		{"more paid than owed: the rest is the client's credit, in current", []Entry{paid("P1", "2026-11-10", "1600")}, "-100",
			[5]string{"-100", "0", "0", "0", "0"}},
		{"a payment on the day aged is not yet counted", []Entry{paid("P1", "2026-11-20", "1500")}, "1500",
			[5]string{"500", "0", "400", "300", "300"}},
		{"a debit note is a debt of its own", []Entry{{Date: day("2026-11-05"), Due: day("2026-11-19"), Kind: DebitNote, Reference: "DN-1", Amount: d("7.50")}},
			"1507.5", [5]string{"500", "7.5", "400", "300", "300"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Age(append(append([]Entry(nil), month...), tc.more...), at)
			got := [5]string{a.Current.String(), a.Days1to30.String(), a.Days31to60.String(), a.Days61to90.String(), a.Over90.String()}
			if a.Balance.String() != tc.balance || got != tc.buckets {
				t.Fatalf("balance %s buckets %v, want %s %v", a.Balance, got, tc.balance, tc.buckets)
			}
			sum := a.Current.Add(a.Days1to30).Add(a.Days31to60).Add(a.Days61to90).Add(a.Over90)
			if !sum.Equal(a.Balance) {
				t.Fatalf("buckets add up to %s, balance %s", sum, a.Balance)
			}
		})
	}
}

func TestAStatementClosesAtTheBalanceAtItsEnd(t *testing.T) {
	entries := []Entry{
		issued("INV-1", "2026-09-01", "2026-09-15", "100.00"),
		paid("P1", "2026-10-03", "100.00"),
		issued("INV-2", "2026-10-01", "2026-10-15", "250.00"),
		{Date: day("2026-10-20"), Due: day("2026-10-20"), Kind: CreditNote, Reference: "CN-1", Amount: d("-20.50")},
		issued("INV-3", "2026-11-01", "2026-11-15", "300.00"),
	}
	s := NewStatement(entries, day("2026-10-01"), day("2026-11-01"))
	if s.Opening.String() != "100" || s.Closing.String() != "229.5" || len(s.Lines) != 3 {
		t.Fatalf("%+v", s)
	}
	want := []struct{ ref, balance string }{{"INV-2", "350"}, {"P1", "250"}, {"CN-1", "229.5"}}
	for i, w := range want {
		if s.Lines[i].Reference != w.ref || s.Lines[i].Balance.String() != w.balance {
			t.Errorf("line %d: %s %s, want %s %s", i, s.Lines[i].Reference, s.Lines[i].Balance, w.ref, w.balance)
		}
	}
	if b := Age(entries, day("2026-11-01")).Balance; !b.Equal(s.Closing) {
		t.Errorf("balance at the end %s, statement closes at %s", b, s.Closing)
	}
}

func TestAgeingsAddBucketByBucket(t *testing.T) {
	a := Ageing{Balance: d("100"), Current: d("10"), Days1to30: d("20"), Days31to60: d("30"), Days61to90: d("15"), Over90: d("25")}
	b := Ageing{Balance: d("-5"), Current: d("-5")}
	got := a.Add(b).Add(a)
	want := Ageing{Balance: d("195"), Current: d("15"), Days1to30: d("40"), Days31to60: d("60"), Days61to90: d("30"), Over90: d("50")}
	for name, pair := range map[string][2]decimal.Decimal{"balance": {got.Balance, want.Balance}, "current": {got.Current, want.Current},
		"1-30": {got.Days1to30, want.Days1to30}, "31-60": {got.Days31to60, want.Days31to60}, "61-90": {got.Days61to90, want.Days61to90},
		"over 90": {got.Over90, want.Over90}} {
		if !pair[0].Equal(pair[1]) {
			t.Errorf("%s: %s, want %s", name, pair[0], pair[1])
		}
	}
}
