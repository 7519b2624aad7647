package activities_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rating/ratingtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

// BenchmarkIngestMillion prints, on one 1,000,000-CDR file and one database:
// floor_s, a plain COPY of the already-rated rows into an unindexed table
// with the same columns; billrun_s, the file activity from S3 object to
// committed rated rows; their ratio; and billrun's CDRs per second.
// Run it with -benchtime 1x (make bench).
func BenchmarkIngestMillion(b *testing.B) {
	const n = 1_000_000
	store := pgtest.New(b)
	s3 := s3test.New(b)
	rng := rand.New(rand.NewPCG(7, 7))
	cat, codes := ratingtest.Catalog(rng)
	pgtest.LoadCatalog(b, store, cat)
	calls := ratingtest.CDRs(rng, cat, codes, n)

	var file bytes.Buffer
	file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i, c := range calls {
		fmt.Fprintf(&file, "b%d,%s,%d.%03d,%s,,%s,%s,ANSWERED\n", i, c.ConnectTime.Format(time.DateTime),
			c.Duration/time.Second, c.Duration%time.Second/time.Millisecond, c.OrigIP, c.SrcNumber, c.DstNumber)
	}
	acts := activities.New(store, s3)
	ref := activities.FileRef{Key: activities.InboxKey(cdr.Canonical, "million.csv")}
	etag, err := s3.Put(ctx, ref.Key, bytes.NewReader(file.Bytes()), "text/csv", nil)
	if err != nil {
		b.Fatal(err)
	}
	ref.ETag = etag
	engine, _, err := acts.Engines.Engine(ctx) // warm: a worker reuses its snapshot across files
	if err != nil {
		b.Fatal(err)
	}

	// The floor: the same rows, rated and rendered beforehand, copied plainly.
	src, err := ingest.NewSource("million.csv", bytes.NewReader(file.Bytes()), cdr.Canonical, time.UTC, engine)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := postgres.RenderCOPY(src)
	if err != nil {
		b.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floor, err := store.CopyFloor(ctx, rows)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.Pool().Exec(ctx, `DELETE FROM cdr_files`); err != nil { // ingest again, not skip
			b.Fatal(err)
		}
		if _, err := store.Pool().Exec(ctx, `TRUNCATE cdrs`); err != nil {
			b.Fatal(err)
		}
		startAt := time.Now()
		v, err := env.ExecuteActivity(acts.IngestFile, activities.IngestFileInput{File: ref})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(startAt)
		var res activities.IngestFileResult
		if err := v.Get(&res); err != nil || res.CDRs != n {
			b.Fatalf("%+v %v", res, err)
		}
		b.ReportMetric(floor.Seconds(), "floor_s")
		b.ReportMetric(took.Seconds(), "billrun_s")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "ratio")
		b.ReportMetric(n/took.Seconds(), "cdrs/s")
	}
}

// BenchmarkIndexCost measures what each candidate index of cdrs costs the
// plain COPY of a million rated rows (docs/benchmarks.md, storage layout).
func BenchmarkIndexCost(b *testing.B) {
	const n = 1_000_000
	store := pgtest.New(b)
	rng := rand.New(rand.NewPCG(7, 7))
	cat, codes := ratingtest.Catalog(rng)
	pgtest.LoadCatalog(b, store, cat)
	calls := ratingtest.CDRs(rng, cat, codes, n)
	var file bytes.Buffer
	file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i, c := range calls {
		fmt.Fprintf(&file, "b%d,%s,%d,%s,,%s,%s,ANSWERED\n", i, c.ConnectTime.Format(time.DateTime), c.Duration/time.Second, c.OrigIP, c.SrcNumber, c.DstNumber)
	}
	engine, err := store.Engine(ctx)
	if err != nil {
		b.Fatal(err)
	}
	src, err := ingest.NewSource("million.csv", &file, cdr.Canonical, time.UTC, engine)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := postgres.RenderCOPY(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, idx := range []string{"", "file_id", "connect_time", "client, connect_time", "file_id, line"} {
		name := strings.ReplaceAll(idx, ", ", "+")
		if name == "" {
			name = "none"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var d time.Duration
				if idx == "" {
					d, err = store.CopyFloor(ctx, rows)
				} else {
					d, err = store.CopyFloor(ctx, rows, idx)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(d.Seconds(), "copy_s")
			}
		})
	}
}
