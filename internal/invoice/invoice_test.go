package invoice

import (
	"testing"
	"time"

	"github.com/billrun/billrun/internal/period"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

type want struct {
	lines    []string // "kind description amount"
	subtotal string
	taxes    []string // "name amount included"
	total    string
	due      string
}

func check(t *testing.T, in Input, w want) {
	t.Helper()
	inv, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range inv.Lines {
		lines = append(lines, l.Kind+" "+l.Description+" "+l.Amount.StringFixed(2))
	}
	if len(lines) != len(w.lines) {
		t.Fatalf("lines %q\nwant  %q", lines, w.lines)
	}
	for i := range lines {
		if lines[i] != w.lines[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], w.lines[i])
		}
	}
	var taxes []string
	for _, x := range inv.Taxes {
		inc := "added"
		if x.Included {
			inc = "included"
		}
		taxes = append(taxes, x.Name+" "+x.Amount.StringFixed(2)+" "+inc)
	}
	if len(taxes) != len(w.taxes) {
		t.Fatalf("taxes %q, want %q", taxes, w.taxes)
	}
	for i := range taxes {
		if taxes[i] != w.taxes[i] {
			t.Errorf("tax %d = %q, want %q", i, taxes[i], w.taxes[i])
		}
	}
	if inv.Subtotal.StringFixed(2) != w.subtotal || inv.Total.StringFixed(2) != w.total {
		t.Errorf("subtotal %s total %s, want %s %s", inv.Subtotal.StringFixed(2), inv.Total.StringFixed(2), w.subtotal, w.total)
	}
	if w.due != "" && inv.DueDate.Format(time.DateOnly) != w.due {
		t.Errorf("due %s, want %s", inv.DueDate.Format(time.DateOnly), w.due)
	}
}

var vat = []Tax{{Name: "VAT", Percent: d("19")}}

func utcPeriod(month period.Month) (time.Time, time.Time) {
	f, to, _ := Period(month, 1, time.UTC)
	return f, to
}

func TestUsageSubscriptionsAndAddedTax(t *testing.T) {
	from, to := utcPeriod("2026-10")
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-02"), GraceDays: 14, Taxes: vat,
		Usage: []Usage{
			{Description: "Germany Mobile", Code: "4915", Calls: 12, BilledSeconds: 720, Cost: d("1.444999")},
			{Description: "France", Code: "33", Calls: 3, BilledSeconds: 180, Cost: d("0.125")},
		},
		Subscriptions: []Subscription{{Package: "PBX seat", Quantity: 3, Start: date("2026-01-01"), MonthlyFee: d("10.00"), ActivationFee: d("25")}},
	}, want{
		lines:    []string{"usage France 0.13", "usage Germany Mobile 1.44", "subscription PBX seat 30.00"},
		subtotal: "31.57",
		taxes:    []string{"VAT 6.00 added"}, // 31.57 × 19 % = 5.9983
		total:    "37.57",
		due:      "2026-11-16",
	})
}

func TestSubscriptionsAreProratedByDayAndActivationChargedInTheStartingPeriod(t *testing.T) {
	from, to := utcPeriod("2026-10") // 31 days
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"),
		Subscriptions: []Subscription{
			{Package: "DID", Quantity: 10, Start: date("2026-10-15"), MonthlyFee: d("1.50"), ActivationFee: d("2.00")}, // 17 of 31 days
			{Package: "Fax", Quantity: 1, Start: date("2026-03-01"), End: date("2026-10-20"), MonthlyFee: d("31.00")},  // 19 of 31 days
			{Package: "Old", Quantity: 1, Start: date("2026-01-01"), End: date("2026-10-01"), MonthlyFee: d("99.00")},  // ended before
			{Package: "Next", Quantity: 1, Start: date("2026-11-01"), MonthlyFee: d("5.00"), ActivationFee: d("9")},    // starts after
		},
	}, want{
		// 15.00 × 17/31 = 8.2258…; 31.00 × 19/31 = 19.00; activation 10 × 2.00.
		lines:    []string{"subscription DID (17 of 31 days) 8.23", "activation DID activation 20.00", "subscription Fax (19 of 31 days) 19.00"},
		subtotal: "47.23",
		total:    "47.23",
	})
}

func TestAPeriodAcrossADSTChangeCountsCalendarDays(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from, to, err := Period("2026-10", 1, berlin) // CEST to CET: 31 days of 24 h and one of 25 h
	if err != nil {
		t.Fatal(err)
	}
	if to.Sub(from) != 31*24*time.Hour+time.Hour {
		t.Fatalf("period lasts %v", to.Sub(from))
	}
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"),
		Subscriptions: []Subscription{{Package: "PBX seat", Quantity: 1, Start: date("2026-10-25"), MonthlyFee: d("31.00")}},
	}, want{lines: []string{"subscription PBX seat (7 of 31 days) 7.00"}, subtotal: "7.00", total: "7.00"})
}

