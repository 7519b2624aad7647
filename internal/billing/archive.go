package billing

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/period"
)

// Archives move months of calls out of the database and back.
type Archives interface {
	ArchiveBlockers(ctx context.Context, month period.Month) (blockers []string, since time.Time, err error)
	StoredMonths(ctx context.Context, before period.Month) ([]period.Month, error)
	StoredDays(ctx context.Context, month period.Month) ([]time.Time, error)
	ExportDay(ctx context.Context, day time.Time, w io.Writer) (int64, error)
	RecordArchives(ctx context.Context, as []cdr.Archive) error
	Archives(ctx context.Context, month period.Month) ([]cdr.Archive, error)
	DropArchivedMonth(ctx context.Context, month period.Month, since time.Time) error
	RestoreDay(ctx context.Context, a cdr.Archive, r io.Reader, check func() error) error
}

// ErrArchiveRefused is wrapped by the error for a month that may not be
// archived (or restored) now; the error says why.
var ErrArchiveRefused = errors.New("refused")

// Archived is what archiving or restoring a month did.
type Archived struct {
	Month string
	Days  int
	Calls int64
	Bytes int64 // gzipped, in the bucket
}

// ArchivableMonths lists the months before before whose calls are in the
// database, oldest first.
func (s *Service) ArchivableMonths(ctx context.Context, before period.Month) ([]period.Month, error) {
	return s.Store.StoredMonths(ctx, before)
}

// ArchiveMonth writes each day of month's stored calls to the bucket as a
// gzipped CSV file of the stored columns (cdr.ArchiveKey), reads each back
// to check its SHA-256 and its count of calls, records them, and then drops
// the month's partitions. It is refused while the month has drafts, files
// wait in the inbox or a rerate runs; run again after a failure, it writes
// the days again. Invoices, notes and the bill runs' records stay.
func (s *Service) ArchiveMonth(ctx context.Context, month period.Month, beat Heartbeat) (Archived, error) {
	out := Archived{Month: string(month)}
	blockers, since, err := s.Store.ArchiveBlockers(ctx, month)
	if err != nil {
		return out, err
	}
	if p, err := s.Pending(ctx, "", 1); err != nil {
		return out, err
	} else if len(p.Pending) > 0 {
		blockers = append(blockers, fmt.Sprintf("inbox files wait to be ingested (%s): ingest, or remove a file that cannot be", p.Pending[0].Key))
	}
	if len(blockers) > 0 {
		return out, fmt.Errorf("archive %s: %w: %s", month, ErrArchiveRefused, strings.Join(blockers, "; "))
	}
	days, err := s.Store.StoredDays(ctx, month)
	if err != nil {
		return out, err
	}
	var written []cdr.Archive
	for i, day := range days {
		a, err := s.archiveDay(ctx, month, day)
		if err != nil {
			return out, err
		}
		written = append(written, a)
		out.Days, out.Calls, out.Bytes = out.Days+1, out.Calls+a.Calls, out.Bytes+a.Bytes
		beat.beat(i)
	}
	if err := s.Store.RecordArchives(ctx, written); err != nil {
		return out, err
	}
	return out, s.Store.DropArchivedMonth(ctx, month, since)
}

// archiveDay writes one day's calls and reads them back. The gzipped file
// goes through a temporary file: a day of a large month need not fit in
// memory.
func (s *Service) archiveDay(ctx context.Context, month period.Month, day time.Time) (cdr.Archive, error) {
	a := cdr.Archive{Day: day, Month: string(month), Key: cdr.ArchiveKey(day)}
	tmp, err := os.CreateTemp("", "cdr-archive-*.csv.gz")
	if err != nil {
		return a, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	h := sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(tmp, h), gzip.BestSpeed)
	if err != nil {
		return a, err
	}
	if a.Calls, err = s.Store.ExportDay(ctx, day, zw); err != nil {
		return a, fmt.Errorf("archive %s: %w", day.Format(time.DateOnly), err)
	}
	if err := zw.Close(); err != nil {
		return a, err
	}
	if a.Bytes, err = tmp.Seek(0, io.SeekCurrent); err != nil {
		return a, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return a, err
	}
	a.SHA256 = hex.EncodeToString(h.Sum(nil))
	if _, err := s.Objects.Put(ctx, a.Key, tmp, "application/gzip", nil); err != nil {
		return a, err
	}
	// Read back: what the bucket holds is what was written, and whole.
	r, _, err := s.Objects.Open(ctx, a.Key)
	if err != nil {
		return a, err
	}
	defer r.Close()
	h.Reset()
	calls, err := countCalls(io.TeeReader(r, h))
	if err != nil {
		return a, fmt.Errorf("%s read back: %w", a.Key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 || calls != a.Calls {
		return a, fmt.Errorf("%s read back: %d calls, SHA-256 %s; written %d calls, %s", a.Key, calls, got, a.Calls, a.SHA256)
	}
	return a, nil
}

// countCalls counts the records of a gzipped CSV file with a header.
func countCalls(r io.Reader) (int64, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return 0, err
	}
	cr := csv.NewReader(zr)
	cr.ReuseRecord = true
	var n int64
	for {
		if _, err := cr.Read(); err == io.EOF {
			break
		} else if err != nil {
			return 0, err
		}
		n++
	}
	// The whole object is read, so that its checksum covers all of it.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return 0, err
	}
	return n - 1, nil
}

// RestoreMonth brings an archived month's calls back into the database, a
// day at a time (each all or nothing), checking each file's SHA-256 and
// count of calls; the objects stay in the bucket. A month with nothing
// archived is refused.
func (s *Service) RestoreMonth(ctx context.Context, month period.Month, beat Heartbeat) (Archived, error) {
	out := Archived{Month: string(month)}
	archived, err := s.Store.Archives(ctx, month)
	if err != nil {
		return out, err
	}
	if len(archived) == 0 {
		return out, fmt.Errorf("restore %s: %w: nothing of it is archived", month, ErrArchiveRefused)
	}
	for i, a := range archived {
		if err := s.restoreDay(ctx, a); err != nil {
			return out, err
		}
		out.Days, out.Calls, out.Bytes = out.Days+1, out.Calls+a.Calls, out.Bytes+a.Bytes
		beat.beat(i)
	}
	return out, nil
}

func (s *Service) restoreDay(ctx context.Context, a cdr.Archive) error {
	r, _, err := s.Objects.Open(ctx, a.Key)
	if err != nil {
		return fmt.Errorf("restore %s: %w", a.Key, err)
	}
	defer r.Close()
	h := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(r, h))
	if err != nil {
		return fmt.Errorf("restore %s: %w", a.Key, err)
	}
	return s.Store.RestoreDay(ctx, a, zr, func() error { return sameSum(r, h, a.SHA256) })
}

// sameSum reads the rest of r into h and compares its sum with want.
func sameSum(r io.Reader, h hash.Hash, want string) error {
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("SHA-256 %s, archived as %s: the object changed", got, want)
	}
	return nil
}
