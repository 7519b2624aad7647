package catalog

import (
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // validate time zones the same on every host

	"github.com/shopspring/decimal"
)

var (
	digitsRe   = regexp.MustCompile(`^[0-9]+$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@+-]*$`)
)

// minYear and maxYear bound the dates of master data: 0000-01-01 or
// 9999-12-31 is a typo or a placeholder, not a date to bill by.
const minYear, maxYear = 1970, 2199

// MoneyPlaces is the precision of rates and fees.
const MoneyPlaces = 8

func (r *row) text(field string, required bool) string {
	v := r.get(field)
	if v == "" && required {
		r.fail(field, "required")
	}
	return v
}

// name is a key users type: a client id, a table or deck name.
func (r *row) name(field string, required bool) string {
	v := r.text(field, required)
	if v != "" {
		if err := CheckName(v); err != nil {
			r.fail(field, "%v", err)
		}
	}
	return v
}

// CheckName applies the rule for names (of decks, tables, clients,
// schedules…) to a name that comes from a flag rather than a file.
func CheckName(v string) error {
	if !nameRe.MatchString(v) || len(v) > 100 {
		return fmt.Errorf("%q is not a valid name (letters, digits and . _ : @ + -, at most 100)", v)
	}
	return nil
}

func (r *row) digits(field string, required bool) string {
	v := r.text(field, required)
	if v != "" && (!digitsRe.MatchString(v) || len(v) > 32) {
		r.fail(field, "%q is not a string of digits", v)
	}
	return v
}

func (r *row) currency(field string) string {
	v := r.text(field, true)
	if v != "" && !currencyRe.MatchString(v) {
		r.fail(field, "%q is not an ISO 4217 code such as USD", v)
	}
	return v
}

// money parses an amount with at most 8 decimal places; empty is def.
func (r *row) money(field string, def string, nonNegative bool) decimal.Decimal {
	v := r.get(field)
	if v == "" {
		if def == "" {
			r.fail(field, "required")
			return decimal.Zero
		}
		v = def
	}
	d, err := decimal.NewFromString(v)
	switch {
	case err != nil || strings.ContainsAny(v, "eE"):
		r.fail(field, "%q is not a decimal number", v)
	case d.Exponent() < -MoneyPlaces && !d.Equal(d.Round(MoneyPlaces)):
		r.fail(field, "%q has more than %d decimal places", v, MoneyPlaces)
	case d.Abs().GreaterThanOrEqual(decimal.New(1, 12)):
		r.fail(field, "%q is too large", v)
	case nonNegative && d.IsNegative():
		r.fail(field, "%q is negative", v)
	}
	return d
}

func (r *row) boolean(field string, def bool) bool {
	switch strings.ToLower(r.get(field)) {
	case "":
		return def
	case "true", "t", "yes", "y", "1":
		return true
	case "false", "f", "no", "n", "0":
		return false
	}
	r.fail(field, "%q is not true or false", r.get(field))
	return def
}

func (r *row) integer(field string, def, lo, hi int) int {
	v := r.get(field)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(field, "%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n
}

// Instant layouts accepted for effective dates: RFC 3339, or UTC without a zone.
var instantLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

// ParseInstant parses RFC 3339, "YYYY-MM-DD HH:MM:SS" (UTC) or "YYYY-MM-DD"
// (midnight UTC).
func ParseInstant(v string) (time.Time, bool) {
	for _, l := range instantLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (r *row) instant(field string, required bool) time.Time {
	v := r.text(field, required)
	if v == "" {
		return time.Time{}
	}
	t, ok := ParseInstant(v)
	if !ok {
		r.fail(field, "%q is not a time (RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD, UTC)", v)
	} else if t.Year() < minYear || t.Year() > maxYear {
		r.fail(field, "%s is outside the years %d to %d", v, minYear, maxYear)
	}
	return t
}

func (r *row) date(field string, required bool) time.Time {
	v := r.text(field, required)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		r.fail(field, "%q is not a date YYYY-MM-DD", v)
	} else if t.Year() < minYear || t.Year() > maxYear {
		r.fail(field, "%s is outside the years %d to %d", v, minYear, maxYear)
	}
	return t
}

func (r *row) timezone(field string) string {
	v := r.get(field)
	if v == "" {
		return "UTC"
	}
	if _, err := time.LoadLocation(v); err != nil || v == "Local" {
		r.fail(field, "%q is not an IANA time zone such as Europe/Berlin", v)
	}
	return v
}

func (r *row) email(field string) string {
	v := r.get(field)
	if v == "" {
		return ""
	}
	for _, a := range strings.Split(v, ";") {
		if _, err := mail.ParseAddress(strings.TrimSpace(a)); err != nil {
			r.fail(field, "%q is not an e-mail address", a)
		}
	}
	return v
}

func (r *row) oneOf(field, def string, allowed ...string) string {
	v := strings.ToLower(r.get(field))
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return v
}

// Increment is a rate's billing increment: min/interval[/grace] seconds.
type Increment struct{ Min, Interval, Grace int32 }

// ParseIncrement parses "60/60", "1/1", "30/6" or "30/6/3".
func ParseIncrement(v string) (Increment, bool) {
	parts := strings.Split(v, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Increment{}, false
	}
	var n [3]int64
	for i, p := range parts {
		x, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil || x < 0 || (i < 2 && x < 1) || x > 86400 {
			return Increment{}, false
		}
		n[i] = x
	}
	return Increment{int32(n[0]), int32(n[1]), int32(n[2])}, true
}

func (r *row) increment(field string) Increment {
	v := r.text(field, true)
	if v == "" {
		return Increment{}
	}
	inc, ok := ParseIncrement(v)
	if !ok {
		r.fail(field, "%q is not min/interval[/grace] in whole seconds, min and interval at least 1", v)
	}
	return inc
}

func (r *row) address(field string) string {
	v := r.text(field, true)
	if v == "" {
		return ""
	}
	if _, err := netip.ParseAddr(v); err != nil {
		r.fail(field, "%q is not an IP address", v)
	}
	return v
}
