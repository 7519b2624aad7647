package workflows

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/billrun/billrun/activities"
)

func TestInvoiceCreatesThenRendersAndReturnsTheDocuments(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.CreateInvoice, mock.Anything, mock.MatchedBy(func(in activities.CreateInvoiceInput) bool {
		return in.Client == "acme" && in.Period == "2026-10" && in.Issue && !in.Now.IsZero()
	})).Return(activities.CreateInvoiceResult{ID: "inv-1", Number: "INV-2026-000001"}, nil).Once()
	docs := map[string]string{"pdf": "s3://b/invoices/acme/2026-10/inv-1.pdf"}
	env.OnActivity(a.RenderInvoice, mock.Anything, activities.RenderInvoiceInput{ID: "inv-1"}).Return(docs, nil).Once()
	env.ExecuteWorkflow(Invoice, InvoiceInput{Client: "acme", Period: "2026-10", Issue: true})
	require.NoError(t, env.GetWorkflowError())
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, InvoiceResult{ID: "inv-1", Number: "INV-2026-000001", Documents: docs}, res)
	env.AssertExpectations(t)
}

// TestADraftWhoseCallsChangedBeforeItsDocumentsIsComputedAgain: issue 12's
// second finding. A rerate between computing a draft and writing its
// documents made them contradict its lines; the render refuses
// (CallsChanged) and the draft is computed again, then rendered.
func TestADraftWhoseCallsChangedBeforeItsDocumentsIsComputedAgain(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.CreateInvoice, mock.Anything, mock.Anything).Return(activities.CreateInvoiceResult{ID: "inv-1"}, nil).Twice()
	changed := temporal.NewNonRetryableApplicationError("invoice inv-1: its calls changed since it was computed", activities.ErrCallsChanged, nil)
	env.OnActivity(a.RenderInvoice, mock.Anything, activities.RenderInvoiceInput{ID: "inv-1"}).Return(nil, changed).Once()
	docs := map[string]string{"pdf": "s3://b/invoices/acme/2026-10/inv-1.pdf"}
	env.OnActivity(a.RenderInvoice, mock.Anything, activities.RenderInvoiceInput{ID: "inv-1"}).Return(docs, nil).Once()
	env.ExecuteWorkflow(Invoice, InvoiceInput{Client: "acme", Period: "2026-10"})
	require.NoError(t, env.GetWorkflowError())
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, docs, res.Documents)
	env.AssertExpectations(t)
}

func TestAnInvoiceWithNothingToBillRendersNothing(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.CreateInvoice, mock.Anything, mock.Anything).Return(activities.CreateInvoiceResult{Skipped: "nothing to invoice"}, nil)
	env.ExecuteWorkflow(Invoice, InvoiceInput{Client: "acme", Period: "2026-10"})
	require.NoError(t, env.GetWorkflowError())
	var res InvoiceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "nothing to invoice", res.Skipped)
}

func TestInvoiceStateChangesTheInvoiceOnTheRunsDateThenRendersItAgain(t *testing.T) {
	for _, void := range []bool{false, true} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		var a *activities.Activities
		env.RegisterActivity(a)
		start := env.Now()
		env.OnActivity(a.ChangeInvoice, mock.Anything, mock.MatchedBy(func(in activities.ChangeInvoiceInput) bool {
			return in.ID == "INV-2026-000007" && in.Void == void && in.At.Equal(start)
		})).Return("inv-7", nil).Once()
		docs := map[string]string{"pdf": "s3://b/invoices/acme/2026-10/inv-7.pdf"}
		env.OnActivity(a.RenderInvoice, mock.Anything, activities.RenderInvoiceInput{ID: "inv-7"}).Return(docs, nil).Once()
		env.ExecuteWorkflow(InvoiceState, InvoiceStateInput{Invoice: "INV-2026-000007", Void: void})
		require.NoError(t, env.GetWorkflowError())
		var res InvoiceStateResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, InvoiceStateResult{ID: "inv-7", Documents: docs}, res)
		env.AssertExpectations(t)
	}
}

func TestIssuingAndVoidingAnInvoiceAreTwoRuns(t *testing.T) {
	issue, void := InvoiceStateWorkflowID(InvoiceStateInput{Invoice: "x"}), InvoiceStateWorkflowID(InvoiceStateInput{Invoice: "x", Void: true})
	require.NotEqual(t, issue, void)
	require.Equal(t, issue, InvoiceStateWorkflowID(InvoiceStateInput{Invoice: "x"}), "asking twice joins the run")
}

func TestAnInvoiceStateOfAnUnknownInvoiceFailsWithoutRendering(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ChangeInvoice, mock.Anything, mock.Anything).
		Return("", temporal.NewNonRetryableApplicationError("no such invoice: nope", activities.ErrInvoiceNotFound, nil)).Once()
	env.ExecuteWorkflow(InvoiceState, InvoiceStateInput{Invoice: "nope"})
	require.Error(t, env.GetWorkflowError())
	env.AssertNotCalled(t, "RenderInvoice", mock.Anything, mock.Anything)
	env.AssertExpectations(t)
}
