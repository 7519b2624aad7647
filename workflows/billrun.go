package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/internal/rerate"
)

// Bill run workflow contract.
const (
	// BillRunStatusQuery returns a BillRunStatus.
	BillRunStatusQuery = "status"
	// BillRunResolveUpdate resolves a run that waits with a BillRunResolve
	// and returns its BillRunStatus once the run has moved on; it is
	// refused, with the reason, for an unknown action or a run that does
	// not wait.
	BillRunResolveUpdate = "resolve"
	// BillRunResolveSignal carries a BillRunResolve to a run that waits:
	// the update's older form, still accepted, never answered.
	BillRunResolveSignal = "resolve"

	// ErrBadPeriod ends a run asked for a period that is not YYYY-MM.
	ErrBadPeriod = "BadPeriod"
)

// Phase is where a bill run is.
type Phase string

// Phases of a bill run, in order; waiting may come back after rerating.
const (
	PhaseIngesting Phase = "ingesting"
	PhaseChecking  Phase = "checking"
	PhaseWaiting   Phase = "waiting"
	PhaseRerating  Phase = "rerating"
	PhaseInvoicing Phase = "invoicing"
	PhaseScheduled Phase = "scheduled" // waits for the next client's period to end
	PhaseDone      Phase = "done"
)

// Phases lists every phase, in order.
var Phases = []Phase{PhaseIngesting, PhaseChecking, PhaseWaiting, PhaseRerating, PhaseInvoicing, PhaseScheduled, PhaseDone}

// Resolution tells a waiting bill run how to go on.
type Resolution string

// Resolutions of a waiting run.
const (
	ResolveRerate Resolution = "rerate" // rerate the period's mismatched calls, then check again
	ResolveAccept Resolution = "accept" // invoice as things stand: mismatched calls are not billed
)

// BillRunWorkflowID names the bill run of a month: one at a time per month.
func BillRunWorkflowID(month period.Month) string { return KindBillRun + "-" + string(month) }

// BillRunInput starts the bill run of a month.
type BillRunInput struct {
	Period   period.Month
	Issue    bool   // issue the invoices; drafts otherwise
	Template string // "" for each client's
	// CDRTimeZone is the zone of naive timestamps in asterisk and freeswitch
	// files the run ingests ("" is UTC), as IngestInput.TimeZone.
	CDRTimeZone string
	// StartedBy is who started the run, for its audit record.
	StartedBy string
	// LateFiles is how long after each client's period ends the run waits
	// before invoicing it, for CDR files that arrive late (each wave
	// ingests the inbox first); 0 invoices right at the end.
	LateFiles time.Duration
}

// BillRunResolve tells a waiting run how to go on: ResolveRerate or
// ResolveAccept; Actor is who did (billctl's --actor or OS user), for the
// audit record.
type BillRunResolve struct {
	Action Resolution
	Actor  string
}

// BillRunStatus is the run's state, and its result.
type BillRunStatus struct {
	Period period.Month
	Phase  Phase
	// From and To are the span of the clients' periods that the run checks
	// and rerates.
	From, To time.Time
	Ingest   IngestProgress
	// The last readiness check: counts, and the first findings, errors first.
	readiness.Digest
	Reratings     []RerateResult
	RerateFailure string // why the last rerate asked for did not run
	Accepted      bool   // invoiced despite findings, as asked
	// Invoices sums the waves; Waves are the invoice runs, one each time
	// clients' periods have ended; NextWave is when the next one starts.
	Invoices InvoiceRunProgress
	Waves    []Wave
	NextWave time.Time
	// NotesMade counts the draft notes the last rerate's adjust made (or
	// made again) for issued invoices whose calls the run's rerates changed;
	// NotesBy names every note of the run in PostgreSQL (billing's
	// NotesMadeBy). Runs started before notes were named list them in Notes.
	NotesMade int
	NotesBy   string
	Notes     []activities.Adjusted
	// Accounted is every call of the period by currency and reason
	// (billing-rules §7), after the last wave: what was invoiced, and what
	// was left unbilled and why (report reconcile has it by client).
	Accounted []report.ReconcileRow
}

// Wave is one invoice run of a bill run: the clients whose periods had
// ended by its start and not by the wave before.
type Wave struct {
	Started  time.Time
	Invoices InvoiceRunProgress
}

// blocked reports whether the checks stop the run until it is resolved:
// any error, or calls that the invoices would miss.
func (s *BillRunStatus) blocked() bool { return s.Errors > 0 || s.Mismatched }

