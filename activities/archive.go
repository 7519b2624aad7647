package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/period"
)

// ErrArchiveRefused is the non-retryable error type of a month that may not
// be archived or restored now (drafts, files waiting, a running rerate,
// nothing archived).
const ErrArchiveRefused = "ArchiveRefused"

// ArchiveMonthInput names a month whose calls leave the database, or come
// back to it.
type ArchiveMonthInput struct {
	Month period.Month
}

// ArchiveMonthResult is what archiving or restoring a month did.
type ArchiveMonthResult = billing.Archived

// ArchivableMonthsInput names the first month that stays.
type ArchivableMonthsInput struct {
	Before period.Month
}

// ArchivableMonths lists the months before Before whose calls are in the
// database, oldest first.
func (a *Activities) ArchivableMonths(ctx context.Context, in ArchivableMonthsInput) ([]period.Month, error) {
	defer beating(ctx)()
	return a.Billing.ArchivableMonths(ctx, in.Before)
}

// ArchiveMonth writes a month's calls to S3, checks them and drops them from
// the database (billing.Service.ArchiveMonth).
func (a *Activities) ArchiveMonth(ctx context.Context, in ArchiveMonthInput) (ArchiveMonthResult, error) {
	ctx, stop := beatingCtx(ctx)
	defer stop()
	res, err := a.Billing.ArchiveMonth(ctx, in.Month, heartbeat(ctx))
	return res, archiveError(err)
}

// RestoreMonth brings an archived month's calls back
// (billing.Service.RestoreMonth).
func (a *Activities) RestoreMonth(ctx context.Context, in ArchiveMonthInput) (ArchiveMonthResult, error) {
	ctx, stop := beatingCtx(ctx)
	defer stop()
	res, err := a.Billing.RestoreMonth(ctx, in.Month, heartbeat(ctx))
	return res, archiveError(err)
}

func archiveError(err error) error {
	if errors.Is(err, billing.ErrArchiveRefused) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrArchiveRefused, err)
	}
	return err
}
