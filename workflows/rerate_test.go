package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rerate"
)

func TestDaysCutAtUTCMidnights(t *testing.T) {
	from := time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC)
	to := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	s := Days(from, to)
	require.Len(t, s, 3)
	require.Equal(t, from, s[0][0])
	require.Equal(t, time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), s[0][1])
	require.Equal(t, to, s[2][1])
	require.Len(t, Days(to, to), 0)
}

func TestRerateMergesEveryDayAndRecordsTheRun(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.BeginRerate, mock.Anything, mock.Anything).Return(nil)
	var mu sync.Mutex
	days := map[time.Time]bool{}
	env.OnActivity(a.RerateDay, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RerateDayInput) (rerate.Summary, error) {
			mu.Lock()
			days[in.From] = true
			mu.Unlock()
			return rerate.Summary{Examined: 10, Changed: 2, NewlyMatched: 1,
				Differences: []rerate.Difference{{Client: "acme", Currency: "EUR", Amount: rating.Money(1500)}}}, nil
		})
	var ended *rerate.Summary
	env.OnActivity(a.EndRerate, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndRerateInput) error {
		ended = in.Result
		return nil
	})
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	env.ExecuteWorkflow(Rerate, RerateInput{From: from, To: from.AddDate(0, 1, 0), Match: rerate.Mismatched})
	require.NoError(t, env.GetWorkflowError())
	var res RerateResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 31, res.Days)
	require.Len(t, days, 31)
	require.Equal(t, int64(310), res.Examined)
	require.Equal(t, int64(62), res.Changed)
	require.Equal(t, []rerate.Difference{{Client: "acme", Currency: "EUR", Amount: rating.Money(31 * 1500)}}, res.Differences)
	require.NotNil(t, ended)
	require.Equal(t, res.Summary.Examined, ended.Examined)
}

func TestAFailedRerateFreesItsPeriod(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.BeginRerate, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.RerateDay, mock.Anything, mock.Anything).Return(rerate.Summary{}, errors.New("disk full"))
	failedEnd := false
	env.OnActivity(a.EndRerate, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndRerateInput) error {
		failedEnd = in.Result == nil
		return nil
	})
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	env.ExecuteWorkflow(Rerate, RerateInput{From: from, To: from.AddDate(0, 0, 3)})
	require.Error(t, env.GetWorkflowError())
	require.True(t, failedEnd)
}
