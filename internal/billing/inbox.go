package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/billrun/billrun/internal/blob"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/period"
)

// InboxPrefix is where CDR files wait in the bucket: inbox/FORMAT/NAME.
const InboxPrefix = "inbox/"

// InboxKey is the key a file named name of format f is uploaded under.
func InboxKey(f cdr.Format, name string) string { return InboxPrefix + string(f) + "/" + name }

// FormatOfKey reads the format from an inbox key, whose name must be one
// that uploads accept (blob.CheckName).
func FormatOfKey(key string) (cdr.Format, error) {
	rest, ok := strings.CutPrefix(key, InboxPrefix)
	dir, name, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return "", fmt.Errorf("%s is not under %sFORMAT/", key, InboxPrefix)
	}
	if err := blob.CheckName(name); err != nil {
		return "", fmt.Errorf("%s: file name: %w", key, err)
	}
	return cdr.ParseFormat(dir)
}

// FileRef names one inbox file's content.
type FileRef struct {
	Key  string
	ETag string
	Size int64
}

// PendingPage is a page of inbox files not yet ingested with their current
// content, in key order.
type PendingPage struct {
	Pending []FileRef
	Next    string // cursor for the next page; "" at the end
}

// Pending lists the inbox files after the key after that need ingesting, up
// to limit (0: all). From the cursor on, a bucket page at a time, each
// checked against the store in one query: a page of a large inbox costs no
// whole listing.
func (s *Service) Pending(ctx context.Context, after string, limit int) (PendingPage, error) {
	var res PendingPage
	err := s.Objects.Walk(ctx, InboxPrefix, after, func(page []blob.Object) (bool, error) {
		keys := make([]string, len(page))
		for i, o := range page {
			keys[i] = o.Key
		}
		done, err := s.Store.IngestedChecksums(ctx, keys)
		if err != nil {
			return false, err
		}
		for _, o := range page {
			if strings.HasSuffix(o.Key, "/") || done[o.Key] == o.ETag {
				continue
			}
			if limit > 0 && len(res.Pending) == limit {
				res.Next = res.Pending[len(res.Pending)-1].Key
				return false, nil
			}
			res.Pending = append(res.Pending, FileRef{Key: o.Key, ETag: o.ETag, Size: o.Size})
		}
		return true, nil
	})
	return res, err
}

// InboxFile is an inbox file and what became of it.
type InboxFile struct {
	Key        string
	Status     string // pending, ingesting, ingested or failed
	CDRs       int64
	Rejected   int64
	Duplicates int64
	Reason     string // why it failed, or why an ingested file is pending again
	inBucket   bool
}

