package workerapp_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/workflows"
)

// TestAMonthArchivedToS3ComesBackTheSame: September's calls leave the
// database for S3 only once nothing is pending on them, October's stay, and
// a restore brings September back row for row.
func TestAMonthArchivedToS3ComesBackTheSame(t *testing.T) {
	c, queue, acts := inProcess(t)
	putDemoCurrencyRight(t, acts.store)
	var body bytes.Buffer
	body.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i := range 3_000 { // September and October, a call every half hour
		at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 29 * time.Minute)
		fmt.Fprintf(&body, "a%d,%s,%d,192.0.2.10,,4930111111,49301%06d,ANSWERED\n", i, at.Format(time.DateTime), 1+i%300, i)
	}
	upload(t, acts.s3, cdr.Canonical, "switch.csv", body.Bytes())
	run, err := start(t, c, queue, acts, workflows.IngestInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	month := func(m string) (n int64, digest string) {
		t.Helper()
		err := pgtest.Pool(acts.store).QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(c::text, '|' ORDER BY call_id)), '')
			FROM cdrs c WHERE to_char(connect_time AT TIME ZONE 'UTC', 'YYYY-MM') = $1`, m).Scan(&n, &digest)
		if err != nil {
			t.Fatal(err)
		}
		return n, digest
	}
	sepCalls, sepDigest := month("2026-09")
	octCalls, octDigest := month("2026-10")
	if sepCalls == 0 || octCalls == 0 {
		t.Fatalf("%d calls in September, %d in October", sepCalls, octCalls)
	}
	wc := workflows.Client{Client: c, TaskQueue: queue}
	archive := func() workflows.ArchiveResult {
		t.Helper()
		r, err := workflows.StartArchive(ctx, wc, workflows.ArchiveInput{Before: "2026-10"})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.ArchiveResult
		if err := r.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Months) != 1 || res.Months[0].Month != "2026-09" {
			t.Fatalf("archived %+v, want September alone", res)
		}
		return res
	}

	// A draft of September keeps its calls in the database.
	draft, err := acts.billing.CreateInvoice(ctx, "acme", billing.InvoiceOptions{Period: "2026-09", AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if res := archive(); !strings.Contains(res.Months[0].Refused, "draft") {
		t.Fatalf("archived with a draft of the month: %+v", res)
	}
	if n, _ := month("2026-09"); n != sepCalls {
		t.Fatalf("%d of September's %d calls left after a refused archive", n, sepCalls)
	}
	if _, err := acts.billing.IssueInvoice(ctx, draft.ID, time.Now()); err != nil {
		t.Fatal(err)
	}

	res := archive()
	if m := res.Months[0]; m.Refused != "" || m.Calls != sepCalls || m.Days != 30 {
		t.Fatalf("archive of September: %+v, want %d calls in 30 days", m, sepCalls)
	}
	var partition *string
	_ = pgtest.Pool(acts.store).QueryRow(ctx, `SELECT to_regclass('cdrs_2026_09')::text`).Scan(&partition)
	if partition != nil {
		t.Fatal("September's partition is still there")
	}
	if _, err := pgtest.Pool(acts.store).Exec(ctx, `SELECT drop_cdr_month('2026-10-01')`); err == nil {
		t.Fatal("the database dropped October, which is not archived")
	}
	if n, d := month("2026-10"); n != octCalls || d != octDigest {
		t.Fatal("October changed when September was archived")
	}
	objects, err := acts.s3.List(ctx, "archive/cdrs/2026-09/")
	if err != nil || len(objects) != 30 {
		t.Fatalf("%d archive objects of September (%v)", len(objects), err)
	}
	if inv, err := acts.billing.Invoice(ctx, draft.ID); err != nil || inv.State != "issued" {
		t.Fatalf("September's invoice after the archive: %+v %v", inv, err)
	}

	r, err := workflows.StartRestore(ctx, wc, "2026-09")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if n, d := month("2026-09"); n != sepCalls || d != sepDigest {
		t.Fatalf("restored %d calls of %d, the same: %v", n, sepCalls, d == sepDigest)
	}
	if left, err := acts.store.Archives(ctx, "2026-09"); err != nil || len(left) != 0 {
		t.Fatalf("%d archive rows left after the restore (%v)", len(left), err)
	}
}

// TestALateFileOfAnArchivedMonthIsStoredOnItsRetry: a worker that stored
// calls of a day remembers its partition; once another worker archived the
// month, that worker's next file of the day fails once and is stored on its
// retry, in a partition made again.
func TestALateFileOfAnArchivedMonthIsStoredOnItsRetry(t *testing.T) {
	store := pgtest.New(t)
	pgtest.ImportDemo(t, store)
	s3 := s3test.New(t)
	ingesting := billing.New(store, s3)
	file := func(name string, id int) string {
		body := strings.Join(cdr.CanonicalHeader, ",") + "\n" +
			fmt.Sprintf("late%d,2026-09-05 10:00:00,60,192.0.2.10,,4930111111,4930100%04d,ANSWERED\n", id, id)
		upload(t, s3, cdr.Canonical, name, []byte(body))
		return billing.InboxKey(cdr.Canonical, name)
	}
	if _, err := ingesting.Ingest(ctx, file("september.csv", 1), "", nil); err != nil {
		t.Fatal(err)
	}
	other, err := postgres.Open(ctx, pgtest.URL(t, store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	if _, err := billing.New(other, s3).ArchiveMonth(ctx, "2026-09", nil); err != nil {
		t.Fatal(err)
	}
	late := file("late.csv", 2)
	if _, err := ingesting.Ingest(ctx, late, "", nil); err == nil {
		t.Log("the late file was stored at once")
	}
	if _, err := ingesting.Ingest(ctx, late, "", nil); err != nil {
		t.Fatalf("the retry of a late file of an archived month: %v", err)
	}
	var calls []string
	rows, _ := pgtest.Pool(store).Query(ctx, `SELECT call_id FROM cdrs WHERE connect_time >= '2026-09-01' AND connect_time < '2026-10-01'`)
	if calls, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(calls) != 1 || calls[0] != "late2" {
		t.Fatalf("September holds %v (%v), want the late call alone", calls, err)
	}
}