// BillRun is the month-end bill run (docs/billing-rules.md §6, §7): ingest
// the inbox, check readiness (billing-rules §6) over every client's period,
// and when a check finds an error or mismatched calls, wait for finance to
// fix master data and resolve the run (rerate the mismatched calls and check
// again, or accept); then invoice every client with autoinvoice whose period
// has ended. Clients whose periods end later are invoiced in later waves of
// the same run: it sleeps (a durable timer, phase scheduled) until the next
// period ends, then ingests, checks and invoices again. Each step is a child
// workflow or activity that is safe to run again.
func BillRun(ctx workflow.Context, in BillRunInput) (BillRunStatus, error) {
	st := BillRunStatus{Period: in.Period, Phase: PhaseIngesting}
	if _, err := period.Parse(string(in.Period)); err != nil {
		return st, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadPeriod, nil)
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindBillRun), PeriodAttr.ValueSet(string(in.Period)))
	if err := workflow.SetQueryHandler(ctx, BillRunStatusQuery, func() (BillRunStatus, error) { return st, nil }); err != nil {
		return st, err
	}
	self := workflow.GetInfo(ctx).WorkflowExecution
	// Runs started before the phase was a search attribute upsert none.
	phased := workflow.GetVersion(ctx, "phase-search-attribute", workflow.DefaultVersion, 1) == 1
	waiting := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"period": string(in.Period)}).Gauge("billrun_bill_run_waiting")
	setPhase := func(p Phase) {
		st.Phase = p
		if phased {
			_ = workflow.UpsertTypedSearchAttributes(ctx, PhaseAttr.ValueSet(string(p)))
		}
		if p == PhaseWaiting { // 1 while the month's run waits for finance
			waiting.Update(1)
		} else {
			waiting.Update(0)
		}
		workflow.SetCurrentDetails(ctx, currentDetails(self.ID, &st))
	}
	resolutions := newResolutions(ctx, &st)
	if err := resolutions.register(ctx); err != nil {
		return st, err
	}
	// Runs started before the audit record was kept record none.
	audited := workflow.GetVersion(ctx, "audit-record", workflow.DefaultVersion, 1) == 1
	var a *activities.Activities
	record := func(finished bool) {
		if !audited {
			return
		}
		rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second,
			ScheduleToCloseTimeout: 10 * time.Minute, RetryPolicy: retrying(0), Summary: "audit record, " + string(st.Phase)})
		err := workflow.ExecuteActivity(rctx, a.RecordBillRun, activities.RecordBillRunInput{RunID: self.RunID, WorkflowID: self.ID,
			Period: in.Period, StartedBy: in.StartedBy, StartedAt: workflow.GetInfo(ctx).WorkflowStartTime, Phase: string(st.Phase),
			Options: in, Status: st, Resolutions: resolutions.log, Finished: finished}).Get(ctx, nil)
		if err != nil { // the run goes on; the history still has it all
			workflow.GetLogger(ctx).Error("the bill run's audit record was not written", "error", err)
		}
	}
	resolutions.record = func() { record(false) }
	child := func(suffix string) workflow.Context {
		return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: self.ID + "-" + suffix + "-" + self.RunID[:8],
			// Cancelling the bill run cancels the step it is in.
			ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		})
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: activities.Beat,
		RetryPolicy: retrying(0)})

	var span activities.Span
	if err := workflow.ExecuteActivity(actx, a.PeriodSpan, in.Period).Get(ctx, &span); err != nil {
		return st, err
	}
	st.From, st.To = span.From, span.To
	record(false)

	// Each wave invoices the clients whose periods have ended since the
	// wave before; the run sleeps until the next period ends.
	var endedAfter time.Time
	for wave := 1; ; wave++ {
		name := func(step string) string {
			if wave == 1 {
				return step
			}
			return fmt.Sprintf("%s-%d", step, wave)
		}
		setPhase(PhaseIngesting)
		// A file that fails shows up below as a readiness error, with its reason.
		err := workflow.ExecuteChildWorkflow(child(name("ingest")), Ingest, IngestInput{TimeZone: in.CDRTimeZone}).Get(ctx, &st.Ingest)
		if err != nil && !isApplicationError(err, ErrFilesFailed) {
			return st, err
		}
		if err := checkUntilResolved(ctx, actx, in, &st, setPhase, resolutions); err != nil {
			return st, err
		}
		setPhase(PhaseInvoicing)
		now := workflow.Now(ctx)
		var p InvoiceRunProgress
		err = workflow.ExecuteChildWorkflow(child(name("invoices")), InvoiceRun,
			InvoiceRunInput{Period: in.Period, Template: in.Template, Issue: in.Issue, Now: now, EndedAfter: endedAfter, LateFiles: in.LateFiles}).Get(ctx, &p)
		if err != nil {
			return st, err
		}
		st.Waves = append(st.Waves, Wave{Started: now, Invoices: p})
		st.Invoices = sumWaves(st.Waves)
		if err := workflow.ExecuteActivity(actx, a.ReconcileTotals, in.Period).Get(ctx, &st.Accounted); err != nil {
			return st, err
		}
		if p.Open == 0 {
			break
		}
		endedAfter = now
		st.NextWave = p.NextEnd
		setPhase(PhaseScheduled)
		if err := workflow.Sleep(ctx, p.NextEnd.Sub(workflow.Now(ctx))); err != nil {
			return st, err
		}
		st.NextWave = time.Time{}
	}
	setPhase(PhaseDone)
	record(true)
	// Resolutions accepted as the run moved on are answered before it ends.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return st, nil
}

