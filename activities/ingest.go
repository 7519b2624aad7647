package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/period"
)

// ErrBadFile is the error type of a file that cannot be ingested as a whole;
// it is not retried.
const ErrBadFile = "BadCDRFile"

// FileRef names one inbox file's content.
type FileRef = billing.FileRef

// ListInboxInput pages through the inbox.
type ListInboxInput struct {
	After string // list keys after this one
	Limit int
}

// ListInboxResult is a page of inbox files not yet ingested with their
// current content, in key order.
type ListInboxResult = billing.PendingPage

// ListInbox lists inbox files that need ingesting.
func (a *Activities) ListInbox(ctx context.Context, in ListInboxInput) (ListInboxResult, error) {
	defer beating(ctx)()
	return a.Billing.Pending(ctx, in.After, in.Limit)
}

// IngestFileInput is one file to ingest.
type IngestFileInput struct {
	File     FileRef
	TimeZone string // of naive timestamps in asterisk and freeswitch files; "" is UTC
}

// IngestFileResult is what the file produced.
type IngestFileResult struct {
	Key        string
	Skipped    bool
	CDRs       int64
	Rejected   int64
	Duplicates int64
	Months     []period.Month // of its calls
}

// IngestFile ingests one inbox file (billing.Service.Ingest).
func (a *Activities) IngestFile(ctx context.Context, in IngestFileInput) (IngestFileResult, error) {
	ctx, stop := beatingCtx(ctx) // a file waiting on another's day lock still beats
	defer stop()
	r, err := a.Billing.Ingest(ctx, in.File.Key, in.TimeZone, heartbeat(ctx))
	res := IngestFileResult{Key: r.Key, Skipped: r.Skipped, CDRs: r.CDRs, Rejected: r.Rejected, Duplicates: r.Duplicates, Months: r.Months}
	if err == nil {
		count(ctx, "billrun_cdrs_ingested", r.CDRs)
		count(ctx, "billrun_cdrs_rejected", r.Rejected)
		count(ctx, "billrun_cdrs_duplicate", r.Duplicates)
	}
	if errors.Is(err, ingest.ErrBadFile) {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadFile, err)
	}
	return res, err
}
