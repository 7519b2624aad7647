package invoice

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func callsCSV(t *testing.T, calls ...Call) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	w, err := NewCallsWriter(&b, "EUR", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return &b
}

// TestANotesCSVListsTheCallsWhoseCostChanged: of four calls billed, one is
// repriced, one unchanged, one gone (mismatched now) and one new; an earlier
// note already billed a repricing of a fifth.
func TestANotesCSVListsTheCallsWhoseCostChanged(t *testing.T) {
	at := time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC)
	call := func(id string, min int, cost string) Call {
		return Call{ConnectTime: at.Add(time.Duration(min) * time.Minute), CallID: id, Source: "4930", Destination: "4915",
			Code: "4915", Description: "Germany Mobile", Duration: decimal.NewFromInt(60), BilledSeconds: 60, Cost: decimal.RequireFromString(cost)}
	}
	issued := callsCSV(t, call("a", 0, "0.080000"), call("b", 1, "0.080000"), call("c", 2, "0.080000"), call("e", 4, "0.080000"))
	var earlier bytes.Buffer
	if err := WriteChangedCalls(&earlier, "EUR", callsCSV(t, call("a", 0, "0.080000"), call("b", 1, "0.080000"),
		call("c", 2, "0.080000"), call("e", 4, "0.060000")), callsCSV(t, call("a", 0, "0.080000"), call("b", 1, "0.080000"),
		call("c", 2, "0.080000"), call("e", 4, "0.080000"))); err != nil {
		t.Fatal(err)
	}
	now := callsCSV(t, call("a", 0, "0.050000"), call("b", 1, "0.080000"), call("d", 3, "0.010000"), call("e", 4, "0.060000"))
	var out bytes.Buffer
	if err := WriteChangedCalls(&out, "EUR", now, issued, &earlier); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		strings.Join(ChangedCallsHeader, ","),
		"2026-10-05T08:00:00Z,a,4930,4915,4915,Germany Mobile,60,0.080000,0.050000,-0.030000,EUR",
		"2026-10-05T08:02:00Z,c,4930,4915,4915,Germany Mobile,60,0.080000,0.000000,-0.080000,EUR",
		"2026-10-05T08:03:00Z,d,4930,4915,4915,Germany Mobile,60,0.000000,0.010000,0.010000,EUR",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
