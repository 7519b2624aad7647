package catalog

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"time"
)

// RateHeader is the header of a rate file.
var RateHeader = []string{"code", "rate", "effective_from", "end", "increment", "setup_fee"}

// WriteRates writes rates as a rate file that ReadRates reads back to the
// same rates, sorted by code and effective_from.
func WriteRates(w io.Writer, rates []Rate) error {
	sorted := append([]Rate(nil), rates...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		return a.Code < b.Code || a.Code == b.Code && a.EffectiveFrom.Before(b.EffectiveFrom)
	})
	cw := csv.NewWriter(w)
	if err := cw.Write(RateHeader); err != nil {
		return err
	}
	for _, r := range sorted {
		setup := ""
		if !r.SetupFee.IsZero() {
			setup = r.SetupFee.String()
		}
		if err := cw.Write([]string{r.Code, r.PerMinute.String(), FormatInstant(r.EffectiveFrom), FormatInstant(r.End),
			r.Increment.String(), setup}); err != nil {
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
