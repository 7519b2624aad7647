package workflows

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/billrun/billrun/activities"
)

func TestAnAdjustOfEveryClientGoesARangeAtATimePageAfterPageAndRendersItsNotesByPage(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	pages := map[string]activities.ClientRangesResult{
		"":      {Full: true, Ranges: []activities.ClientRange{{Last: "c0499", Count: 500}, {After: "c0499", Last: "c0999", Count: 500}}},
		"c0999": {Ranges: []activities.ClientRange{{After: "c0999", Last: "c1099", Count: 100}}},
	}
	env.OnActivity(a.AdjustRanges, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AdjustRangesInput) (activities.ClientRangesResult, error) {
			if in.Period != "2026-10" || in.Limit != adjustPage || in.Size != adjustRange {
				return activities.ClientRangesResult{}, fmt.Errorf("input %+v", in)
			}
			return pages[in.After], nil
		})
	var mu sync.Mutex
	var adjusted []activities.ClientRange
	env.OnActivity(a.AdjustInvoices, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AdjustInvoicesInput) (activities.AdjustInvoicesResult, error) {
			if in.Client != "" || !in.Issue || in.MadeBy == "" || in.Now.IsZero() {
				return activities.AdjustInvoicesResult{}, fmt.Errorf("input %+v", in)
			}
			mu.Lock()
			defer mu.Unlock()
			adjusted = append(adjusted, in.Range)
			return activities.AdjustInvoicesResult{Invoices: in.Range.Count, Made: in.Range.Count / 2}, nil
		})
	var renders []string
	env.OnActivity(a.RenderNotes, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.NotesToRenderInput) (activities.RenderNotesResult, error) {
			renders = append(renders, in.After)
			if len(renders) > 2 {
				return activities.RenderNotesResult{}, nil
			}
			return activities.RenderNotesResult{Rendered: notesPage, Last: fmt.Sprintf("note-%d", len(renders))}, nil
		})
	env.ExecuteWorkflow(Adjust, AdjustInput{Period: "2026-10", Issue: true})
	require.NoError(t, env.GetWorkflowError())
	var res AdjustResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 1100, res.Invoices)
	require.Equal(t, 550, res.Made)
	require.Equal(t, 2*notesPage, res.Rendered)
	slices.SortFunc(adjusted, func(x, y activities.ClientRange) int { return cmp.Compare(x.Last, y.Last) })
	require.Equal(t, append(pages[""].Ranges, pages["c0999"].Ranges...), adjusted)
	require.Equal(t, []string{"", "note-1", "note-2"}, renders)
}

func TestAnAdjustOfOneClientIsOneStep(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.AdjustInvoices, mock.Anything, mock.MatchedBy(func(in activities.AdjustInvoicesInput) bool {
		return in.Client == "acme" && in.Range == activities.ClientRange{}
	})).Return(activities.AdjustInvoicesResult{Invoices: 1, Made: 1}, nil).Once()
	env.OnActivity(a.RenderNotes, mock.Anything, mock.Anything).Return(activities.RenderNotesResult{}, nil)
	env.ExecuteWorkflow(Adjust, AdjustInput{Period: "2026-10", Client: "acme", Issue: true})
	require.NoError(t, env.GetWorkflowError())
	var res AdjustResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 1, res.Made)
}
