package catalog

import (
	"encoding/csv"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RateHeader is the header of a rate file.
var RateHeader = []string{"code", "rate", "effective_from", "end", "increment", "setup_fee"}

// WriteRates writes rates as a rate file that ReadRates reads back to the
// same rates, sorted by code, source code and effective_from. The src_code
// column is there only when a rate has one.
func WriteRates(w io.Writer, rates []Rate) error {
	sorted := append([]Rate(nil), rates...)
	srcs := false
	for _, r := range rates {
		srcs = srcs || r.SrcCode != ""
	}
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.SrcCode != b.SrcCode {
			return a.SrcCode < b.SrcCode
		}
		return a.EffectiveFrom.Before(b.EffectiveFrom)
	})
	cw := csv.NewWriter(w)
	header := RateHeader
	if srcs {
		header = append(slices.Clone(RateHeader), "src_code")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range sorted {
		setup := ""
		if !r.SetupFee.IsZero() {
			setup = r.SetupFee.String()
		}
		rec := []string{r.Code, r.PerMinute.String(), FormatInstant(r.EffectiveFrom), FormatInstant(r.End), r.Increment.String(), setup}
		if srcs {
			rec = append(rec, r.SrcCode)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FormatInstant writes an instant as ParseInstant reads it: a date for
// midnight UTC, RFC 3339 otherwise, "" for the zero time.
func FormatInstant(t time.Time) string {
	switch t = t.UTC(); {
	case t.IsZero():
		return ""
	case t.Equal(t.Truncate(24 * time.Hour)):
		return t.Format(time.DateOnly)
	default:
		return t.Format(time.RFC3339Nano)
	}
}

// String writes the increment as ParseIncrement reads it: "60/60", "30/6/3".
func (i Increment) String() string {
	s := strconv.Itoa(int(i.Min)) + "/" + strconv.Itoa(int(i.Interval))
	if i.Grace > 0 {
		s += "/" + strconv.Itoa(int(i.Grace))
	}
	return s
}

// Inherit flattens a parent chain's rates in force at one instant (chain[0]
// the table's own, then its parent's, …; one rate a code and source code in
// each) into one table that prices every call as the chain does: a code
// takes the nearest table's rates for it, and a farther table's rate for
// the same code only where no nearer one has a source code that is a prefix
// of its own ("" being a prefix of every one). A farther rate left in would
// otherwise win, by a longer source code, calls that a nearer table prices.
func Inherit(chain [][]Rate) []Rate {
	nearer := map[string][]string{} // code → source codes of nearer tables
	var out []Rate
	for _, rates := range chain {
		var added []Rate
		for _, r := range rates {
			shadowed := false
			for _, sc := range nearer[r.Code] {
				if strings.HasPrefix(r.SrcCode, sc) {
					shadowed = true
					break
				}
			}
			if !shadowed {
				added = append(added, r)
			}
		}
		for _, r := range rates { // a table's own rates never shadow each other
			nearer[r.Code] = append(nearer[r.Code], r.SrcCode)
		}
		out = append(out, added...)
	}
	return out
}
