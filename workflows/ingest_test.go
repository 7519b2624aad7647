package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/period"
)

func files(n int) []activities.FileRef {
	out := make([]activities.FileRef, n)
	for i := range out {
		out[i] = activities.FileRef{Key: fmt.Sprintf("inbox/canonical/f%03d.csv", i), ETag: fmt.Sprint("e", i)}
	}
	return out
}

func TestIngestCountsEveryFileAndKeepsConcurrencyBounded(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ListInbox, mock.Anything, activities.ListInboxInput{Limit: ingestPageSize}).
		Return(activities.ListInboxResult{Pending: files(10)}, nil)
	var running, peak atomic.Int32
	env.OnActivity(a.IngestFile, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.IngestFileInput) (activities.IngestFileResult, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			switch in.File.Key {
			case "inbox/canonical/f003.csv":
				return activities.IngestFileResult{}, temporal.NewNonRetryableApplicationError("not a canonical file", activities.ErrBadFile, nil)
			case "inbox/canonical/f004.csv":
				return activities.IngestFileResult{Key: in.File.Key, Skipped: true}, nil
			}
			return activities.IngestFileResult{Key: in.File.Key, CDRs: 100, Rejected: 1, Months: []period.Month{"2026-10"}}, nil
		})
	env.ExecuteWorkflow(Ingest, IngestInput{Concurrency: 3})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var p IngestProgress
	require.NoError(t, env.GetWorkflowResult(&p))
	require.Equal(t, 8, p.FilesDone)
	require.Equal(t, 1, p.FilesSkipped)
	require.Equal(t, 1, p.FilesFailed)
	require.Equal(t, 0, p.FilesRetryable)
	require.Equal(t, 0, p.FilesPending)
	require.Equal(t, int64(800), p.CDRs)
	require.Equal(t, int64(8), p.Rejected)
	require.Equal(t, []period.Month{"2026-10"}, p.Months)
	require.Equal(t, []FileFailure{{Key: "inbox/canonical/f003.csv", Reason: "not a canonical file"}}, p.Failures)
	require.LessOrEqual(t, peak.Load(), int32(3))
}

func TestIngestFailsTheRunWhenAFileFailsForATransientReason(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ListInbox, mock.Anything, mock.Anything).Return(activities.ListInboxResult{Pending: files(2)}, nil)
	env.OnActivity(a.IngestFile, mock.Anything, mock.MatchedBy(func(in activities.IngestFileInput) bool { return in.File.Key == "inbox/canonical/f000.csv" })).
		Return(activities.IngestFileResult{}, errors.New("connection refused"))
	env.OnActivity(a.IngestFile, mock.Anything, mock.Anything).Return(activities.IngestFileResult{CDRs: 5}, nil)
	env.ExecuteWorkflow(Ingest, IngestInput{})
	require.True(t, env.IsWorkflowCompleted())
	var app *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &app))
	require.Equal(t, ErrFilesFailed, app.Type())
}

func TestIngestContinuesAsNewAfterEachPage(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ListInbox, mock.Anything, mock.Anything).Return(activities.ListInboxResult{Pending: files(2), Next: "inbox/canonical/f001.csv"}, nil)
	env.OnActivity(a.IngestFile, mock.Anything, mock.Anything).Return(activities.IngestFileResult{CDRs: 7}, nil)
	env.ExecuteWorkflow(Ingest, IngestInput{})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.True(t, workflow.IsContinueAsNewError(err), "err = %v", err)
}

func TestIngestAnswersTheProgressQuery(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ListInbox, mock.Anything, mock.Anything).Return(activities.ListInboxResult{Pending: files(3)}, nil)
	env.OnActivity(a.IngestFile, mock.Anything, mock.Anything).After(time.Minute).Return(activities.IngestFileResult{CDRs: 1}, nil)
	var mid IngestProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(IngestProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 30*time.Second)
	env.ExecuteWorkflow(Ingest, IngestInput{Concurrency: 1})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 3, mid.FilesPending)
	require.Equal(t, 0, mid.FilesDone)
}

func TestIngestWorkflowIDIsTheSameForTheSameListingOnly(t *testing.T) {
	a := IngestWorkflowID("inst", "bucket", files(3))
	rev := files(3)
	rev[0], rev[2] = rev[2], rev[0]
	require.Equal(t, a, IngestWorkflowID("inst", "bucket", rev))
	changed := files(3)
	changed[1].ETag = "other"
	require.NotEqual(t, a, IngestWorkflowID("inst", "bucket", changed))
	require.NotEqual(t, a, IngestWorkflowID("other-db", "bucket", files(3)))
}

func TestTheSearchAttributeListsAtMost24MonthsTheFirstAndLast(t *testing.T) {
	var ms []period.Month
	for m := period.Month("2001-01"); m < "2010-01"; m = m.Next() {
		ms = append(ms, m)
	}
	got := searchMonths(ms)
	require.Len(t, got, maxSearchMonths)
	require.Equal(t, "2001-01", got[0])
	require.Equal(t, "2001-12", got[11])
	require.Equal(t, "2009-01", got[12])
	require.Equal(t, "2009-12", got[23])
	require.Equal(t, []string{"2026-09", "2026-10"}, searchMonths([]period.Month{"2026-09", "2026-10"}))
}