func TestRatesThatIncludeTaxesShowTheTaxContained(t *testing.T) {
	from, to := utcPeriod("2026-10")
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"), Taxes: vat,
		Usage: []Usage{{Description: "Germany", Code: "49", Calls: 100, BilledSeconds: 6000, Cost: d("11.9"), Gross: true}},
	}, want{lines: []string{"usage Germany 11.90"}, subtotal: "11.90", taxes: []string{"VAT 1.90 included"}, total: "11.90"})

	// Gross usage and a net subscription, two taxes: added on the net part,
	// contained in the gross part in proportion to each rate.
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"),
		Taxes:         []Tax{{Name: "VAT", Percent: d("20")}, {Name: "Levy", Percent: d("5")}},
		Usage:         []Usage{{Description: "Germany", Code: "49", Calls: 1, Cost: d("12.5"), Gross: true}},
		Subscriptions: []Subscription{{Package: "Seat", Quantity: 1, Start: date("2026-01-01"), MonthlyFee: d("10")}},
	}, want{
		lines:    []string{"usage Germany 12.50", "subscription Seat 10.00"},
		subtotal: "22.50",
		// added: 10 × 20 % = 2.00, 10 × 5 % = 0.50; contained: 12.50 × 20/125 = 2.00, 12.50 × 5/125 = 0.50
		taxes: []string{"VAT 2.00 added", "VAT 2.00 included", "Levy 0.50 added", "Levy 0.50 included"},
		total: "25.00",
	})
}

func TestLinesAddUpOnlyUnderRoundThenSum(t *testing.T) {
	from, to := utcPeriod("2026-10")
	usage := []Usage{
		{Description: "A", Code: "1", Calls: 1, Cost: d("1.005")},
		{Description: "B", Code: "2", Calls: 1, Cost: d("1.005")},
		{Description: "C", Code: "3", Calls: 1, Cost: d("1.005")},
	}
	lines := []string{"usage A 1.01", "usage B 1.01", "usage C 1.01"}
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"), Usage: usage},
		want{lines: lines, subtotal: "3.03", total: "3.03"})
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"), Usage: usage, Rounding: SumThenRound},
		want{lines: lines, subtotal: "3.02", total: "3.02"}) // 3.015 rounded: the lines show 3.03
}

func TestNegativeAmountsRoundHalfAwayFromZero(t *testing.T) {
	from, to := utcPeriod("2026-10")
	check(t, Input{PeriodStart: from, PeriodEnd: to, IssueDate: date("2026-11-01"),
		Usage: []Usage{{Description: "Credit", Code: "9", Calls: 1, Cost: d("-0.125")}}},
		want{lines: []string{"usage Credit -0.13"}, subtotal: "-0.13", total: "-0.13"})
}

func TestPeriodRunsFromTheInvoiceDayInTheClientsZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from, to, err := Period("2026-10", 1, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if from.UTC().Format(time.RFC3339) != "2026-09-30T22:00:00Z" || to.UTC().Format(time.RFC3339) != "2026-10-31T23:00:00Z" {
		t.Fatalf("%s – %s", from.UTC(), to.UTC())
	}
	from, to, _ = Period("2026-12", 15, time.UTC)
	if from.Format(time.DateOnly) != "2026-12-15" || to.Format(time.DateOnly) != "2027-01-15" {
		t.Fatalf("%s – %s", from, to)
	}
	if _, _, err := Period("2026-13", 1, time.UTC); err == nil {
		t.Fatal("accepted month 13")
	}
}

func TestNumbersFollowTheTemplate(t *testing.T) {
	cases := []struct{ tpl, want string }{
		{"INV-{YYYY}-{SEQ:6}", "INV-2026-000042"},
		{"{YY}{MM}/{SEQ}", "2611/42"},
		{"B-{SEQ:3}", "B-042"},
	}
	for _, c := range cases {
		got, err := FormatNumber(c.tpl, 42, date("2026-11-02"))
		if err != nil || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.tpl, got, err, c.want)
		}
	}
	if _, err := FormatNumber("INV-{YYYY}", 1, date("2026-11-02")); err == nil {
		t.Error("a template without {SEQ} was accepted")
	}
}

