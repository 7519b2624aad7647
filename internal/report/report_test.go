package report

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestGroupByAcceptsOnlyTheDocumentedKeys(t *testing.T) {
	cases := []struct {
		in      string
		want    []Key
		wantErr string
	}{
		{"", nil, ""},
		{"client,dst_name", []Key{Client, DstName}, ""},
		{" month , client,month", []Key{Month, Client}, ""},
		{"client;drop table cdrs", nil, `unknown key "client;drop table cdrs"`},
		{"Client", nil, `unknown key "Client"`},
	}
	for _, c := range cases {
		got, err := ParseGroupBy(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v %v, want %v", c.in, got, err, c.want)
		}
	}
}

func TestSumsAreExactPastTheInt64OfMillionths(t *testing.T) {
	tests := []struct {
		name    string
		amounts []int64 // millionths
		want    string
	}{
		{"small amounts", []int64{1, 2, 999_999}, "1.000002"},
		{"negative amounts cancel", []int64{-5_000_000, 2_500_000}, "-2.5"},
		{"past the largest int64", []int64{math.MaxInt64, math.MaxInt64, 2}, "18446744073709.551616"},
		{"past the smallest int64", []int64{math.MinInt64, -1, math.MinInt64}, "-18446744073709.551617"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sums
			for _, a := range tt.amounts {
				s.Add(7, a)
			}
			if got := s.Amount(); !got.Equal(decimal.RequireFromString(tt.want)) {
				t.Fatalf("amount %s, want %s", got, tt.want)
			}
			if s.Calls != int64(len(tt.amounts)) || s.BilledSeconds != 7*int64(len(tt.amounts)) {
				t.Fatalf("calls %d, seconds %d", s.Calls, s.BilledSeconds)
			}
		})
	}
}
