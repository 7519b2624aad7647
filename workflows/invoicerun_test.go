package workflows

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
)

func TestAnInvoiceRunInvoicesEachRangeOfClientsAndSumsWhatBecameOfThem(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	ends := time.Date(2026, 11, 15, 23, 0, 0, 0, time.UTC)
	ranges := []activities.ClientRange{{Last: "c", Count: 3}, {After: "c", Last: "f", Count: 3}, {After: "f", Last: "g", Count: 1}}
	env.OnActivity(a.ClientRanges, mock.Anything, activities.ClientRangesInput{Limit: invoiceRunLargePage, Size: 3, Reseller: "albion",
		Parts: invoiceBatchesAtOnce, MinSize: DefaultInvoiceBatch}).Return(activities.ClientRangesResult{Ranges: ranges}, nil).Once()
	sums := map[string]activities.InvoiceRangeResult{
		"c": {Clients: 3, Invoiced: 2, Skipped: 1},
		"f": {Clients: 3, Invoiced: 1, Conflicting: 1, Conflicts: []string{"client d has invoice INV-1 issued"}, Open: 1, NextEnd: ends},
		"g": {Clients: 1, Open: 1, NextEnd: ends.Add(-time.Hour)},
	}
	var asked []activities.ClientRange
	env.OnActivity(a.InvoiceRange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvoiceRangeInput) (activities.InvoiceRangeResult, error) {
			if in.Period != "2026-10" || !in.Issue || in.Now.IsZero() || in.Reseller != "albion" {
				return activities.InvoiceRangeResult{}, fmt.Errorf("input %+v", in)
			}
			asked = append(asked, in.Range)
			return sums[in.Range.Last], nil
		})
	env.ExecuteWorkflow(InvoiceRun, InvoiceRunInput{Period: "2026-10", Issue: true, BatchSize: 3, Reseller: "albion"})
	require.NoError(t, env.GetWorkflowError())
	var p InvoiceRunProgress
	require.NoError(t, env.GetWorkflowResult(&p))
	require.Equal(t, InvoiceRunProgress{Clients: 7, Invoiced: 3, Skipped: 1, Conflicts: []string{"client d has invoice INV-1 issued"}, ConflictCount: 1,
		Open: 2, NextEnd: ends.Add(-time.Hour)}, p)
	slices.SortFunc(asked, func(x, y activities.ClientRange) int { return cmp.Compare(x.Last, y.Last) })
	require.Equal(t, ranges, asked)
}

func TestAFullPageOfRangesContinuesAsNewAfterItsLastClient(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ClientRanges, mock.Anything, activities.ClientRangesInput{Limit: invoiceRunLargePage, Parts: invoiceBatchesAtOnce,
		MinSize: DefaultInvoiceBatch}).Return(activities.ClientRangesResult{Full: true, Ranges: []activities.ClientRange{
		{Last: "c1999", Count: 2000}, {After: "c1999", Last: "c3999", Count: 2000}}}, nil).Once()
	env.OnActivity(a.InvoiceRange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvoiceRangeInput) (activities.InvoiceRangeResult, error) {
			return activities.InvoiceRangeResult{Clients: in.Range.Count, Skipped: in.Range.Count}, nil
		})
	env.ExecuteWorkflow(InvoiceRun, InvoiceRunInput{Period: "2026-10"})
	next := continuedAs(t, env.GetWorkflowError())
	require.Equal(t, "c3999", next.After)
	require.Equal(t, 4000, next.Progress.Skipped)
	require.False(t, next.Now.IsZero(), "the run's day is carried over")
}

