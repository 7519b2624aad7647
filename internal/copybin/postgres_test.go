package copybin_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/copybin"
	"github.com/billrun/billrun/internal/copytext"
	"github.com/billrun/billrun/internal/postgres/pgtest"
)

// TestPostgreSQLStoresBinaryRowsAsItStoresTextRows: every value billrun
// copies, rendered in binary, is stored exactly as its text rendering is.
func TestPostgreSQLStoresBinaryRowsAsItStoresTextRows(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(pgtest.New(t))
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	const columns = `(n int, at timestamptz, secs numeric(16, 6), cost numeric(20, 6), s text, cur char(3), rev integer)`
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE as_text `+columns+`; CREATE TEMP TABLE as_binary `+columns); err != nil {
		t.Fatal(err)
	}
	type row struct {
		at   time.Time
		secs time.Duration
		cost int64
		s    string
		cur  string
		rev  int32
	}
	rows := []row{
		{time.Date(2026, 10, 31, 23, 59, 59, 999_999_999, time.UTC), 90*time.Second + time.Nanosecond, 24_000, "plain", "USD", 3},
		{time.Date(1999, 12, 31, 23, 0, 0, 1000, time.FixedZone("", -5*3600)), 0, 0, "", "", 0},
		{time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), 1500 * time.Microsecond, -1, "tab\tnew\nline\\slash\x00nul", "EU", 1},
		{time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), 36_000 * time.Hour, math.MaxInt64 / 10, "ünïcødé", "GBP", math.MaxInt32},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 59_999_999 * time.Microsecond, -1_000_000_000_001, "x", "GBP", 7},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Microsecond, 10_000_000_000, "y", "USD", 8},
	}
	var text, bin bytes.Buffer
	bin.Write(copybin.Header)
	for i, r := range rows {
		var b []byte
		b = fmt.Appendf(b, "%d\t", i)
		b = copytext.AppendTime(b, r.at)
		b = append(b, '\t')
		b = copytext.AppendSeconds(b, r.secs)
		b = append(b, '\t')
		b = copytext.AppendMillionths(b, r.cost)
		b = append(b, '\t')
		b = copytext.AppendText(b, r.s)
		b = append(b, '\t')
		b = copytext.AppendNullText(b, r.cur)
		b = fmt.Appendf(b, "\t%d\n", r.rev)
		text.Write(b)

		b = copybin.AppendRow(nil, 7)
		b = copybin.AppendInt4(b, int32(i))
		b = copybin.AppendTimestamptz(b, r.at)
		b = copybin.AppendSeconds(b, r.secs)
		b = copybin.AppendMillionths(b, r.cost)
		b = copybin.AppendText(b, r.s)
		b = copybin.AppendNullText(b, r.cur)
		b = copybin.AppendInt4(b, r.rev)
		bin.Write(b)
	}
	bin.Write(copybin.Trailer)
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, &text, `COPY as_text FROM STDIN`); err != nil {
		t.Fatalf("text: %v", err)
	}
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, &bin, `COPY as_binary FROM STDIN (FORMAT binary)`); err != nil {
		t.Fatalf("binary: %v", err)
	}
	var differ []string
	r, err := conn.Query(ctx, `SELECT t.n, t::text, b::text FROM as_text t FULL JOIN as_binary b USING (n)
		WHERE (t.*) IS DISTINCT FROM (b.*) OR t.secs::text IS DISTINCT FROM b.secs::text OR t.cost::text IS DISTINCT FROM b.cost::text ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var n int
		var a, b *string
		if err := r.Scan(&n, &a, &b); err != nil {
			t.Fatal(err)
		}
		differ = append(differ, fmt.Sprintf("row %d: text %v, binary %v", n, deref(a), deref(b)))
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, d := range differ {
		t.Error(d)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM as_binary`).Scan(&n); err != nil || n != len(rows) {
		t.Fatalf("%d binary rows stored (%v), want %d", n, err, len(rows))
	}
}

func deref(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}
