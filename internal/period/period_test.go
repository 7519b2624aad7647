package period

import (
	"testing"
	"time"
)

func TestParseTakesYYYYMMOnly(t *testing.T) {
	for s, ok := range map[string]bool{"2026-10": true, "2026-1": false, "2026-13": false, "26-10": false, "2026-10-01": false, "": false} {
		if _, err := Parse(s); (err == nil) != ok {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
}

func TestMonthsStepAcrossTheYear(t *testing.T) {
	if got := Month("2026-01").Prev(); got != "2025-12" {
		t.Errorf("before 2026-01: %s", got)
	}
	if got := Month("2026-12").Next(); got != "2027-01" {
		t.Errorf("after 2026-12: %s", got)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if got := Month("2026-10").Day(15, berlin); !got.Equal(time.Date(2026, 10, 14, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("15 October in Berlin: %s", got)
	}
}

func TestSpanAndBetweenListTheMonthsMet(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	cases := []struct {
		got  []Month
		want string
	}{
		{Span(at("2026-10-31T23:00:00Z"), at("2026-12-01T00:00:00Z")), "[2026-10 2026-11 2026-12]"},
		{Span(at("2026-10-05T00:00:00Z"), at("2026-10-05T00:00:00Z")), "[2026-10]"},
		{Between(at("2026-10-01T00:00:00Z"), at("2026-11-01T00:00:00Z")), "[2026-10]"},
		{Between(at("2026-09-30T22:00:00Z"), at("2026-11-01T00:00:01Z")), "[2026-09 2026-10 2026-11]"},
	}
	for _, c := range cases {
		if got := fmtMonths(c.got); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

func fmtMonths(ms []Month) string {
	s := "["
	for i, m := range ms {
		if i > 0 {
			s += " "
		}
		s += string(m)
	}
	return s + "]"
}
