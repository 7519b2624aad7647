package report

import (
	"reflect"
	"strings"
	"testing"
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