// checkUntilResolved checks readiness; while a check blocks, it waits for
// finance to resolve the run: a rerate (then it checks again) or accept.
func checkUntilResolved(ctx, actx workflow.Context, in BillRunInput, st *BillRunStatus, setPhase func(Phase), res *resolutions) error {
	var a *activities.Activities
	partial := false // a rerate failed part way since the last notes were made
	for {
		setPhase(PhaseChecking)
		// Decoded afresh: into st.Digest, a category the last check found
		// and this one does not would stay in its map.
		var d readiness.Digest
		if err := workflow.ExecuteActivity(summarized(actx, "readiness of "+string(in.Period)), a.ReadinessDigest, activities.ReadinessInput{Period: in.Period}).Get(ctx, &d); err != nil {
			return err
		}
		st.Digest = d
		if !st.blocked() {
			return nil
		}
		setPhase(PhaseWaiting)
		res.record()
		action, err := res.await(ctx)
		if err != nil { // cancelled while it waited: nothing was accepted
			return err
		}
		if action == ResolveAccept {
			st.Accepted = true
			return nil
		}
		setPhase(PhaseRerating)
		st.RerateFailure = ""
		rin := RerateInput{From: st.From, To: st.To, Match: rerate.MismatchedOrStale}
		rid := RerateWorkflowID(rin, workflow.Now(ctx))
		rctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: rid, ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL})
		var rr RerateResult
		if err := workflow.ExecuteChildWorkflow(rctx, Rerate, rin).Get(ctx, &rr); err != nil {
			// The run waits again, saying what happened: another rerate held
			// the period (nothing ran), or this one failed part way, the
			// days it finished rewritten and their differences kept.
			if isApplicationError(err, activities.ErrRerateRunning) {
				st.RerateFailure = "it did not run: " + Reason(err)
			} else {
				partial = true
				st.RerateFailure = fmt.Sprintf("rerate %s failed part way: %s; the days it finished are rerated and their differences kept "+
					"(billctl rerate show %s); resolve with --rerate again to finish it", rid, Reason(err), rid)
			}
			continue
		}
		st.Reratings = append(st.Reratings, rr)
		months := rr.Months
		if partial { // a rerate cut short changed calls the months' notes must catch
			months = period.Strings(period.Between(st.From, st.To))
		}
		if err := adjustIssued(ctx, rr, months, st); err != nil {
			return err
		}
		partial = false
	}
}

