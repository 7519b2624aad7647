package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/period"
)

// Archive and restore workflow contract.
const (
	KindArchive = "cdr-archive"
	KindRestore = "cdr-restore"
	// ArchiveProgressQuery returns an ArchiveResult: the months done so far.
	ArchiveProgressQuery = "progress"
)

// ArchiveInput asks for the months before Before to leave the database.
type ArchiveInput struct {
	Before period.Month
}

// ArchiveResult has, per month, what was archived or restored, or why it
// was refused.
type ArchiveResult struct {
	Months []MonthArchive
}

// MonthArchive is one month's outcome.
type MonthArchive struct {
	activities.ArchiveMonthResult
	Refused string // why it stayed in the database
}

// ArchiveWorkflowID names the archive of the months before a month: a
// second start while it runs joins it.
func ArchiveWorkflowID(before period.Month) string { return KindArchive + "-before-" + string(before) }

// RestoreWorkflowID names the restore of a month.
func RestoreWorkflowID(month period.Month) string { return KindRestore + "-" + string(month) }

var archiveActivity = workflow.ActivityOptions{
	StartToCloseTimeout: time.Hour,
	HeartbeatTimeout:    activities.Beat,
	RetryPolicy:         retrying(10, activities.ErrArchiveRefused),
}

// Archive moves each month before in.Before whose calls are in the
// database to S3, oldest first, a month at a time; a month that may not go
// yet (drafts, files waiting, a rerate) is reported and the others go on.
func Archive(ctx workflow.Context, in ArchiveInput) (ArchiveResult, error) {
	var res ArchiveResult
	if err := workflow.SetQueryHandler(ctx, ArchiveProgressQuery, func() (ArchiveResult, error) { return res, nil }); err != nil {
		return res, err
	}
	ctx = workflow.WithActivityOptions(ctx, archiveActivity)
	var a *activities.Activities
	var months []period.Month
	if err := workflow.ExecuteActivity(ctx, a.ArchivableMonths, activities.ArchivableMonthsInput{Before: in.Before}).Get(ctx, &months); err != nil {
		return res, err
	}
	for _, m := range months {
		var done MonthArchive
		err := workflow.ExecuteActivity(summarized(ctx, "calls of "+string(m)), a.ArchiveMonth, activities.ArchiveMonthInput{Month: m}).Get(ctx, &done.ArchiveMonthResult)
		if refused, ok := refusal(err); ok {
			done.Month, done.Refused, err = string(m), refused, nil
		}
		if err != nil {
			return res, err
		}
		res.Months = append(res.Months, done)
	}
	return res, nil
}

// Restore brings an archived month's calls back into the database.
func Restore(ctx workflow.Context, month period.Month) (ArchiveResult, error) {
	var res ArchiveResult
	ctx = workflow.WithActivityOptions(ctx, archiveActivity)
	var a *activities.Activities
	var done MonthArchive
	err := workflow.ExecuteActivity(ctx, a.RestoreMonth, activities.ArchiveMonthInput{Month: month}).Get(ctx, &done.ArchiveMonthResult)
	if refused, ok := refusal(err); ok {
		done.Month, done.Refused, err = string(month), refused, nil
	}
	res.Months = append(res.Months, done)
	return res, err
}

// refusal is the message of an activity's ArchiveRefused error.
func refusal(err error) (string, bool) {
	var app *temporal.ApplicationError
	if err != nil && errors.As(err, &app) && app.Type() == activities.ErrArchiveRefused {
		return app.Message(), true
	}
	return "", false
}

// StartArchive starts (or joins) the archive of the months before a month.
func StartArchive(ctx context.Context, c Client, in ArchiveInput) (client.WorkflowRun, error) {
	o := joinable(ArchiveWorkflowID(in.Before), KindArchive)
	o.StaticSummary = fmt.Sprintf("Archive of the calls of the months before %s", in.Before)
	return c.start(ctx, o, Archive, in)
}

// StartRestore starts (or joins) the restore of a month's calls.
func StartRestore(ctx context.Context, c Client, month period.Month) (client.WorkflowRun, error) {
	o := joinable(RestoreWorkflowID(month), KindRestore)
	o.StaticSummary = fmt.Sprintf("Restore of the calls of %s", month)
	return c.start(ctx, o, Restore, month)
}
