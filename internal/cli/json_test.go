package cli

import "testing"

func TestJSONGivesCountsAsNumbersAndAmountsCodesAndIDsAsStrings(t *testing.T) {
	for _, tc := range []struct {
		column, cell string
		want         any
	}{
		{"calls", "12", int64(12)},
		{"billed_seconds", "720", int64(720)},
		{"amount", "1.44", "1.44"},
		{"code", "4915", "4915"},
		{"number", "INV-2026-000001", "INV-2026-000001"},
		{"calls", "", ""},
	} {
		if got := typed(tc.column, tc.cell); got != tc.want {
			t.Errorf("%s %q: %#v, want %#v", tc.column, tc.cell, got, tc.want)
		}
	}
}