// Inbox is the state of every file in the inbox or seen by ingestion, by key:
// a file in the bucket that ingestion has not seen, or whose content
// changed since, is pending.
func (s *Service) Inbox(ctx context.Context) ([]InboxFile, error) {
	byKey := map[string]InboxFile{}
	checksum := map[string]string{}
	files, err := s.Store.Files(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		byKey[f.Key] = InboxFile{Key: f.Key, Status: f.Status, CDRs: f.CDRs, Rejected: f.Rejected, Duplicates: f.Duplicates, Reason: f.Error}
		checksum[f.Key] = f.Checksum
	}
	err = s.Objects.Walk(ctx, InboxPrefix, "", func(page []blob.Object) (bool, error) {
		for _, o := range page {
			if strings.HasSuffix(o.Key, "/") {
				continue
			}
			r, ok := byKey[o.Key]
			r.inBucket = true
			byKey[o.Key] = r
			switch {
			case !ok:
				byKey[o.Key] = InboxFile{Key: o.Key, Status: "pending", inBucket: true}
			case r.Status == "ingested" && checksum[o.Key] != o.ETag:
				r.Status, r.Reason = "pending", "content changed since ingested"
				byKey[o.Key] = r
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]InboxFile, 0, len(byKey))
	for _, f := range byKey {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Duplicates lists the calls of inbox file key that were not stored: an
// earlier call, of this file or another, had the same key (billing-rules §7).
func (s *Service) Duplicates(ctx context.Context, key string) ([]cdr.Duplicate, error) {
	return s.Store.Duplicates(ctx, key)
}

// IngestResult is what ingesting a file produced.
type IngestResult struct {
	Key        string
	Skipped    bool // ingested before with the same content
	CDRs       int64
	Rejected   int64
	Duplicates int64          // calls not stored: another had their key
	Months     []period.Month // of its calls, in UTC
}

// Ingest streams one inbox file from the bucket, rates every call and
// stores the file's CDRs in one transaction. A retry or a crash leaves
// either all of the file's CDRs or none; a file whose content changed
// replaces its CDRs. An error wrapping ingest.ErrBadFile is the file's
// fault: it is recorded as failed and retrying does not help. Naive times
// of asterisk and freeswitch files are in zone ("" is UTC).
func (s *Service) Ingest(ctx context.Context, key, zone string, beat Heartbeat) (IngestResult, error) {
	res := IngestResult{Key: key}
	f, err := FormatOfKey(key)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ingest.ErrBadFile, err)
	}
	loc := time.UTC
	if zone != "" {
		if loc, err = time.LoadLocation(zone); err != nil {
			return res, fmt.Errorf("%w: time zone: %w", ingest.ErrBadFile, err)
		}
	}
	body, obj, err := s.Objects.Open(ctx, key)
	if err != nil {
		return res, err
	}
	defer func() { body.Close() }()
	file := cdr.File{Key: key, Checksum: obj.ETag, Format: f, Size: obj.Size}
	id, skip, err := s.Store.StartFile(ctx, file)
	if err != nil {
		return res, err
	}
	if skip {
		res.Skipped = true
		return res, nil
	}
	engine, revision, err := s.Engines.Current(ctx)
	if err != nil {
		return res, err
	}
	file.Revision = revision
	var counted *countingReader
	for attempt := 1; ; attempt++ {
		counted = &countingReader{r: body}
		var src *ingest.Source
		src, err = ingest.NewSource(key, counted, f, loc, engine)
		if err != nil {
			break
		}
		src.Progress = func(lines int64) { beat.beat(lines) }
		var st cdr.FileStats
		st, err = s.Store.LoadFile(ctx, id, file, src)
		res.CDRs, res.Rejected, res.Duplicates = st.CDRs, st.Rejected, st.Duplicates
		// The months it has calls in, not every month between its first
		// and last: one stray date would list hundreds.
		res.Months = months(st.Days)
		// Calls out of time order met a day another file held: read the
		// file again, its days known and locked first (rare: files are
		// written in time order).
		var order *cdr.DaysOutOfOrderError
		if !errors.As(err, &order) {
			break
		}
		if attempt == maxLoads {
			err = fmt.Errorf("%s: read %d times: %w", key, attempt, err)
			break
		}
		body.Close()
		if body, obj, err = s.Objects.Open(ctx, key); err != nil {
			return res, err
		}
		if obj.ETag != file.Checksum {
			return res, fmt.Errorf("%s changed while it was ingested; retrying", key)
		}
		file.Days = order.Days
	}
	// A compressed stream cut short while the object was not read whole is
	// the network's fault, not the file's: retry.
	truncatedInTransit := errors.Is(err, ingest.ErrCorruptStream) && counted.n < obj.Size
	if truncatedInTransit {
		return res, fmt.Errorf("%s was cut short in transit (%d of %d bytes read): %v", key, counted.n, obj.Size, err)
	}
	if errors.Is(err, ingest.ErrBadFile) {
		_ = s.Store.FailFile(context.WithoutCancel(ctx), key, err.Error())
	}
	return res, err
}

// maxLoads bounds the reads of one file whose calls are out of time order
// (each read knows more of its days); past it the activity's retry goes on.
const maxLoads = 4

// months are the distinct months of days (UTC midnights in unix seconds),
// sorted.
func months(days []int64) []period.Month {
	var out []period.Month
	for _, d := range days {
		out = append(out, period.Of(time.Unix(d, 0).UTC()))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// IngestionKey is what names an ingestion of the inbox as it is now: the same
// listing of the same installation (database and bucket) gives the same ID,
// so that starting it twice is one run. It returns the files pending too.
func (s *Service) IngestionKey(ctx context.Context) (installation, bucket string, pending []FileRef, err error) {
	page, err := s.Pending(ctx, "", 0)
	if err != nil {
		return "", "", nil, err
	}
	inst, err := s.Store.InstallationID(ctx)
	return inst, s.Objects.Bucket(), page.Pending, err
}
