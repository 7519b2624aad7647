package copytext

import (
	"strings"
	"testing"
	"time"
)

func TestTextRoundTripsThroughEscaping(t *testing.T) {
	for _, s := range []string{"", "plain", `back\slash`, "tab\there", "line\nbreak\r", "ünïcode"} {
		if got := Unescape(AppendText(nil, s)); got != s {
			t.Errorf("%q came back as %q", s, got)
		}
	}
	if got := string(AppendText(nil, "a\x00b")); got != "ab" {
		t.Errorf("NUL is dropped: got %q", got)
	}
	if got := Unescape([]byte(Null)); got != "" {
		t.Errorf("NULL reads as %q", got)
	}
}

func TestTimesAndDurationsRenderAsPostgreSQLReadsThem(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{string(AppendTime(nil, time.Date(2026, 10, 5, 7, 8, 9, 0, time.FixedZone("x", 3600)))), "2026-10-05 06:08:09+00"},
		{string(AppendTime(nil, time.Date(2026, 10, 5, 7, 8, 9, 1500, time.UTC))), "2026-10-05 07:08:09.000001+00"},
		{string(AppendSeconds(nil, 61*time.Second)), "61"},
		{string(AppendSeconds(nil, 1500*time.Millisecond+1)), "1.500001"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

func TestMillionthsParsesSixPlacesExactlyAndRefusesMore(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1.105991", 1105991, true},
		{"-0.5", -500000, true},
		{"12", 12000000, true},
		{"0.0000001", 0, false},
		{"99999999999999.000000", 0, false},
		{"", 0, false},
		{"1.", 0, false},
		{"x", 0, false},
	}
	for _, c := range cases {
		v, ok := Millionths([]byte(c.in))
		if ok != c.ok || ok && v != c.want {
			t.Errorf("Millionths(%q) = %d, %v; want %d, %v", c.in, v, ok, c.want, c.ok)
		}
	}
}

func TestLineWriterJoinsRowsSplitAcrossWrites(t *testing.T) {
	var rows []string
	w := &LineWriter{Line: func(b []byte) error { rows = append(rows, string(b)); return nil }}
	for _, p := range []string{"a\tb\nc", "d\te", "\nf\n"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) != 3 || rows[0] != "a\tb" || rows[1] != "cd\te" || rows[2] != "f" {
		t.Fatalf("rows %q", rows)
	}
	if f := SplitFields([]byte("1\t2\t3\t4"), make([][]byte, 3)); len(f) != 3 || string(f[2]) != "3\t4" {
		t.Fatalf("the last field takes the rest: %q", f)
	}
}

// FuzzCopyText: text written as a COPY field, among others on a line, comes
// back whole (NUL bytes dropped, as PostgreSQL cannot store them), and
// never splits the line into more fields; millionths round-trip exactly.
func FuzzCopyText(f *testing.F) {
	f.Add("plain", int64(1500000))
	f.Add("tab\there\\and\nnewline\r", int64(-1))
	f.Add("a\x00b\\N", int64(9223372036854775807))
	f.Fuzz(func(t *testing.T, s string, v int64) {
		line := AppendText(nil, s)
		line = append(line, '\t')
		line = AppendMillionths(line, v)
		fields := SplitFields(line, make([][]byte, 3)) // room for a third: there must be none
		if len(fields) != 2 {
			t.Fatalf("%q split into %d fields", line, len(fields))
		}
		if got, want := Unescape(fields[0]), strings.ReplaceAll(s, "\x00", ""); got != want {
			t.Fatalf("%q came back as %q", want, got)
		}
		// Near the ends of int64 the parser declines (the caller then reads
		// a decimal); what it reads, it reads exactly.
		if got, ok := Millionths(fields[1]); ok && got != v || !ok && v > -1e15 && v < 1e15 {
			t.Fatalf("%d came back as %d (%v) from %q", v, got, ok, fields[1])
		}
	})
}
