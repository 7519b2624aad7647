package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/rerate"
)

// Rerate workflow contract.
const (
	// RerateProgressQuery returns a RerateProgress.
	RerateProgressQuery = "progress"
	// DefaultRerateConcurrency is how many days are rerated at once.
	DefaultRerateConcurrency = 2
)

// RerateInput selects the calls to rerate (billing-rules §4).
type RerateInput struct {
	From, To    time.Time // [From, To)
	Client      string    // "" for every client
	Match       rerate.Match
	Concurrency int // days at once; 0 is DefaultRerateConcurrency
}

// RerateProgress is the run's progress.
type RerateProgress struct {
	Days, DaysDone    int
	Examined, Changed int64
}

// RerateResult is what the run changed: its counts, and the months of the
// issued invoices whose calls changed. The cost differences by client and
// the adjustments due, which grow with the clients, are kept with the run in
// PostgreSQL (billing's RerateChanges, billctl rerate show), where the days
// that committed recorded them whatever became of the run.
type RerateResult struct {
	Days int
	rerate.Summary
}

// RerateWorkflowID names a rerate run by its selection and start: a second
// start of the same selection while one runs is the same run.
func RerateWorkflowID(in RerateInput, at time.Time) string {
	client := in.Client
	if client == "" {
		client = "all"
	}
	return fmt.Sprintf("rerate-%s-%s-%s-%s-%s", in.From.UTC().Format("20060102T150405"), in.To.UTC().Format("20060102T150405"),
		client, in.Match, at.UTC().Format("20060102T150405"))
}

// Days splits [from, to) at UTC midnights: one transaction a day keeps each
// short and lets days be rerated side by side.
func Days(from, to time.Time) [][2]time.Time {
	var out [][2]time.Time
	for s := from; s.Before(to); {
		e := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
		if e.After(to) {
			e = to
		}
		out = append(out, [2]time.Time{s, e})
		s = e
	}
	return out
}

// Rerate recomputes account match, rate and cost for the selected calls, a
// day at a time, a bounded number of days at once. Each day is one atomic
// activity; the run's figures are recorded, and a run over an overlapping
// period is refused while this one runs.
func Rerate(ctx workflow.Context, in RerateInput) (RerateResult, error) {
	if in.Concurrency <= 0 {
		in.Concurrency = DefaultRerateConcurrency
	}
	if in.Match == "" {
		in.Match = rerate.All
	}
	days := Days(in.From.UTC(), in.To.UTC())
	p := RerateProgress{Days: len(days)}
	if err := workflow.SetQueryHandler(ctx, RerateProgressQuery, func() (RerateProgress, error) { return p, nil }); err != nil {
		return RerateResult{}, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindRerate), PeriodsAttr.ValueSet(period.Strings(period.Between(in.From, in.To))))
	if in.Client != "" {
		_ = workflow.UpsertTypedSearchAttributes(ctx, ClientAttr.ValueSet(in.Client))
	}

	var a *activities.Activities
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: activities.Beat,
		RetryPolicy: retrying(0, activities.ErrRerateRunning)})
	runID := workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.ExecuteActivity(short, a.BeginRerate, activities.BeginRerateInput{RunID: runID, From: in.From, To: in.To,
		Client: in.Client, Match: in.Match}).Get(ctx, nil); err != nil {
		return RerateResult{}, err
	}

	dayCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: activities.Beat,
		RetryPolicy: retrying(10)})
	// Runs started before the days' differences were kept in PostgreSQL
	// carry them in their results to the end.
	kept := ""
	if workflow.GetVersion(ctx, "rerate-changes-kept", workflow.DefaultVersion, 1) == 1 {
		kept = runID
	}
	var tally rerate.Tally
	var failure error
	sel := workflow.NewSelector(ctx)
	running := 0
	for _, day := range days {
		for running >= in.Concurrency {
			sel.Select(ctx)
		}
		if failure != nil {
			break
		}
		fut := workflow.ExecuteActivity(summarized(dayCtx, "day "+day[0].UTC().Format(time.DateOnly)), a.RerateDay, activities.RerateDayInput{From: day[0], To: day[1], Client: in.Client, Match: in.Match, RunID: kept})
		running++
		sel.AddFuture(fut, func(f workflow.Future) {
			running--
			var s rerate.Summary
			if err := f.Get(ctx, &s); err != nil {
				if failure == nil {
					failure = err
				}
				return
			}
			tally.Merge(s)
			p.DaysDone++
			p.Examined, p.Changed = tally.Examined, tally.Changed
		})
	}
	for running > 0 {
		sel.Select(ctx)
	}
	// Record the end even when cancelled, so that the period is free again.
	endCtx, cancel := workflow.NewDisconnectedContext(short)
	defer cancel()
	if failure != nil {
		_ = workflow.ExecuteActivity(endCtx, a.EndRerate, activities.EndRerateInput{RunID: runID}).Get(endCtx, nil)
		return RerateResult{}, failure
	}
	// Summary ranges over maps but sorts what it builds from them.
	res := RerateResult{Days: len(days), Summary: tally.Summary()} //workflowcheck:ignore
	if err := workflow.ExecuteActivity(endCtx, a.EndRerate, activities.EndRerateInput{RunID: runID, Result: &res.Summary}).Get(endCtx, nil); err != nil {
		return res, err
	}
	return res, nil
}