func TestCSVCellsThatLookLikeFormulasAreEscaped(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+4930": "'+4930", "-1": "'-1", "@x": "'@x", "4930": "4930", "": "", "a=b": "a=b"} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnUnknownRoundingModeIsRefused(t *testing.T) {
	from, to := utcPeriod("2026-10")
	if _, err := Compute(Input{PeriodStart: from, PeriodEnd: to, Rounding: "round_up"}); err == nil {
		t.Fatal("a typo in the rounding mode was taken for round_then_sum")
	}
}

func TestADownloadedDocumentIsNamedByItsNumberInOneFileName(t *testing.T) {
	for _, c := range []struct {
		inv  Stored
		want string
	}{
		{Stored{ID: "7f3c", Number: "INV-2026-000001"}, "INV-2026-000001"},
		{Stored{ID: "7f3c", Number: "INV/2026/000001"}, "INV-2026-000001"},
		{Stored{ID: "7f3c"}, "draft-7f3c"},
	} {
		if got := c.inv.FileName(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.inv, got, c.want)
		}
	}
}

func TestAnIssuedPeriodStaysAndTheNextJoinsIt(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at := func(s string, loc *time.Location) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	octoberOn1 := Span{Start: at("2026-10-01 00:00", berlin), End: at("2026-11-01 00:00", berlin)}
	decemberOn1 := Span{Start: at("2026-12-01 00:00", berlin), End: at("2027-01-01 00:00", berlin)}
	tests := []struct {
		name       string
		month      period.Month
		day        int
		loc        *time.Location
		issued     Issued
		start, end time.Time
	}{
		{"nothing issued: the regular period", "2026-11", 15, berlin, Issued{},
			at("2026-11-15 00:00", berlin), at("2026-12-15 00:00", berlin)},
		{"the month issued on day 1, the day now 15: the issued period", "2026-10", 15, berlin, Issued{This: octoberOn1},
			octoberOn1.Start, octoberOn1.End},
		{"the month after a move from day 1 to 15 joins the issued one: 44 days", "2026-11", 15, berlin, Issued{Before: octoberOn1},
			at("2026-11-01 00:00", berlin), at("2026-12-15 00:00", berlin)},
		{"a move from day 15 to 1 makes a shorter transition", "2026-11", 1, berlin,
			Issued{Before: Span{Start: at("2026-10-15 00:00", berlin), End: at("2026-11-15 00:00", berlin)}},
			at("2026-11-15 00:00", berlin), at("2026-12-01 00:00", berlin)},
		{"a month issued after stops where it starts", "2026-11", 15, berlin, Issued{Before: octoberOn1, After: decemberOn1},
			at("2026-11-01 00:00", berlin), at("2026-12-01 00:00", berlin)},
		{"a new time zone starts where the old one's period ended", "2026-11", 1, tokyo, Issued{Before: octoberOn1},
			at("2026-11-01 08:00", tokyo), at("2026-12-01 00:00", tokyo)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PeriodOf(tt.month, tt.day, tt.loc, tt.issued)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(tt.start) || !got.End.Equal(tt.end) {
				t.Fatalf("%s – %s, want %s – %s", got.Start, got.End, tt.start, tt.end)
			}
		})
	}
	if _, err := PeriodOf("2026-11", 1, berlin, Issued{Before: Span{Start: octoberOn1.Start, End: decemberOn1.End}, After: decemberOn1}); err == nil {
		t.Fatal("a period with no time left was made")
	}
}

// TestATransitionPeriodChargesFeesByItsDays: a subscription of 10.00 a
// month over a 44-day transition period (November 2026, 30 days) is
// 10.00 × 44 / 30 = 14.666… → 14.67; over a 16-day one, 5.33.
func TestATransitionPeriodChargesFeesByItsDays(t *testing.T) {
	d := decimal.RequireFromString
	seat := []Subscription{{Package: "pbx-seat", Quantity: 1, Start: date("2026-01-01"), MonthlyFee: d("10.00")}}
	for _, tt := range []struct {
		from, to, line string
	}{
		{"2026-11-01", "2026-12-15", "subscription pbx-seat (44 days at 30 a month) 14.67"},
		{"2026-11-15", "2026-12-01", "subscription pbx-seat (16 of 30 days) 5.33"},
		{"2026-11-01", "2026-12-01", "subscription pbx-seat 10.00"},
	} {
		inv, err := Compute(Input{PeriodStart: date(tt.from), PeriodEnd: date(tt.to), IssueDate: date(tt.to), Subscriptions: seat,
			RegularDays: MonthDays("2026-11")})
		if err != nil {
			t.Fatal(err)
		}
		if got := inv.Lines[0].Kind + " " + inv.Lines[0].Description + " " + inv.Lines[0].Amount.StringFixed(2); got != tt.line {
			t.Errorf("%s – %s: %s, want %s", tt.from, tt.to, got, tt.line)
		}
	}
}