// adjustIssued makes, as drafts, the notes of the issued invoices whose
// calls a rerate of the run changed (billing-rules §7): of every client of
// each month in months, a month at a time, named by the run in PostgreSQL
// and counted in its status. (Runs started before notes were named adjust a
// client at a time and list the notes in the status.)
func adjustIssued(ctx workflow.Context, res RerateResult, months []string, st *BillRunStatus) error {
	if workflow.GetVersion(ctx, "notes-by-month", workflow.DefaultVersion, 1) == 1 {
		self := workflow.GetInfo(ctx).WorkflowExecution
		st.NotesBy, st.NotesMade = self.ID+"@"+self.RunID, 0
		for _, m := range months {
			in := AdjustInput{Period: period.Month(m), MadeBy: st.NotesBy}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				// The whole run ID: time-ordered IDs share their first characters.
				WorkflowID:        AdjustWorkflowID(in) + "-" + self.RunID + "-" + strconv.Itoa(len(st.Reratings)),
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			})
			var made AdjustResult
			if err := workflow.ExecuteChildWorkflow(cctx, Adjust, in).Get(ctx, &made); err != nil {
				return err
			}
			st.NotesMade += made.Made
		}
		return nil
	}
	var todo []AdjustInput
	seen := map[AdjustInput]bool{}
	for _, a := range res.Adjustments {
		in := AdjustInput{Period: period.Month(a.Invoice.Period), Client: a.Invoice.Client}
		if !seen[in] {
			seen[in] = true
			todo = append(todo, in)
		}
	}
	for _, in := range todo {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        AdjustWorkflowID(in) + "-" + workflow.GetInfo(ctx).WorkflowExecution.RunID[:8] + "-" + strconv.Itoa(len(st.Reratings)),
			ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		})
		var made AdjustResult
		if err := workflow.ExecuteChildWorkflow(cctx, Adjust, in).Get(ctx, &made); err != nil {
			return err
		}
		for _, n := range made.Notes {
			if n.NoteID != "" {
				st.Notes = append(st.Notes, n)
			}
		}
	}
	return nil
}

// sumWaves is what the waves invoiced together; the clients not ended are
// the last wave's.
func sumWaves(waves []Wave) InvoiceRunProgress {
	var sum InvoiceRunProgress
	for _, w := range waves {
		p := w.Invoices
		sum.Invoiced += p.Invoiced
		sum.Skipped += p.Skipped
		sum.ConflictCount += p.ConflictCount
		sum.Conflicts = append(sum.Conflicts, p.Conflicts[:min(len(p.Conflicts), maxConflictsKept-len(sum.Conflicts))]...)
	}
	last := waves[len(waves)-1].Invoices
	sum.Clients, sum.Open, sum.NextEnd = last.Clients, last.Open, last.NextEnd
	return sum
}

// resolutions are finance's answers to a waiting run: updates (validated,
// answered with the status once the run has moved on) and, from older
// callers, signals (an unknown action is logged and ignored).
type resolutions struct {
	st      *BillRunStatus
	pending []BillRunResolve
	// log is every resolution taken, for the audit record, which record
	// writes.
	log     []report.Resolution
	record  func()
	signals workflow.ReceiveChannel
	// moved counts the waits left: an update returns once the run has
	// left the wait it resolved.
	moved int
}

func newResolutions(ctx workflow.Context, st *BillRunStatus) *resolutions {
	return &resolutions{st: st, signals: workflow.GetSignalChannel(ctx, BillRunResolveSignal)}
}

func (r *resolutions) register(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, BillRunResolveUpdate,
		func(ctx workflow.Context, in BillRunResolve) (BillRunStatus, error) {
			if len(r.pending) == 0 { // a second caller of the same resolution joins the first
				r.pending = append(r.pending, in)
			}
			wait := r.moved
			// The run takes the resolution, then leaves the wait.
			if err := workflow.Await(ctx, func() bool { return r.moved > wait && r.st.Phase != PhaseWaiting }); err != nil {
				return *r.st, err
			}
			return *r.st, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in BillRunResolve) error {
			if in.Action != ResolveAccept && in.Action != ResolveRerate {
				return fmt.Errorf("unknown resolution %q: want %s or %s", in.Action, ResolveRerate, ResolveAccept)
			}
			if len(r.pending) > 0 && r.pending[0].Action != in.Action {
				return fmt.Errorf("bill run of %s is being resolved with %s already", r.st.Period, r.pending[0].Action)
			}
			if r.st.Phase != PhaseWaiting {
				return fmt.Errorf("bill run of %s is %s, not waiting to be resolved", r.st.Period, r.st.Phase)
			}
			return nil
		}})
}

// await waits for a known resolution, by update or by signal; it fails
// only when the run is cancelled.
func (r *resolutions) await(ctx workflow.Context) (Resolution, error) {
	defer func() { r.moved++ }()
	for {
		var sig BillRunResolve
		if err := workflow.Await(ctx, func() bool { return len(r.pending) > 0 || r.signals.Len() > 0 }); err != nil {
			return "", err
		}
		if len(r.pending) > 0 {
			in := r.pending[0]
			r.pending = r.pending[1:]
			r.took(ctx, in)
			return in.Action, nil
		}
		r.signals.Receive(ctx, &sig)
		if sig.Action == ResolveAccept || sig.Action == ResolveRerate {
			r.took(ctx, sig)
			return sig.Action, nil
		}
		workflow.GetLogger(ctx).Warn("unknown resolution ignored", "action", sig.Action)
	}
}

