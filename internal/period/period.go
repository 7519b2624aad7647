// Package period is the billing period of a bill run: a calendar month,
// written YYYY-MM in every command, payload and document. Its parsing and
// formatting live here only.
package period

import (
	"fmt"
	"time"
)

// Layout is how a month is written.
const Layout = "2006-01"

// Month is a calendar month, "2026-10". The zero Month is no month.
type Month string

// Parse checks a month written YYYY-MM.
func Parse(s string) (Month, error) {
	if _, err := time.Parse(Layout, s); err != nil || len(s) != len(Layout) {
		return "", fmt.Errorf("period %q is not YYYY-MM", s)
	}
	return Month(s), nil
}

// Of is the month of t, in t's location.
func Of(t time.Time) Month { return Month(t.Format(Layout)) }

// Start is the month's first instant (the 1st at midnight) in loc.
func (m Month) Start(loc *time.Location) time.Time {
	t, _ := time.Parse(Layout, string(m))
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}

// Day is the instant the month's day d starts in loc (d may run past the
// month's end, into the next).
func (m Month) Day(d int, loc *time.Location) time.Time {
	t := m.Start(time.UTC)
	return time.Date(t.Year(), t.Month(), d, 0, 0, 0, 0, loc)
}

// Prev is the month before.
func (m Month) Prev() Month { return Of(m.Start(time.UTC).AddDate(0, -1, 0)) }

// Next is the month after.
func (m Month) Next() Month { return Of(m.Start(time.UTC).AddDate(0, 1, 0)) }

func (m Month) String() string { return string(m) }

// Span lists the months (in UTC) from first's to last's, both included.
func Span(first, last time.Time) []Month {
	var out []Month
	for m := Of(first.UTC()); !m.Start(time.UTC).After(last); m = m.Next() {
		out = append(out, m)
	}
	return out
}

// Between lists the months (in UTC) that [from, to) meets.
func Between(from, to time.Time) []Month {
	var out []Month
	for m := Of(from.UTC()); m.Start(time.UTC).Before(to); m = m.Next() {
		out = append(out, m)
	}
	return out
}

// Strings writes months as text, for search attributes and tables.
func Strings(ms []Month) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// DateIn is t's calendar date in loc, as midnight UTC.
func DateIn(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Cover is the smallest range that holds every [froms[i], tos[i]); zero
// times when there are none.
func Cover(froms, tos []time.Time) (from, to time.Time) {
	for i := range froms {
		if i == 0 || froms[i].Before(from) {
			from = froms[i]
		}
		if i == 0 || tos[i].After(to) {
			to = tos[i]
		}
	}
	return from, to
}