func TestARunStartedBeforeRangesBatchesTheClientsAndCountsWhatBecameOfEach(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnGetVersion("invoice-batches-by-range", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	clients := []string{"a", "b", "c", "d", "e", "f", "g"}
	ends := time.Date(2026, 11, 15, 23, 0, 0, 0, time.UTC)
	env.OnActivity(a.ClientsToInvoice, mock.Anything, activities.ClientsToInvoiceInput{Limit: invoiceRunLargePage}).Return(clients, nil).Once()
	var batches [][]string
	env.OnActivity(a.CreateInvoices, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateInvoicesInput) (activities.CreateInvoicesResult, error) {
			if in.Period != "2026-10" || !in.Issue || in.Now.IsZero() {
				return activities.CreateInvoicesResult{}, fmt.Errorf("input %+v", in)
			}
			batches = append(batches, in.Clients)
			var res activities.CreateInvoicesResult
			for _, c := range in.Clients {
				r := activities.CreateInvoiceResult{Client: c, ID: "inv-" + c}
				switch c {
				case "b":
					r = activities.CreateInvoiceResult{Client: c, Skipped: "nothing to invoice"}
				case "d":
					r.Conflict = "client d has invoice INV-1 issued"
				case "f", "g": // periods not ended: g's ends first
					r = activities.CreateInvoiceResult{Client: c, Open: "not ended", Ends: ends}
					if c == "g" {
						r.Ends = ends.Add(-time.Hour)
					}
				}
				res.Invoices = append(res.Invoices, r)
			}
			return res, nil
		})
	var rendered []string
	env.OnActivity(a.RenderInvoices, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RenderInvoicesInput) (activities.RenderInvoicesResult, error) {
			rendered = append(rendered, in.IDs...)
			return activities.RenderInvoicesResult{}, nil
		})
	env.ExecuteWorkflow(InvoiceRun, InvoiceRunInput{Period: "2026-10", Issue: true, BatchSize: 2})
	require.NoError(t, env.GetWorkflowError())
	var p InvoiceRunProgress
	require.NoError(t, env.GetWorkflowResult(&p))
	require.Equal(t, InvoiceRunProgress{Clients: 7, Invoiced: 3, Skipped: 1, Conflicts: []string{"client d has invoice INV-1 issued"}, ConflictCount: 1,
		Open: 2, NextEnd: ends.Add(-time.Hour)}, p)
	slices.SortFunc(batches, func(x, y []string) int { return slices.Compare(x, y) })
	require.Equal(t, [][]string{{"a", "b"}, {"c", "d"}, {"e", "f"}, {"g"}}, batches)
	slices.Sort(rendered)
	require.Equal(t, []string{"inv-a", "inv-c", "inv-e"}, rendered)
}

func TestARunStartedBeforeRangesGoesInTwoBatchesAndContinuesAsNewAfterItsLastClient(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnGetVersion("invoice-batches-by-range", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	page := make([]string, invoiceRunLargePage)
	for i := range page {
		page[i] = fmt.Sprintf("c%04d", i)
	}
	env.OnActivity(a.ClientsToInvoice, mock.Anything, mock.Anything).Return(page, nil).Once()
	var sizes []int
	env.OnActivity(a.CreateInvoices, mock.Anything, mock.Anything).Return(skipEveryClient(&sizes))
	env.ExecuteWorkflow(InvoiceRun, InvoiceRunInput{Period: "2026-10"})
	next := continuedAs(t, env.GetWorkflowError())
	require.Equal(t, page[len(page)-1], next.After)
	// A batch reads the month's calls whatever its size: the page goes in
	// as many batches as run at once.
	require.Equal(t, []int{invoiceRunLargePage / invoiceBatchesAtOnce, invoiceRunLargePage / invoiceBatchesAtOnce}, sizes)
	require.Equal(t, invoiceRunLargePage, next.Progress.Skipped)
	require.False(t, next.Now.IsZero(), "the run's day is carried over")
}

func TestARunStartedWithPagesOf1000KeepsThemAfterAnUpgrade(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnGetVersion("invoice-run-pages-of-4000", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnActivity(a.ClientRanges, mock.Anything, activities.ClientRangesInput{Limit: invoiceRunPage, Parts: invoiceBatchesAtOnce,
		MinSize: DefaultInvoiceBatch}).Return(activities.ClientRangesResult{Full: true, Ranges: []activities.ClientRange{{Last: "c0999", Count: 1000}}}, nil).Once()
	env.OnActivity(a.InvoiceRange, mock.Anything, mock.Anything).Return(activities.InvoiceRangeResult{Clients: 1000, Skipped: 1000}, nil)
	env.ExecuteWorkflow(InvoiceRun, InvoiceRunInput{Period: "2026-10"})
	err := env.GetWorkflowError()
	// A full page of 1,000 is not mistaken for the last one.
	require.True(t, workflow.IsContinueAsNewError(err), "err = %v", err)
}

// skipEveryClient is a CreateInvoices that finds nothing to invoice for any
// client of its batch, recording each batch's size in sizes (when not nil).
func skipEveryClient(sizes *[]int) func(context.Context, activities.CreateInvoicesInput) (activities.CreateInvoicesResult, error) {
	return func(_ context.Context, in activities.CreateInvoicesInput) (activities.CreateInvoicesResult, error) {
		if sizes != nil {
			*sizes = append(*sizes, len(in.Clients))
		}
		var res activities.CreateInvoicesResult
		for _, c := range in.Clients {
			res.Invoices = append(res.Invoices, activities.CreateInvoiceResult{Client: c, Skipped: "nothing"})
		}
		return res, nil
	}
}

// continuedAs is the input an invoice run continued as new with.
func continuedAs(t *testing.T, err error) InvoiceRunInput {
	t.Helper()
	require.True(t, workflow.IsContinueAsNewError(err), "err = %v", err)
	var next InvoiceRunInput
	var cont *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &cont)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next))
	return next
}