// took logs a resolution taken, with the findings it answered, and
// records the run.
func (r *resolutions) took(ctx workflow.Context, in BillRunResolve) {
	res := report.Resolution{Action: string(in.Action), Actor: in.Actor, At: workflow.Now(ctx), Errors: r.st.Errors,
		Warnings: r.st.Warnings, Mismatched: r.st.Mismatched}
	for _, f := range r.st.Findings {
		res.Findings = append(res.Findings, fmt.Sprintf("%s %s %s: %s", f.Severity, f.Client, f.Check, f.Message))
	}
	r.log = append(r.log, res)
	if r.record != nil {
		r.record()
	}
}

// currentDetails is what the Temporal UI shows of a run as it is: its
// phase, and when it waits, why and the command that resolves it.
func currentDetails(id string, st *BillRunStatus) string {
	if st.Phase != PhaseWaiting {
		return fmt.Sprintf("Bill run of %s: **%s**.", st.Period, st.Phase)
	}
	why := []string{}
	if st.Errors > 0 {
		why = append(why, fmt.Sprintf("%d readiness error(s)", st.Errors))
	}
	if st.Mismatched {
		why = append(why, "mismatched or stale calls")
	}
	// Sprintf, not Fprintf: workflowcheck takes a writer for I/O.
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Bill run of %s: **waiting for finance**: %s (%d warning(s)).\n\n", st.Period, strings.Join(why, " and "), st.Warnings))
	for i, f := range st.Findings {
		if i == 5 {
			b.WriteString(fmt.Sprintf("- and %d more: `billctl check readiness --period %s`\n", len(st.Findings)-5, st.Period))
			break
		}
		b.WriteString(fmt.Sprintf("- %s %s: %s\n", f.Severity, f.Check, f.Message))
	}
	b.WriteString(fmt.Sprintf("\nFix master data, then `billctl run resolve %s --rerate`; or `billctl run resolve %s --accept` to invoice as things stand.", id, id))
	return b.String()
}

func isApplicationError(err error, kind string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == kind
}

// ScheduledBillRunInput is what a schedule's action carries: the bill
// run's options. The month billed is the one before the action's nominal
// time (the schedule's, not the moment a late or caught-up action ran) in
// TimeZone.
type ScheduledBillRunInput struct {
	TimeZone  string // IANA; "" is UTC
	Issue     bool
	Template  string
	LateFiles time.Duration // BillRunInput.LateFiles
}

// ScheduledBillRun starts, under its usual ID, the bill run of the month
// before now in in.TimeZone, and returns that ID: scheduled and manual runs
// of a month are the same run, found and resolved the same way. The bill run
// goes on after this workflow ends; one already running is left alone.
func ScheduledBillRun(ctx workflow.Context, in ScheduledBillRunInput) (string, error) {
	var month period.Month
	// Reading the zone database is I/O: done once, recorded in the history.
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		loc, err := time.LoadLocation(in.TimeZone)
		if err != nil {
			return period.Month("")
		}
		return period.Of(scheduledTime(ctx).In(loc)).Prev()
	}).Get(&month)
	if err != nil {
		return "", err
	}
	if month == "" {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("time zone %q is unknown", in.TimeZone), ErrBadPeriod, nil)
	}
	id := BillRunWorkflowID(month)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id,
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(KindAttr.ValueSet(KindBillRun), PeriodAttr.ValueSet(string(month))),
	})
	run := workflow.ExecuteChildWorkflow(cctx, BillRun, BillRunInput{Period: month, Issue: in.Issue, Template: in.Template,
		StartedBy: workflow.GetInfo(ctx).WorkflowExecution.ID, LateFiles: in.LateFiles})
	if err := run.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if errors.As(err, &started) {
			workflow.GetLogger(ctx).Info("the month's bill run already runs", "id", id)
			return id, nil
		}
		return "", err
	}
	return id, nil
}

// scheduledStartTime is the search attribute a schedule sets on the
// workflows it starts: the action's nominal time.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// scheduledTime is the nominal time of the schedule action that started
// the workflow; now for one started otherwise. A schedule set to midnight
// whose action runs a second early, or a day late after an outage, bills
// the month its time says.
func scheduledTime(ctx workflow.Context) time.Time {
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok {
		return t
	}
	return workflow.Now(ctx)
}
