package activities_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/cdr"
)

// TestACallDeliveredAgainIsStoredOnce: billing-rules §7. A call whose
// call_id, connect_time to the second, source and destination are those of
// a stored call, from any file or its own, is counted against its file and
// listed with the file that first had it, never stored again; a file that
// replaces itself is judged against every file but itself.
func TestACallDeliveredAgainIsStoredOnce(t *testing.T) {
	f := newFixture(t)
	header := "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"
	first := header +
		"a,2026-10-01 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n" +
		"b,2026-10-02 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n" +
		"b,2026-10-02 10:00:00.7,61,192.0.2.10,,4930111111,4930987654,ANSWERED\n" // the same call, within the file
	res, err := f.ingest(f.upload(cdr.Canonical, "cdrs-oct.csv", []byte(first)))
	if err != nil || res.CDRs != 2 || res.Duplicates != 1 {
		t.Fatalf("first file: %+v %v", res, err)
	}
	again := header +
		"a,2026-10-01 10:00:00,90,192.0.2.10,,4930111111,4930987654,ANSWERED\n" + // a's key: a duplicate, whatever its duration
		"a,2026-10-01 10:00:01,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n" + // a second later: another call
		"b,2026-10-02 10:00:00,60,192.0.2.10,,4930111111,4930987655,ANSWERED\n" + // another destination
		"c,2026-10-02 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n" + // another call_id
		"b,2026-10-02 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n" //   b's key
	fixed := f.upload(cdr.Canonical, "cdrs-oct-fixed.csv", []byte(again))
	res, err = f.ingest(fixed)
	if err != nil || res.CDRs != 3 || res.Duplicates != 2 {
		t.Fatalf("the file delivered again: %+v %v", res, err)
	}
	if n := f.query(`SELECT count(*) FROM cdrs`); n != 5 {
		t.Fatalf("%d CDRs stored, want 5", n)
	}
	dups, err := f.acts.Billing.Duplicates(ctx, fixed.Key)
	var got []string
	for _, d := range dups {
		got = append(got, fmt.Sprintf("%d %s %s", d.Line, d.CallID, d.First))
	}
	if want := "2 a inbox/canonical/cdrs-oct.csv,6 b inbox/canonical/cdrs-oct.csv"; err != nil || strings.Join(got, ",") != want {
		t.Fatalf("duplicates %q, %v; want %q", got, err, want)
	}
	if dups, _ := f.acts.Billing.Duplicates(ctx, "inbox/canonical/cdrs-oct.csv"); len(dups) != 1 || dups[0].First != "inbox/canonical/cdrs-oct.csv" {
		t.Fatalf("a call repeated within a file: %+v", dups)
	}
	if _, err := f.acts.Billing.Duplicates(ctx, "inbox/canonical/none.csv"); err == nil {
		t.Fatal("an unknown file lists no error")
	}

	// Replaced with its own calls again and one more, the second file is
	// judged against the first only: the same two duplicates.
	res, err = f.ingest(f.upload(cdr.Canonical, "cdrs-oct-fixed.csv", []byte(again+"d,2026-10-03 10:00:00,60,192.0.2.10,,4930111111,4930987654,ANSWERED\n")))
	if err != nil || res.CDRs != 4 || res.Duplicates != 2 {
		t.Fatalf("the second file replaced: %+v %v", res, err)
	}
	files, err := f.acts.Billing.Inbox(ctx)
	if err != nil || len(files) != 2 || files[1].Duplicates != 1 || files[0].Duplicates != 2 || files[0].CDRs != 4 {
		t.Fatalf("cdr files: %+v %v", files, err)
	}
	if n := f.query(`SELECT count(*) FROM cdrs`); n != 6 {
		t.Fatalf("%d CDRs stored, want 6", n)
	}
}
