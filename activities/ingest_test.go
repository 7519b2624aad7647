package activities_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

var ctx = context.Background()

type fixture struct {
	t     *testing.T
	store *postgres.Store
	s3    *s3store.Store
	acts  *activities.Activities
	env   *testsuite.TestActivityEnvironment
}

func newFixture(t *testing.T) *fixture {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	s3 := s3test.New(t)
	acts := activities.New(billing.New(store, s3))
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &fixture{t: t, store: store, s3: s3, acts: acts, env: env}
}

func (f *fixture) upload(format cdr.Format, name string, body []byte) activities.FileRef {
	f.t.Helper()
	key := billing.InboxKey(format, name)
	etag, err := f.s3.Put(ctx, key, bytes.NewReader(body), "text/csv", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return activities.FileRef{Key: key, ETag: etag, Size: int64(len(body))}
}

func (f *fixture) ingest(ref activities.FileRef) (activities.IngestFileResult, error) {
	var res activities.IngestFileResult
	v, err := f.env.ExecuteActivity(f.acts.IngestFile, activities.IngestFileInput{File: ref})
	if err != nil {
		return res, err
	}
	return res, v.Get(&res)
}

func (f *fixture) query(sql string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := pgtest.Pool(f.store).QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func testdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func TestIngestRatesFilesOfEveryFormat(t *testing.T) {
	cases := []struct {
		format             cdr.Format
		name               string
		body               []byte
		cdrs, rejected     int64
		callID, cost, code string
	}{
		{cdr.Canonical, "october.csv", testdata(t, "demo", "cdrs-2026-10.csv"), 11, 1, "demo-0002", "0.025200", "4930"},
		{cdr.Canonical, "october.csv.gz", gz(testdata(t, "demo", "cdrs-2026-10.csv")), 11, 1, "demo-0003", "0.072000", "447"},
		{cdr.Asterisk, "Master.csv", testdata(t, "cdr", "asterisk-Master.csv"), 3, 0, "1791370802.43", "0.025200", "4930"},
		{cdr.FreeSWITCH, "Master.csv", testdata(t, "cdr", "freeswitch-Master.csv"), 2, 0, "5f0c6a4e-2d1b-4c8e-9a0f-000000000002", "0.350000", "336"},
	}
	for _, tc := range cases {
		t.Run(string(tc.format)+"/"+tc.name, func(t *testing.T) {
			f := newFixture(t)
			res, err := f.ingest(f.upload(tc.format, tc.name, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if res.CDRs != tc.cdrs || res.Rejected != tc.rejected || strings.Join(period.Strings(res.Months), ",") != "2026-10" {
				t.Fatalf("%+v", res)
			}
			if n := f.query(`SELECT count(*) FROM cdrs`); n != tc.cdrs {
				t.Fatalf("%d CDRs stored", n)
			}
			var cost, code string
			if err := pgtest.Pool(f.store).QueryRow(ctx, `SELECT cost::text, code FROM cdrs WHERE call_id = $1`, tc.callID).Scan(&cost, &code); err != nil {
				t.Fatal(err)
			}
			if cost != tc.cost || code != tc.code {
				t.Fatalf("call %s: cost %s code %s", tc.callID, cost, code)
			}
		})
	}
}

func TestRejectedLinesAreKeptWithLineReasonAndText(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ingest(f.upload(cdr.Canonical, "october.csv", testdata(t, "demo", "cdrs-2026-10.csv"))); err != nil {
		t.Fatal(err)
	}
	var line int64
	var reason, raw string
	if err := pgtest.Pool(f.store).QueryRow(ctx, `SELECT line, reason, raw FROM rejected_lines`).Scan(&line, &reason, &raw); err != nil {
		t.Fatal(err)
	}
	if line != 12 || !strings.Contains(reason, `duration "not-a-number"`) || !strings.HasPrefix(raw, "demo-0011,") {
		t.Fatalf("line %d reason %q raw %q", line, reason, raw)
	}
}

func TestABadFileFailsWholeAndLeavesNoCDRs(t *testing.T) {
	good := testdata(t, "demo", "cdrs-2026-10.csv")
	truncated := gz(good)
	truncated = truncated[:len(truncated)-20]
	var mostlyWrong strings.Builder
	mostlyWrong.WriteString("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n")
	for range 150 {
		mostlyWrong.WriteString("x,2026-10-01 00:00:00,1\n")
	}
	cases := []struct {
		name   string
		format cdr.Format
		body   []byte
		reason string
	}{
		{"a truncated gzip stream", cdr.Canonical, truncated, "compressed stream is corrupt or truncated"},
		{"a binary file", cdr.Canonical, append([]byte{0x50, 0x4b, 0x03, 0x04, 0, 0, 0}, good...), "is binary"},
		{"a FreeSWITCH file uploaded as canonical", cdr.Canonical, testdata(t, "cdr", "freeswitch-Master.csv"), "not a canonical CDR file"},
		{"a canonical file uploaded as Asterisk", cdr.Asterisk, good, "is not a CDR file in asterisk format: 13 of 13 lines rejected"},
		{"a file whose lines mostly have the wrong column count", cdr.Canonical, []byte(mostlyWrong.String()), "100 of 100 lines rejected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ref := f.upload(tc.format, "bad.csv", tc.body)
			_, err := f.ingest(ref)
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != activities.ErrBadFile || !app.NonRetryable() || !strings.Contains(app.Message(), tc.reason) {
				t.Fatalf("err = %v, want a non-retryable %s containing %q", err, activities.ErrBadFile, tc.reason)
			}
			if n := f.query(`SELECT count(*) FROM cdrs`); n != 0 {
				t.Fatalf("%d CDRs stored", n)
			}
			files, err := f.store.Files(ctx)
			if err != nil || len(files) != 1 || files[0].Status != "failed" || !strings.Contains(files[0].Error, tc.reason) {
				t.Fatalf("files %+v, %v", files, err)
			}
		})
	}
}

func TestReingestingTheSameFileChangesNothing(t *testing.T) {
	f := newFixture(t)
	ref := f.upload(cdr.Canonical, "october.csv", testdata(t, "demo", "cdrs-2026-10.csv"))
	if _, err := f.ingest(ref); err != nil {
		t.Fatal(err)
	}
	again, err := f.ingest(ref)
	if err != nil || !again.Skipped {
		t.Fatalf("%+v %v", again, err)
	}
	list, err := f.acts.Billing.Pending(ctx, "", 0)
	if err != nil || len(list.Pending) != 0 {
		t.Fatalf("pending %+v %v", list, err)
	}
	if n := f.query(`SELECT count(*) FROM cdrs`); n != 11 {
		t.Fatalf("%d CDRs", n)
	}
}

func TestAChangedFileReplacesItsCDRs(t *testing.T) {
	f := newFixture(t)
	header := "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"
	v1 := header + "a,2026-10-01 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\nb,2026-10-02 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\nc,2026-11-03 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\n"
	v2 := header + "d,2026-10-05 10:00:00,120,192.0.2.10,,,4930111,ANSWERED\n"
	if _, err := f.ingest(f.upload(cdr.Canonical, "day.csv", []byte(v1))); err != nil {
		t.Fatal(err)
	}
	ref := f.upload(cdr.Canonical, "day.csv", []byte(v2))
	list, _ := f.acts.Billing.Pending(ctx, "", 0)
	if len(list.Pending) != 1 {
		t.Fatalf("a changed file is not pending: %+v", list)
	}
	res, err := f.ingest(ref)
	if err != nil || res.CDRs != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if n := f.query(`SELECT count(*) FROM cdrs`); n != 1 {
		t.Fatalf("%d CDRs after replacement", n)
	}
	if n := f.query(`SELECT count(*) FROM cdrs WHERE call_id = 'd' AND billed_seconds = 120`); n != 1 {
		t.Fatal("the new content is not stored")
	}
}

func TestCallsOfNewDaysGetTheirPartitions(t *testing.T) {
	f := newFixture(t)
	header := "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"
	body := header + "a,2026-09-30 23:59:59,60,192.0.2.10,,,4930111,ANSWERED\nb,2026-10-01 00:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"c,2025-01-15 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\nd,2026-09-01 00:00:00,60,192.0.2.10,,,4930111,ANSWERED\n"
	res, err := f.ingest(f.upload(cdr.Canonical, "months.csv", []byte(body)))
	if err != nil || res.CDRs != 4 {
		t.Fatalf("%+v %v", res, err)
	}
	// The months it has calls in, not every month between.
	if want := "2025-01,2026-09,2026-10"; strings.Join(period.Strings(res.Months), ",") != want {
		t.Fatalf("months %v", res.Months)
	}
	if n := f.query(`SELECT count(DISTINCT tableoid) FROM cdrs`); n != 4 {
		t.Fatalf("%d partitions hold the calls", n)
	}
}

// TestCallsThatSwitchDaysOftenAreStoredOnceInTheirDays: calls go straight
// into their day's partition, one COPY per run of a day; a file that
// switches days on every line (past the bound on such COPYs) goes through
// the parent instead. Either way each call is stored once, in its day.
func TestCallsThatSwitchDaysOftenAreStoredOnceInTheirDays(t *testing.T) {
	f := newFixture(t)
	var body strings.Builder
	body.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	const calls = 301
	for i := range calls {
		day := 1 + i%3 // 1, 2, 3, 1, 2, 3 …: a day switch on every line
		fmt.Fprintf(&body, "c%d,2026-10-%02d 12:%02d:00,60,192.0.2.10,,,4930111,ANSWERED\n", i, day, i%60)
	}
	res, err := f.ingest(f.upload(cdr.Canonical, "switching.csv", []byte(body.String())))
	if err != nil || res.CDRs != calls {
		t.Fatalf("%+v %v", res, err)
	}
	if n := f.query(`SELECT count(DISTINCT call_id) FROM cdrs`); n != calls {
		t.Fatalf("%d distinct calls stored, want %d", n, calls)
	}
	misplaced := f.query(`SELECT count(*) FROM cdrs WHERE tableoid::regclass::text <> 'cdrs_' || to_char(connect_time AT TIME ZONE 'UTC', 'YYYY_MM_DD')`)
	if misplaced != 0 {
		t.Fatalf("%d calls outside their day's partition", misplaced)
	}
	for day, want := range map[string]int64{"cdrs_2026_10_01": 101, "cdrs_2026_10_02": 100, "cdrs_2026_10_03": 100} {
		if n := f.query(`SELECT count(*) FROM ` + day); n != want {
			t.Errorf("%s holds %d calls, want %d", day, n, want)
		}
	}
}

// TestAFileOutOfTimeOrderNeverWaitsWhileHoldingALaterDay: a load waits
// only for days later than those it holds. Meeting an earlier day that
// another ingestion holds, it lets go of its days and reads the file again
// with its days locked in order: the other ingestion, wanting a day of this
// file's, gets it at once. Before, the two waited on each other until
// PostgreSQL failed one of them (deadlock) and its retry started over.
func TestAFileOutOfTimeOrderNeverWaitsWhileHoldingALaterDay(t *testing.T) {
	f := newFixture(t)
	header := strings.Join(cdr.CanonicalHeader, ",") + "\n"
	body := header + "late,2026-10-05 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"early,2026-10-03 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\n"
	ref := f.upload(cdr.Canonical, "unordered.csv", []byte(body))
	const callKeysLock = 0x6b657973 // postgres.callKeysLock
	day := func(d int) int32 { return int32(time.Date(2026, 10, d, 0, 0, 0, 0, time.UTC).Unix() / 86400) }
	// Another ingestion holds October 3rd.
	pool := pgtest.Pool(f.store)
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx)
	if _, err := other.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, callKeysLock, day(3)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var res activities.IngestFileResult
	go func() {
		var err error
		res, err = f.ingest(ref)
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = $1 AND objid = $2`, callKeysLock, day(3)).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the load did not wait for the day held elsewhere: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the load never waited for October 3rd")
		}
	}
	// The other ingestion now wants October 5th, the load's other day.
	if _, err := other.Exec(ctx, `SET LOCAL lock_timeout = '500ms'`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, callKeysLock, day(5)); err != nil {
		t.Fatalf("the waiting load holds a later day: %v", err)
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || res.CDRs != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if n := f.query(`SELECT count(*) FROM cdrs`); n != 2 {
		t.Fatalf("%d calls stored, want 2", n)
	}
}

func TestTheInboxIsListedPageByPageSkippingIngestedFiles(t *testing.T) {
	f := newFixture(t)
	header := strings.Join(cdr.CanonicalHeader, ",") + "\n"
	var refs []activities.FileRef
	for i := range 6 {
		refs = append(refs, f.upload(cdr.Canonical, fmt.Sprintf("day%d.csv", i), []byte(header+fmt.Sprintf("c%d,2026-10-0%d 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\n", i, i+1))))
	}
	for _, i := range []int{1, 4} {
		if _, err := f.ingest(refs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	after := ""
	for pages := 0; ; pages++ {
		page, err := f.acts.Billing.Pending(ctx, after, 2)
		if err != nil || pages > 5 {
			t.Fatalf("%v after %d pages", err, pages)
		}
		for _, p := range page.Pending {
			keys = append(keys, strings.TrimPrefix(p.Key, "inbox/canonical/"))
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if got := strings.Join(keys, " "); got != "day0.csv day2.csv day3.csv day5.csv" {
		t.Fatalf("pending %s", got)
	}
}

// TestABytePostgreSQLCannotStoreRejectsItsLineNotTheFile: an invalid UTF-8
// byte in a stored field once made PostgreSQL refuse the file's COPY, and
// the file was retried for minutes. Now its line is rejected, with its text
// kept as far as it can be stored, and the file goes on. (A NUL byte makes
// the file binary, refused whole at once.)
func TestABytePostgreSQLCannotStoreRejectsItsLineNotTheFile(t *testing.T) {
	f := newFixture(t)
	body := "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n" +
		"ok1,2026-10-01 10:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"ok2,2026-10-01 11:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"ok3,2026-10-01 12:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"ok4,2026-10-01 13:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"ok5,2026-10-01 14:00:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"bad\xff,2026-10-01 10:01:00,60,192.0.2.10,,,4930111,ANSWERED\n" +
		"acct,2026-10-01 10:02:00,60,192.0.2.10,pbx\xc3,,4930111,ANSWERED\n"
	res, err := f.ingest(f.upload(cdr.Canonical, "bytes.csv", []byte(body)))
	if err != nil || res.CDRs != 5 || res.Rejected != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if n := f.query(`SELECT count(*) FROM rejected_lines WHERE reason LIKE 'field %' AND raw LIKE '%,2026-10-01 10:0_:00,%'`); n != 2 {
		t.Fatalf("%d rejected lines kept", n)
	}
}
