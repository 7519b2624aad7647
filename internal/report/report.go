// Package report defines billrun's statistics reports: the summary's
// group-by keys and the mismatch categories (billing-rules §3, interfaces.md).
// It is pure; the postgres package runs the queries.
package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Key is a summary group-by key.
type Key string

// The group-by keys of billctl report summary.
const (
	Client  Key = "client"
	Account Key = "account"
	DstCode Key = "dst_code"
	DstName Key = "dst_name"
	// SrcName is the origin's name: the longest code of the rate table's
	// source deck that starts the call's src_number ("" with none).
	SrcName  Key = "src_name"
	Day      Key = "day"
	Month    Key = "month"
	Currency Key = "currency"
)

// Keys lists every key in its documented order.
var Keys = []Key{Client, Account, DstCode, DstName, SrcName, Day, Month, Currency}

// ParseGroupBy checks a comma-separated list of keys. A name outside Keys is
// an error naming the allowed ones: names never reach SQL.
func ParseGroupBy(s string) ([]Key, error) {
	var out []Key
	seen := map[Key]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		k, ok := Key(name), false
		for _, known := range Keys {
			ok = ok || k == known
		}
		if !ok {
			names := make([]string, len(Keys))
			for i, k := range Keys {
				names[i] = string(k)
			}
			return nil, fmt.Errorf("--group-by: unknown key %q (use any of %s)", name, strings.Join(names, ","))
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// Summary asks for rated calls of [From, To), grouped by GroupBy. Amounts
// never mix currencies: rows are always split by currency too.
type Summary struct {
	From, To time.Time
	GroupBy  []Key
	Location *time.Location // of day and month buckets; nil is UTC
	Clients  []string       // only these clients' calls; nil: every call
}

// SummaryRow is one group: Values holds the group's keys in GroupBy order.
type SummaryRow struct {
	Values        []string
	Calls         int64 // every rated CDR, answered or not
	BilledSeconds int64
	Amount        decimal.Decimal
	Currency      string
}

// Mismatch categories (billing-rules §3).
const (
	UnknownAccount     = "unknown_account"
	NoRateTable        = "no_rate_table"
	UnknownDestination = "unknown_destination"
	DeletedRate        = "deleted_rate"
)

// MismatchRow counts one category for one client ("" when unknown).
type MismatchRow struct {
	Category string
	Client   string
	Calls    int64
	Seconds  int64 // call durations, each rounded up to a whole second
}

// MismatchDetail is one mismatched CDR and the fields that explain it.
type MismatchDetail struct {
	Category    string
	Client      string
	ConnectTime time.Time
	OrigIP      string
	OrigAccount string
	SrcNumber   string
	DstNumber   string
	File        string
	Line        int64
}

// ParseDate parses YYYY-MM-DD as midnight in loc (UTC when nil).
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return t, nil
}
