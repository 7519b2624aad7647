package cdr_test

import (
	"testing"
	"time"

	"github.com/billrun/billrun/internal/cdr"
)

func TestACallsKeyIsItsCallIDSecondSourceAndDestination(t *testing.T) {
	at := time.Date(2026, 10, 2, 10, 0, 0, 0, time.UTC)
	call := cdr.Record{Line: 2, CallID: "b", ConnectTime: at, Duration: time.Minute, OrigIP: "192.0.2.10", SrcNumber: "4930111111", DstNumber: "4930987654"}
	for _, tc := range []struct {
		name string
		edit func(*cdr.Record)
		same bool
	}{
		{"another line, duration, origin and disposition: the same call", func(r *cdr.Record) {
			r.Line, r.Duration, r.OrigIP, r.OrigAccount, r.Disposition = 9, 2*time.Minute, "198.51.100.7", "pbx", "NO ANSWER"
		}, true},
		{"a fraction of a second later: the same call", func(r *cdr.Record) { r.ConnectTime = at.Add(700 * time.Millisecond) }, true},
		{"a second later: another call", func(r *cdr.Record) { r.ConnectTime = at.Add(time.Second) }, false},
		{"another call_id: another call", func(r *cdr.Record) { r.CallID = "c" }, false},
		{"another source: another call", func(r *cdr.Record) { r.SrcNumber = "4930111112" }, false},
		{"another destination: another call", func(r *cdr.Record) { r.DstNumber = "4930987655" }, false},
		{"fields split elsewhere: another call", func(r *cdr.Record) { r.SrcNumber, r.DstNumber = "493011111", "14930987654" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := call
			tc.edit(&other)
			a, _ := cdr.KeyOf(&call, nil)
			b, _ := cdr.KeyOf(&other, nil)
			if (a == b) != tc.same {
				t.Fatalf("same key: %v, want %v", a == b, tc.same)
			}
		})
	}
}

func TestKeysFindTheFileThatFirstHadACall(t *testing.T) {
	seen := cdr.NewKeys(7, 0)
	for i := 1; i <= 5000; i++ { // enough to grow the table several times
		if _, dup := seen.Add(cdr.Key{Hi: uint64(i), Lo: uint64(i * 7919)}, int64(i%3)); dup {
			t.Fatalf("key %d is new", i)
		}
	}
	earlier := cdr.NewKeys(3, 0)
	earlier.Add(cdr.Key{Hi: 1 << 40, Lo: 5}, 0)
	earlier.Add(cdr.Key{}, 0) // the empty slot's value is a key too
	seen.Load(3, earlier.Encoded()[0])
	for _, tc := range []struct {
		key   cdr.Key
		first int64
	}{
		{cdr.Key{Hi: 42, Lo: 42 * 7919}, 7},
		{cdr.Key{Hi: 1 << 40, Lo: 5}, 3},
		{cdr.Key{}, 3},
	} {
		if first, dup := seen.Add(tc.key, 0); !dup || first != tc.first {
			t.Errorf("%v: first %d dup %v, want file %d", tc.key, first, dup, tc.first)
		}
	}
	var stored int
	for _, keys := range seen.Encoded() {
		stored += len(keys) / 16
	}
	if stored != 5000 {
		t.Fatalf("%d keys to store, want the file's 5000 new ones", stored)
	}
}

func TestAListOfDuplicatesReadsBackAsWritten(t *testing.T) {
	at := time.Date(2026, 10, 2, 10, 0, 0, 0, time.UTC)
	recs := []cdr.Record{
		{Line: 2, CallID: "a", ConnectTime: at, SrcNumber: "4930111111", DstNumber: "4930987654"},
		{Line: 70000, CallID: "", ConnectTime: time.Date(1960, 1, 2, 3, 4, 5, 0, time.UTC), SrcNumber: "", DstNumber: "+44 7700 900123"}, // before 1970: a negative time
	}
	var list []byte
	for i := range recs {
		list = cdr.AppendDuplicate(list, &recs[i], int64(i+1))
	}
	got, err := cdr.ParseDuplicates(list)
	if err != nil || len(got) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	for i, d := range got {
		r := recs[i]
		if d.Line != r.Line || d.CallID != r.CallID || !d.ConnectTime.Equal(r.ConnectTime) || d.SrcNumber != r.SrcNumber ||
			d.DstNumber != r.DstNumber || d.FirstID != int64(i+1) {
			t.Errorf("%+v, want %+v", d, r)
		}
	}
	if _, err := cdr.ParseDuplicates(list[:len(list)-3]); err == nil {
		t.Fatal("a list cut short reads without an error")
	}
}
