package cdr

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func readAll(t *testing.T, in string, f Format, opt Options) ([]Record, []*LineError, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), f, opt)
	var recs []Record
	var rejects []*LineError
	for {
		var rec Record
		err := r.Read(&rec)
		var le *LineError
		switch {
		case errors.Is(err, io.EOF):
			return recs, rejects, nil
		case errors.As(err, &le):
			rejects = append(rejects, le)
		case err != nil:
			return recs, rejects, err
		default:
			recs = append(recs, rec)
		}
	}
}

func TestCanonicalFileNormalisesEveryField(t *testing.T) {
	in := "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\r\n" +
		"c1,2026-10-01 12:00:00,61.5,10.0.0.1,acme-pbx,4930123,+4915112345,ANSWERED\r\n" +
		"\n" +
		"\"c,2\",2026-10-01T13:00:00+02:00,0,,,4930123,\"49\"\"1\",NO ANSWER\n"
	recs, rejects, err := readAll(t, in, Canonical, Options{})
	if err != nil || len(rejects) != 0 || len(recs) != 2 {
		t.Fatalf("recs %v rejects %v err %v", recs, rejects, err)
	}
	want := Record{Line: 2, CallID: "c1", ConnectTime: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC), Duration: 61500 * time.Millisecond,
		OrigIP: "10.0.0.1", OrigAccount: "acme-pbx", SrcNumber: "4930123", DstNumber: "+4915112345", Disposition: "ANSWERED"}
	if recs[0] != want {
		t.Fatalf("got  %+v\nwant %+v", recs[0], want)
	}
	if recs[1].Line != 4 || recs[1].CallID != "c,2" || !recs[1].ConnectTime.Equal(time.Date(2026, 10, 1, 11, 0, 0, 0, time.UTC)) || recs[1].DstNumber != `49"1` {
		t.Fatalf("%+v", recs[1])
	}
}

func TestBadLinesAreRejectedAndTheFileGoesOn(t *testing.T) {
	in := "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n" +
		"c1,2026-10-01 12:00:00,61,10.0.0.1,,,491,ANSWERED\n" +
		"c2,yesterday,61,10.0.0.1,,,491,ANSWERED\n" +
		"c3,2026-10-01 12:00:00,-5,10.0.0.1,,,491,ANSWERED\n" +
		"c4,2026-10-01 12:00:00,61,10.0.0.1,,,491\n" +
		"\"c5,2026-10-01 12:00:00,61,10.0.0.1,,,491,ANSWERED\n" +
		"c6,2026-02-30 12:00:00,61,10.0.0.1,,,491,ANSWERED\n" +
		"c7,2026-10-01 12:00:00,61,10.0.0.1,,,,ANSWERED\n" +
		"c8,2026-10-01 12:00:01,1,10.0.0.1,,,491,ANSWERED\n" +
		"c\xff9,2026-10-01 12:00:00,61,10.0.0.1,,,491,ANSWERED\n" +
		"c10,2026-10-01 12:00:00,61,10.0.0.1,pbx\x00,,491,ANSWERED\n" +
		"c11,1970-01-01 00:00:00,61,10.0.0.1,,,491,ANSWERED\n" +
		"c12,9999-12-31 23:59:59,61,10.0.0.1,,,491,ANSWERED\n"
	recs, rejects, err := readAll(t, in, Canonical, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].CallID != "c1" || recs[1].CallID != "c8" || recs[1].Line != 9 {
		t.Fatalf("recs %+v", recs)
	}
	wants := []struct {
		line   int64
		reason string
	}{
		{3, `connect_time "yesterday"`}, {4, `duration "-5"`}, {5, "7 fields, the header has 8"},
		{6, "unbalanced quotes"}, {7, `connect_time "2026-02-30 12:00:00"`}, {8, "dst_number is empty"},
		// Bytes PostgreSQL cannot store as text: the line is rejected, not the file.
		{10, `field call_id is not valid UTF-8: "c\xff9"`}, {11, `field orig_account holds a NUL byte: "pbx\x00"`},
		// Dates no call has: a switch's clock at zero, a placeholder.
		{12, "connect_time 1970-01-01 00:00:00 is outside the years 2000 to 2099"}, {13, "connect_time 9999-12-31 23:59:59 is outside"},
	}
	if len(rejects) != len(wants) {
		t.Fatalf("rejects %v", rejects)
	}
	for i, w := range wants {
		if rejects[i].Line != w.line || !strings.HasPrefix(rejects[i].Reason, w.reason) || rejects[i].Raw == "" ||
			!utf8.ValidString(rejects[i].Raw) || strings.IndexByte(rejects[i].Raw, 0) >= 0 {
			t.Errorf("reject %d = %+v, want line %d reason %q", i, rejects[i], w.line, w.reason)
		}
	}
}

func TestCanonicalHeaderIsRequired(t *testing.T) {
	_, _, err := readAll(t, "c1,2026-10-01 12:00:00,61,10.0.0.1,,,491,ANSWERED\n", Canonical, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a canonical CDR file") {
		t.Fatalf("err = %v", err)
	}
}

