package activities_test

import (
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rating/ratingtest"
)

// stream generates a canonical CDR file of about size bytes on the fly.
type stream struct {
	left  int64
	buf   []byte
	off   int
	i     int64
	rng   *rand.Rand
	ips   []string
	codes []string
}

func (s *stream) Read(p []byte) (int, error) {
	if s.off == len(s.buf) {
		if s.left <= 0 {
			return 0, io.EOF
		}
		s.buf, s.off = s.buf[:0], 0
		if s.i == 0 {
			s.buf = append(s.buf, strings.Join(cdr.CanonicalHeader, ",")+"\n"...)
		}
		for len(s.buf) < 64<<10 {
			s.i++
			b := append(s.buf, 'g')
			b = strconv.AppendInt(b, s.i, 10)
			b = append(b, ",2026-10-"...)
			d := 1 + s.rng.IntN(28)
			b = append(b, byte('0'+d/10), byte('0'+d%10))
			b = append(b, " 12:00:00,"...)
			b = strconv.AppendInt(b, int64(s.rng.IntN(600)), 10)
			b = append(b, ',')
			b = append(b, s.ips[s.rng.IntN(len(s.ips))]...)
			b = append(b, ",,4930123456,"...)
			b = append(b, s.codes[s.rng.IntN(len(s.codes))]...)
			b = append(b, "1234567,ANSWERED\n"...)
			s.buf = b
		}
		s.left -= int64(len(s.buf))
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// BenchmarkIngestStream loads a generated stream of BILLRUN_STREAM_GB
// gigabytes (default 5) through the ingestion path into PostgreSQL and
// reports the process's peak RSS: memory must not grow with the file.
// Not part of make test; make bench-memory runs it.
func BenchmarkIngestStream(b *testing.B) {
	gb, _ := strconv.ParseFloat(os.Getenv("BILLRUN_STREAM_GB"), 64)
	if gb <= 0 {
		gb = 5
	}
	store := pgtest.New(b)
	rng := rand.New(rand.NewPCG(9, 9))
	cat, codes := ratingtest.Catalog(rng)
	pgtest.LoadCatalog(b, store, cat)
	ips := make([]string, len(cat.Accounts))
	for i, a := range cat.Accounts {
		ips[i] = a.Value
	}
	engine, err := billing.NewEngines(store).Engine(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := &stream{left: int64(gb * (1 << 30)), rng: rng, ips: ips, codes: codes}
		src, err := ingest.NewSource("stream.csv", in, cdr.Canonical, time.UTC, engine)
		if err != nil {
			b.Fatal(err)
		}
		f := cdr.File{Key: "inbox/canonical/stream.csv", Checksum: strconv.Itoa(i), Format: cdr.Canonical}
		id, _, err := store.StartFile(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		st, err := store.LoadFile(ctx, id, f, src)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.CDRs), "cdrs")
		b.ReportMetric(float64(st.CDRs)/time.Since(start).Seconds(), "cdrs/s")
	}
	b.ReportMetric(peakRSSMB(), "peak_rss_MB")
}

// peakRSSMB reads the process's peak resident set size (VmHWM).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}
