package invoice_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/invoice"
)

func TestUsageSumsGroupAsTheDatabaseDoes(t *testing.T) {
	call := func(desc, code string, secs int64, cost string, gross bool) invoice.Call {
		return invoice.Call{Description: desc, Code: code, BilledSeconds: secs, Cost: decimal.RequireFromString(cost), Gross: gross}
	}
	for _, c := range []struct {
		name  string
		calls []invoice.Call
		want  []string
	}{
		{"no calls, no usage", nil, nil},
		{"one destination sums calls, seconds and exact cost", []invoice.Call{call("Berlin", "4930", 60, "0.012", false), call("Berlin", "4930", 6, "0.0012", false)},
			[]string{"Berlin|4930|2|66|0.0132|false"}},
		{"a destination keeps its smallest code", []invoice.Call{call("Mobile", "4917", 60, "0.08", false), call("Mobile", "4915", 60, "0.08", false)},
			[]string{"Mobile|4915|2|120|0.16|false"}},
		{"rates with and without taxes are two lines", []invoice.Call{call("UK", "44", 60, "0.1", false), call("UK", "44", 60, "0.1", true)},
			[]string{"UK|44|1|60|0.1|false", "UK|44|1|60|0.1|true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var u invoice.UsageSums
			for _, call := range c.calls {
				u.Add(call)
			}
			var got []string
			for _, g := range u.Usage() {
				got = append(got, strings.Join([]string{g.Description, g.Code, itoa(g.Calls), itoa(g.BilledSeconds), g.Cost.String(), boolString(g.Gross)}, "|"))
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func itoa(n int64) string { return decimal.NewFromInt(n).String() }

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