func TestAsteriskMasterCSV(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	in := `"acme","4930123","4915112345","from-trunk","""Alice"" <4930123>","SIP/10.0.0.1-0000002a","SIP/carrier-0000002b","Dial","SIP/carrier/4915112345,60","2026-10-01 12:00:00","2026-10-01 12:00:05","2026-10-01 12:01:06",66,61,"ANSWERED","DOCUMENTATION","","1696161600.42","1696161600.42","",7` + "\n" +
		`"acme","4930123","4915112345","from-trunk","","PJSIP/trunk-00000001","","Dial","","2026-10-01 12:00:00","","2026-10-01 12:00:20",20,0,"NO ANSWER","DOCUMENTATION"` + "\n"
	recs, rejects, err := readAll(t, in, Asterisk, Options{Location: berlin})
	if err != nil || len(rejects) != 0 || len(recs) != 2 {
		t.Fatalf("recs %v rejects %v err %v", recs, rejects, err)
	}
	want := Record{Line: 1, CallID: "1696161600.42", ConnectTime: time.Date(2026, 10, 1, 10, 0, 5, 0, time.UTC), Duration: 61 * time.Second,
		OrigIP: "10.0.0.1", OrigAccount: "acme", SrcNumber: "4930123", DstNumber: "4915112345", Disposition: "ANSWERED"}
	if recs[0] != want {
		t.Fatalf("got  %+v\nwant %+v", recs[0], want)
	}
	if r := recs[1]; r.Duration != 0 || r.OrigIP != "" || !strings.HasPrefix(r.CallID, "sha256:") || !r.ConnectTime.Equal(time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("unanswered call %+v", r)
	}
	again, _, _ := readAll(t, in, Asterisk, Options{Location: berlin})
	if again[1].CallID != recs[1].CallID {
		t.Fatal("a line's call id is not stable")
	}
}

func TestFreeSWITCHDefaultTemplate(t *testing.T) {
	in := `"Alice","4930123","4915112345","default","2026-10-01 12:00:00","2026-10-01 12:00:05","2026-10-01 12:01:06","66","61","NORMAL_CLEARING","a1b2c3d4-0000-4000-8000-000000000001","","acme","PCMA","PCMA"` + "\n" +
		`"Bob","4930124","4915112346","default","2026-10-01 12:00:00","","2026-10-01 12:00:30","30","0","NO_ANSWER","a1b2c3d4-0000-4000-8000-000000000002","","acme","PCMA","PCMA"` + "\n" +
		`"short","line"` + "\n"
	recs, rejects, err := readAll(t, in, FreeSWITCH, Options{})
	if err != nil || len(recs) != 2 || len(rejects) != 1 || rejects[0].Line != 3 {
		t.Fatalf("recs %v rejects %v err %v", recs, rejects, err)
	}
	want := Record{Line: 1, CallID: "a1b2c3d4-0000-4000-8000-000000000001", ConnectTime: time.Date(2026, 10, 1, 12, 0, 5, 0, time.UTC),
		Duration: 61 * time.Second, OrigAccount: "acme", SrcNumber: "4930123", DstNumber: "4915112345", Disposition: "NORMAL_CLEARING"}
	if recs[0] != want {
		t.Fatalf("got  %+v\nwant %+v", recs[0], want)
	}
}

func TestParseSecondsRoundsBeyondNanosecondsUp(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"61", 61 * time.Second, true}, {"61.5", 61500 * time.Millisecond, true}, {".5", 500 * time.Millisecond, true},
		{"60.0000000001", 60*time.Second + 1, true}, {"60.0000000000", 60 * time.Second, true}, {"7.", 7 * time.Second, true},
		{"", 0, false}, {".", 0, false}, {"-1", 0, false}, {"1e3", 0, false}, {"1.2.3", 0, false}, {"99999999999", 0, false},
	}
	for _, c := range cases {
		got, ok := parseSeconds(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\nc1,2026-10-01 12:00:00,61.5,10.0.0.1,a,1,2,X\n", "canonical")
	f.Add(`"a","1","2","c","","SIP/10.0.0.1-1","","Dial","","2026-10-01 12:00:00","","2026-10-01 12:00:20",20,0,"NO ANSWER","DOCUMENTATION"`, "asterisk")
	f.Add("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\nc\xff1,2026-10-01 12:00:00,61,10.0.0.1,a\x00,1,2,X\n", "canonical")
	f.Fuzz(func(t *testing.T, in, format string) {
		fm, err := ParseFormat(format)
		if err != nil {
			return
		}
		r := NewReader(strings.NewReader(in), fm, Options{})
		for i := 0; i < 10000; i++ {
			var rec Record
			err := r.Read(&rec)
			var le *LineError
			if errors.As(err, &le) {
				if le.Line < 1 || !storable(le.Raw) {
					t.Fatalf("reject without a line or with text PostgreSQL cannot store: %+v", le)
				}
				continue
			}
			if err != nil {
				return
			}
			if rec.Duration < 0 || rec.DstNumber == "" || rec.ConnectTime.Location() != time.UTC {
				t.Fatalf("bad record %+v", rec)
			}
			for _, s := range []string{rec.CallID, rec.OrigIP, rec.OrigAccount, rec.SrcNumber, rec.DstNumber, rec.Disposition} {
				if !storable(s) {
					t.Fatalf("a record PostgreSQL cannot store: %+v", rec)
				}
			}
		}
	})
}

// storable is text PostgreSQL stores: UTF-8 without NUL.
func storable(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }
