package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/s3store"
)

// InboxPrefix is where CDR files wait in the bucket: inbox/FORMAT/NAME.
const InboxPrefix = "inbox/"

// ErrBadFile is the error type of a file that cannot be ingested as a whole;
// it is not retried.
const ErrBadFile = "BadCDRFile"

// InboxKey is the key a file named name of format f is uploaded under.
func InboxKey(f cdr.Format, name string) string { return InboxPrefix + string(f) + "/" + name }

// FormatOfKey reads the format from an inbox key.
func FormatOfKey(key string) (cdr.Format, error) {
	rest, ok := strings.CutPrefix(key, InboxPrefix)
	dir, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return "", fmt.Errorf("%s is not under %sFORMAT/", key, InboxPrefix)
	}
	return cdr.ParseFormat(dir)
}

// FileRef names one inbox file's content.
type FileRef struct {
	Key  string
	ETag string
	Size int64
}

// ListInboxInput pages through the inbox.
type ListInboxInput struct {
	After string // list keys after this one
	Limit int
}

// ListInboxResult is a page of inbox files not yet ingested with their
// current content, in key order.
type ListInboxResult struct {
	Pending []FileRef
	Next    string // cursor for the next page; "" at the end
}

// ListInbox lists inbox files that need ingesting.
func (a *Activities) ListInbox(ctx context.Context, in ListInboxInput) (ListInboxResult, error) {
	// From the cursor on, a bucket page at a time, each checked against the
	// store in one query: a page of a large inbox costs no whole listing.
	var res ListInboxResult
	err := a.S3.Walk(ctx, InboxPrefix, in.After, func(page []s3store.Object) (bool, error) {
		keys := make([]string, len(page))
		for i, o := range page {
			keys[i] = o.Key
		}
		done, err := a.Store.IngestedChecksums(ctx, keys)
		if err != nil {
			return false, err
		}
		for _, o := range page {
			if strings.HasSuffix(o.Key, "/") || done[o.Key] == o.ETag {
				continue
			}
			if in.Limit > 0 && len(res.Pending) == in.Limit {
				res.Next = res.Pending[len(res.Pending)-1].Key
				return false, nil
			}
			res.Pending = append(res.Pending, FileRef{Key: o.Key, ETag: o.ETag, Size: o.Size})
		}
		return true, nil
	})
	return res, err
}

// IngestFileInput is one file to ingest.
type IngestFileInput struct {
	File     FileRef
	TimeZone string // of naive timestamps in asterisk and freeswitch files; "" is UTC
}

// IngestFileResult is what the file produced.
type IngestFileResult struct {
	Key      string
	Skipped  bool
	CDRs     int64
	Rejected int64
	Months   []string // YYYY-MM of its calls
}

// IngestFile streams one inbox file from S3, rates every call and stores the
// file's CDRs in one transaction. A retry or a crash leaves either all of
// the file's CDRs or none; a file whose content changed replaces its CDRs.
func (a *Activities) IngestFile(ctx context.Context, in IngestFileInput) (IngestFileResult, error) {
	res := IngestFileResult{Key: in.File.Key}
	f, err := FormatOfKey(in.File.Key)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadFile, err)
	}
	loc := time.UTC
	if in.TimeZone != "" {
		if loc, err = time.LoadLocation(in.TimeZone); err != nil {
			return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadFile, err)
		}
	}
	body, obj, err := a.S3.Open(ctx, in.File.Key)
	if err != nil {
		return res, err
	}
	defer body.Close()
	file := postgres.InboxFile{Key: in.File.Key, Checksum: obj.ETag, Format: f}
	id, skip, err := a.Store.StartFile(ctx, file)
	if err != nil {
		return res, err
	}
	if skip {
		res.Skipped = true
		return res, nil
	}
	engine, _, err := a.Engines.Engine(ctx)
	if err != nil {
		return res, err
	}
	counted := &countingReader{r: body}
	src, err := ingest.NewSource(in.File.Key, counted, f, loc, engine)
	if err == nil {
		src.Progress = func(lines int64) { activity.RecordHeartbeat(ctx, lines) }
		var st postgres.FileStats
		st, err = a.Store.LoadFile(ctx, id, file, src)
		res.CDRs, res.Rejected = st.CDRs, st.Rejected
		if !st.First.IsZero() {
			for m := time.Date(st.First.Year(), st.First.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(st.Last); m = m.AddDate(0, 1, 0) {
				res.Months = append(res.Months, m.Format("2006-01"))
			}
		}
	}
	// A compressed stream cut short while the object was not read whole is
	// the network's fault, not the file's: retry.
	truncatedInTransit := errors.Is(err, ingest.ErrCorruptStream) && counted.n < obj.Size
	if errors.Is(err, ingest.ErrBadFile) && !truncatedInTransit {
		_ = a.Store.FailFile(context.WithoutCancel(ctx), in.File.Key, err.Error())
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadFile, err)
	}
	return res, err
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
