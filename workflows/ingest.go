package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/period"
)

// Ingest workflow contract.
const (
	// IngestProgressQuery returns an IngestProgress.
	IngestProgressQuery = "progress"
	// DefaultIngestConcurrency is how many files one run ingests at once.
	DefaultIngestConcurrency = 4
	ingestPageSize           = 500
	maxFailuresKept          = 100
	// ErrFilesFailed ends a run in which files failed for transient reasons.
	ErrFilesFailed = "IngestFilesFailed"
)

// IngestInput starts an ingestion of every inbox file not yet ingested.
type IngestInput struct {
	Concurrency int    // files at once; 0 is DefaultIngestConcurrency
	TimeZone    string // of naive timestamps in asterisk and freeswitch files
	// HeartbeatTimeout is how soon a file whose worker died is retried
	// elsewhere; 0 is activities.Beat.
	HeartbeatTimeout time.Duration
	// PageSize is how many inbox files a run lists before it continues as
	// new; 0 is 500.
	PageSize int
	// Carried across continue-as-new.
	After    string
	Progress IngestProgress
}

// IngestProgress is the run's progress, and its result.
type IngestProgress struct {
	FilesDone    int // ingested now
	FilesSkipped int // ingested before with the same content
	FilesFailed  int
	// FilesRetryable counts failures not due to the file's content.
	FilesRetryable int
	FilesPending   int // listed and not finished yet
	CDRs           int64
	Rejected       int64
	Duplicates     int64          // calls not stored: another call had their key
	Months         []period.Month // of the calls ingested
	Failures       []FileFailure
}

// FileFailure is a file that could not be ingested.
type FileFailure struct {
	Key    string
	Reason string
}

// IngestWorkflowID is the ID of the run that ingests a given inbox listing
// of one installation (database and bucket): starting it twice for the same
// listing is the same run, not a duplicate.
func IngestWorkflowID(installation, bucket string, pending []activities.FileRef) string {
	keys := make([]string, len(pending))
	for i, f := range pending {
		keys[i] = f.Key + "\x00" + f.ETag
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(installation + "\x00" + bucket + "\n"))
	for _, k := range keys {
		h.Write([]byte(k + "\n"))
	}
	return "ingest-" + hex.EncodeToString(h.Sum(nil))[:20]
}

// Ingest lists the inbox page by page and ingests each file in an activity,
// a bounded number at once, continuing as new after each page so that the
// history stays small however large the inbox.
func Ingest(ctx workflow.Context, in IngestInput) (IngestProgress, error) {
	if in.Concurrency <= 0 {
		in.Concurrency = DefaultIngestConcurrency
	}
	p := in.Progress
	if err := workflow.SetQueryHandler(ctx, IngestProgressQuery, func() (IngestProgress, error) { return p, nil }); err != nil {
		return p, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindIngest))

	var a *activities.Activities
	listCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Minute, HeartbeatTimeout: activities.Beat})
	var page activities.ListInboxResult
	if in.PageSize <= 0 {
		in.PageSize = ingestPageSize
	}
	if err := workflow.ExecuteActivity(listCtx, a.ListInbox, activities.ListInboxInput{After: in.After, Limit: in.PageSize}).Get(ctx, &page); err != nil {
		return p, err
	}
	p.FilesPending = len(page.Pending)

	if in.HeartbeatTimeout <= 0 {
		in.HeartbeatTimeout = activities.Beat
	}
	fileCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 4 * time.Hour,
		HeartbeatTimeout:    in.HeartbeatTimeout,
		RetryPolicy:         retrying(10, activities.ErrBadFile),
	})
	sel := workflow.NewSelector(ctx)
	running := 0
	done := func(key string) func(workflow.Future) {
		return func(f workflow.Future) {
			running--
			p.FilesPending--
			var r activities.IngestFileResult
			if err := f.Get(ctx, &r); err != nil {
				p.FilesFailed++
				var app *temporal.ApplicationError
				if !errors.As(err, &app) || app.Type() != activities.ErrBadFile {
					p.FilesRetryable++
				}
				if len(p.Failures) < maxFailuresKept {
					p.Failures = append(p.Failures, FileFailure{Key: key, Reason: Reason(err)})
				}
				return
			}
			if r.Skipped {
				p.FilesSkipped++
				return
			}
			p.FilesDone++
			p.CDRs += r.CDRs
			p.Rejected += r.Rejected
			p.Duplicates += r.Duplicates
			if ms := union(p.Months, r.Months); len(ms) != len(p.Months) {
				p.Months = ms
				_ = workflow.UpsertTypedSearchAttributes(ctx, PeriodsAttr.ValueSet(searchMonths(ms)))
			}
		}
	}
	for _, f := range page.Pending {
		for running >= in.Concurrency {
			sel.Select(ctx)
		}
		fut := workflow.ExecuteActivity(summarized(fileCtx, f.Key), a.IngestFile, activities.IngestFileInput{File: f, TimeZone: in.TimeZone})
		running++
		sel.AddFuture(fut, done(f.Key))
	}
	for running > 0 {
		sel.Select(ctx)
	}
	if page.Next != "" {
		next := in
		next.After, next.Progress = page.Next, p
		return p, workflow.NewContinueAsNewError(ctx, Ingest, next)
	}
	if p.FilesRetryable > 0 {
		// Fail the run, so that the next ingest of the same listing may
		// start again (a bad file, by contrast, waits to be replaced).
		return p, temporal.NewApplicationError(fmt.Sprintf("%d files failed for reasons other than their content; the next ingest retries them", p.FilesRetryable), ErrFilesFailed, p)
	}
	return p, nil
}

// Reason is the message of a run's or an activity's failure without the
// SDK's wrapping: what a person needs to read.
func Reason(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// maxSearchMonths bounds the months a run lists in its search attribute:
// Temporal refuses a value over 2,048 bytes, and one stray date (1970-01-01)
// in a file would otherwise span hundreds of months.
const maxSearchMonths = 24

// searchMonths is what the search attribute lists of months (sorted): all of
// them, or the first and last maxSearchMonths/2 when there are more.
func searchMonths(ms []period.Month) []string {
	if len(ms) > maxSearchMonths {
		ms = append(slices.Clone(ms[:maxSearchMonths/2]), ms[len(ms)-maxSearchMonths/2:]...)
	}
	return period.Strings(ms)
}

func union(a, b []period.Month) []period.Month {
	set := map[period.Month]bool{}
	for _, s := range a {
		set[s] = true
	}
	out := append([]period.Month(nil), a...)
	for _, s := range b {
		if !set[s] {
			set[s] = true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
