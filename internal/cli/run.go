package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/workflows"
)

func (a *app) runCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "Bill runs: the month end from ingestion to invoices"}
	cmd.AddCommand(a.runBillCmd(), a.runResolveCmd(), a.runStatusCmd(), a.runListCmd())
	return cmd
}

func (a *app) runBillCmd() *cobra.Command {
	var monthFlag, state, template, tz string
	var wait bool
	var lateFiles time.Duration
	cmd := &cobra.Command{
		Use: "bill --period YYYY-MM [--state draft|issued] [--template NAME] [--tz ZONE] [--late-files DURATION] [--wait]",
		Example: `  billctl run bill --period 2026-10 --wait                  # exits 3 when it waits for finance
  billctl run bill --period 2026-10 --state issued --wait   # number the invoices too`,
		Short: "Start (or join) the month's bill run: ingest → readiness and mismatches → rerate → invoices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			month, err := parseMonth(monthFlag)
			if err != nil {
				return err
			}
			if err := checkInvoiceFlags(state, template); err != nil {
				return err
			}
			if _, err := time.LoadLocation(tz); err != nil {
				return fmt.Errorf("--tz %q: %w", tz, err)
			}
			if err := checkLateFiles(lateFiles); err != nil {
				return err
			}
			c, err := a.workflows(ctx)
			if err != nil {
				return err
			}
			run, err := workflows.StartBillRun(ctx, c, workflows.BillRunInput{Period: month, Issue: state == "issued", Template: template,
				CDRTimeZone: tz, LateFiles: lateFiles})
			if err != nil {
				return fmt.Errorf("start bill run: %w", err)
			}
			if !wait {
				fmt.Fprintf(a.err, "bill run %s started%s\n", run.GetID(), a.uiLink(run.GetID()))
				return a.printRun(run.GetID())
			}
			if err := a.awaitWorker(ctx, c); err != nil {
				return err
			}
			fmt.Fprintf(a.err, "bill run %s%s\n", run.GetID(), a.uiLink(run.GetID()))
			return a.followBillRun(ctx, c, run.GetID(), false)
		},
	}
	cmd.Flags().StringVar(&monthFlag, "period", "", "month, YYYY-MM (required)")
	cmd.Flags().StringVar(&state, "state", "draft", "invoices as draft or issued")
	cmd.Flags().StringVar(&template, "template", "", "default or extended (default: each client's)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the run until it is done or waits to be resolved")
	cmd.Flags().StringVar(&tz, "tz", "", "time zone of naive timestamps in asterisk and freeswitch files (default UTC)")
	cmd.Flags().DurationVar(&lateFiles, "late-files", 0, "wait this long after each client's period ends before invoicing it, for CDR files that arrive late (e.g. 6h)")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

// checkLateFiles refuses a --late-files that is negative or longer than
// the month that follows the period.
func checkLateFiles(d time.Duration) error {
	if d < 0 || d > 28*24*time.Hour {
		return fmt.Errorf("--late-files %s: want 0 to 672h (28 days)", d)
	}
	return nil
}

func (a *app) runResolveCmd() *cobra.Command {
	var rerate, accept, wait bool
	cmd := &cobra.Command{
		Use: "resolve RUN_ID --rerate|--accept [--wait]",
		Example: `  billctl import accounts accounts-fix.csv && billctl run resolve bill-run-2026-10 --rerate --wait
  billctl --actor finance@carrier.example run resolve bill-run-2026-10 --accept`,
		Short: "Continue a bill run that waits on readiness errors or mismatches: rerate them after fixing master data, or accept them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if rerate == accept {
				return errors.New("give one of --rerate or --accept")
			}
			c, err := a.temporalClient(ctx)
			if err != nil {
				return err
			}
			action := workflows.ResolveAccept
			if rerate {
				action = workflows.ResolveRerate
			}
			// The run's own validator refuses a run that does not wait or
			// an unknown action: no race between a look and a signal.
			if _, err := c.DescribeWorkflowExecution(ctx, args[0], ""); err != nil {
				return fmt.Errorf("bill run %s: %w", args[0], err)
			}
			wf := workflows.Client{Client: c, TaskQueue: a.cfg.TaskQueue}
			if err := a.awaitWorker(ctx, wf); err != nil {
				return err
			}
			stage := client.WorkflowUpdateStageAccepted
			if wait {
				stage = client.WorkflowUpdateStageCompleted
			}
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: args[0], UpdateName: workflows.BillRunResolveUpdate,
				Args: []any{workflows.BillRunResolve{Action: action, Actor: a.actorName()}}, WaitForStage: stage})
			if err != nil {
				return fmt.Errorf("resolve %s: %s", args[0], workflows.Reason(err))
			}
			fmt.Fprintf(a.err, "bill run %s: %s%s\n", args[0], action, a.uiLink(args[0]))
			if !wait {
				return a.print(table{header: []string{"run", "resolution"}, rows: [][]string{{args[0], string(action)}}})
			}
			var st workflows.BillRunStatus
			if err := h.Get(ctx, &st); err != nil {
				return fmt.Errorf("resolve %s: %s", args[0], workflows.Reason(err))
			}
			return a.followBillRun(ctx, c, args[0], false)
		},
	}
	cmd.Flags().BoolVar(&rerate, "rerate", false, "rerate the period's mismatched calls with the master data as it is now, then check again")
	cmd.Flags().BoolVar(&accept, "accept", false, "invoice as things stand: mismatched calls are not billed")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the run until it is done or waits again")
	return cmd
}

func (a *app) runStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status RUN_ID",
		Short: "A bill run's phase, findings, reratings and invoices",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.temporalClient(cmd.Context())
			if err != nil {
				return err
			}
			st, err := billRunStatus(cmd.Context(), c, args[0])
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				// Past the namespace's retention: the audit record has it.
				return a.recordedBillRun(cmd.Context(), args[0], err)
			}
			if err != nil {
				return err
			}
			return a.printBillRun(args[0], st)
		},
	}
}

func (a *app) runListCmd() *cobra.Command {
	var monthFlag, phase string
	cmd := &cobra.Command{
		Use: "list [--period YYYY-MM] [--phase PHASE]",
		Example: `  billctl run list --phase waiting      # the runs finance must resolve
  billctl --format json run list --period 2026-10`,
		Short: "Bill runs, newest first, manual or scheduled (Temporal's visibility: a just-started run may take a moment); runs past Temporal's retention from their audit record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			query := workflows.KindAttr.GetName() + ` = '` + workflows.KindBillRun + `'`
			if monthFlag != "" {
				month, err := parseMonth(monthFlag)
				if err != nil {
					return err
				}
				query += ` AND ` + workflows.PeriodAttr.GetName() + ` = '` + string(month) + `'`
			}
			if phase != "" {
				if !slices.Contains(workflows.Phases, workflows.Phase(phase)) {
					return fmt.Errorf("--phase %q: want one of %s", phase, strings.Join(phaseNames(), ", "))
				}
				// A run started before the phase was a search attribute has
				// none until its next phase: its status says where it is.
				query += ` AND (` + workflows.PhaseAttr.GetName() + ` = '` + phase + `' OR ` + workflows.PhaseAttr.GetName() +
					` IS NULL) AND ExecutionStatus = 'Running'`
			}
			c, err := a.temporalClient(ctx)
			if err != nil {
				return err
			}
			t := table{header: []string{"run", "period", "status", "phase", "started", "closed"}}
			var next []byte
			for {
				resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: next})
				if err != nil {
					return fmt.Errorf("list bill runs: %w", err)
				}
				for _, e := range resp.Executions {
					var p, ph string
					if f := e.GetSearchAttributes().GetIndexedFields()[workflows.PeriodAttr.GetName()]; f != nil {
						_ = converter.GetDefaultDataConverter().FromPayload(f, &p)
					}
					if f := e.GetSearchAttributes().GetIndexedFields()[workflows.PhaseAttr.GetName()]; f != nil {
						_ = converter.GetDefaultDataConverter().FromPayload(f, &ph)
					}
					status := strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "WorkflowExecutionStatus"))
					closed := ""
					if e.GetCloseTime() != nil {
						closed = e.GetCloseTime().AsTime().UTC().Format(time.RFC3339)
					}
					if phase != "" && ph == "" {
						st, err := workflows.BillRunStatusOf(ctx, c, e.GetExecution().GetWorkflowId())
						if err != nil {
							return err
						}
						if ph = string(st.Phase); ph != phase {
							continue
						}
					}
					row := []string{e.GetExecution().GetWorkflowId(), p, status, ph, e.GetStartTime().AsTime().UTC().Format(time.RFC3339), closed}
					t.rows = append(t.rows, row)
				}
				if next = resp.NextPageToken; len(next) == 0 {
					break
				}
			}
			// Runs past the namespace's retention, from their audit record.
			if phase == "" && a.cfg.DatabaseURL != "" {
				seen := map[string]bool{}
				for _, r := range t.rows {
					seen[r[0]] = true
				}
				recs, err := a.recordedBillRuns(ctx, monthFlag)
				if err != nil { // what Temporal has is still worth listing
					fmt.Fprintf(a.err, "billctl: runs past retention not listed: %s\n", oneLine(err.Error()))
				}
				for _, r := range recs {
					if seen[r.WorkflowID] {
						continue
					}
					seen[r.WorkflowID] = true
					status := "recorded"
					if r.Finished {
						status = "completed"
					}
					row := []string{r.WorkflowID, r.Period, status, r.Phase, r.StartedAt.UTC().Format(time.RFC3339), ""}
					t.rows = append(t.rows, row)
				}
			}
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&monthFlag, "period", "", "only this month's runs")
	cmd.Flags().StringVar(&phase, "phase", "", "only running bill runs in this phase: "+strings.Join(phaseNames(), ", ")+" (waiting: those finance must resolve)")
	return cmd
}

func (a *app) recordedBillRuns(ctx context.Context, month string) ([]report.BillRun, error) {
	svc, err := a.billing(ctx)
	if err != nil {
		return nil, err
	}
	return svc.BillRuns(ctx, month, "")
}

// recordedBillRun prints a bill run from its audit record (bill_runs),
// with who started it and every resolution; notFound is Temporal's answer.
func (a *app) recordedBillRun(ctx context.Context, id string, notFound error) error {
	svc, err := a.billing(ctx)
	if err != nil {
		return err
	}
	recs, err := svc.BillRuns(ctx, "", id)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return notFound
	}
	r := recs[0]
	var st workflows.BillRunStatus
	if err := json.Unmarshal(r.Status, &st); err != nil {
		return fmt.Errorf("bill run %s: its recorded status: %w", id, err)
	}
	fmt.Fprintf(a.err, "bill run %s (run %s): from its audit record; started %s by %s\n", id, r.RunID,
		r.StartedAt.UTC().Format(time.RFC3339), or(r.StartedBy, "(unknown)"))
	for _, res := range r.Resolutions {
		fmt.Fprintf(a.err, "resolved %s by %s at %s: %d errors, %d warnings, mismatched %t\n", res.Action, or(res.Actor, "(unknown)"),
			res.At.UTC().Format(time.RFC3339), res.Errors, res.Warnings, res.Mismatched)
	}
	return a.printBillRun(id, st)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func phaseNames() []string {
	var n []string
	for _, p := range workflows.Phases {
		n = append(n, string(p))
	}
	return n
}

func billRunStatus(ctx context.Context, c client.Client, id string) (workflows.BillRunStatus, error) {
	return workflows.BillRunStatusOf(ctx, c, id)
}

// followBillRun shows the run's phase until it is done, fails or waits to
// be resolved (a waiting run is reported as an error, so that scripts stop).
// After a resolution the run may still show the wait it leaves: resolved
// skips waits until the run has moved on.
func (a *app) followBillRun(ctx context.Context, c client.Client, id string, resolved bool) error {
	done := make(chan error, 1)
	var final workflows.BillRunStatus
	go func() { done <- c.GetWorkflow(ctx, id, "").Get(ctx, &final) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var phase workflows.Phase
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("bill run %s: %s", id, workflows.Reason(err))
			}
			return a.printBillRun(id, final)
		case <-tick.C:
			st, err := billRunStatus(ctx, c, id)
			if err != nil {
				continue
			}
			if st.Phase != phase {
				phase = st.Phase
				fmt.Fprintf(a.err, "bill run %s: %s\n", id, phase)
			}
			if st.Phase == workflows.PhaseScheduled {
				// Every period that has ended is invoiced; the rest come later.
				if err := a.printBillRun(id, st); err != nil {
					return err
				}
				fmt.Fprintf(a.err, "bill run %s: the next wave starts %s, when the next client's period ends\n", id,
					st.NextWave.UTC().Format(time.RFC3339))
				return nil
			}
			if st.Phase != workflows.PhaseWaiting {
				resolved = false
				continue
			}
			if resolved {
				continue
			}
			if err := a.printBillRun(id, st); err != nil {
				return err
			}
			why := "mismatched calls"
			if st.Errors > 0 {
				why = plural(st.Errors, "readiness error")
				if st.Mismatched {
					why += " and mismatched calls"
				}
			}
			return fmt.Errorf("bill run %s %w: %s; fix master data, then billctl run resolve %s --rerate (or --accept)", id, errWaiting, why, id)
		}
	}
}

// runNotesShown is how many of a bill run's notes billctl run status lists.
const runNotesShown = 50

func (a *app) printBillRun(id string, st workflows.BillRunStatus) error {
	notes, more := st.Notes, false
	if st.NotesBy != "" && a.cfg.DatabaseURL != "" { // named in PostgreSQL, not carried in the status
		b, err := a.billing(context.Background())
		if err != nil {
			return err
		}
		if notes, more, err = b.NotesMadeBy(context.Background(), st.NotesBy, 0, runNotesShown); err != nil {
			return err
		}
	}
	var reratedCalls, changed int64
	for _, r := range st.Reratings {
		reratedCalls += r.Examined
		changed += r.Changed
	}
	waves := make([]map[string]any, len(st.Waves))
	for i, w := range st.Waves {
		waves[i] = map[string]any{"started": w.Started, "invoiced": w.Invoices.Invoiced, "skipped": w.Invoices.Skipped,
			"conflicts": w.Invoices.ConflictCount, "not_ended": w.Invoices.Open}
	}
	nextWave := ""
	if !st.NextWave.IsZero() {
		nextWave = st.NextWave.UTC().Format(time.RFC3339)
	} else if st.Invoices.Open > 0 {
		nextWave = st.Invoices.NextEnd.UTC().Format(time.RFC3339)
	}
	findings := st.Findings
	if findings == nil {
		findings = []readiness.Finding{}
	}
	t := table{
		header: []string{"run", "period", "phase", "errors", "warnings", "mismatched", "reratings", "invoiced", "skipped", "conflicts"},
		rows: [][]string{{id, string(st.Period), string(st.Phase), strconv.Itoa(st.Errors), strconv.Itoa(st.Warnings), strconv.FormatBool(st.Mismatched),
			strconv.Itoa(len(st.Reratings)), strconv.Itoa(st.Invoices.Invoiced), strconv.Itoa(st.Invoices.Skipped),
			strconv.Itoa(st.Invoices.ConflictCount)}},
		json: map[string]any{"run": id, "period": st.Period, "phase": st.Phase, "from": st.From, "to": st.To,
			"cdrs_ingested": st.Ingest.CDRs, "duplicates": st.Ingest.Duplicates, "files_failed": st.Ingest.FilesFailed,
			"errors": st.Errors, "warnings": st.Warnings, "mismatched": st.Mismatched, "findings": findings,
			"reratings": len(st.Reratings), "rerated_calls": reratedCalls, "rerated_changed": changed, "rerate_failure": st.RerateFailure,
			"accepted": st.Accepted, "clients": st.Invoices.Clients, "invoiced": st.Invoices.Invoiced,
			"skipped": st.Invoices.Skipped, "conflicts": st.Invoices.ConflictCount, "not_ended": st.Invoices.Open,
			"waves": waves, "next_wave": nextWave, "notes": notes, "notes_by": st.NotesBy, "accounted": reasonTable(st.Accounted, false).json},
	}
	if err := a.print(t); err != nil || a.format != "table" {
		return err
	}
	if st.Ingest.Duplicates > 0 {
		fmt.Fprintf(a.out, "\n%s not stored: another call had the same call_id, time, source and destination (billctl cdr duplicates --file KEY)\n",
			plural(int(st.Ingest.Duplicates), "duplicate call"))
	}
	if st.RerateFailure != "" {
		fmt.Fprintf(a.out, "\nthe last rerate: %s\n", oneLine(st.RerateFailure))
	}
	for _, n := range notes {
		fmt.Fprintf(a.out, "\ndraft %s %s for invoice %s of client %s (%s)\n", strings.ReplaceAll(n.Kind, "_", " "), n.NoteID, n.Invoice, n.Client, n.Total)
	}
	if more {
		fmt.Fprintf(a.out, "\n… and more notes: billctl invoice list --period %s --kind credit_note (or debit_note)\n", st.Period)
	}
	if len(st.Accounted) > 0 {
		// What finance signs off: every call, invoiced or why not.
		fmt.Fprintln(a.out, "\nevery call of the period (billctl report reconcile has them by client):")
		if err := a.print(reasonTable(st.Accounted, false)); err != nil {
			return err
		}
	}
	if st.Invoices.Open > 0 {
		fmt.Fprintf(a.out, "\n%d clients' periods have not ended: the next wave invoices them from %s\n", st.Invoices.Open, nextWave)
	}
	if len(findings) > 0 && st.Phase != workflows.PhaseDone {
		f := table{header: []string{"severity", "client", "check", "message"}}
		for _, x := range findings {
			f.rows = append(f.rows, []string{string(x.Severity), x.Client, x.Check, x.Message})
		}
		fmt.Fprintln(a.out)
		return a.print(f)
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// reasonTable shows reconciliation rows (report reconcile's, with their
// client; a bill run's totals, without): calls and amount by reason.
func reasonTable(rows []report.ReconcileRow, client bool) table {
	t := table{header: []string{"currency", "reason", "calls", "amount"}}
	if client {
		t.header = append([]string{"client"}, t.header...)
	}
	doc := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		row := []string{r.Currency, r.Reason, itoa(r.Calls), r.Amount.StringFixed(6)}
		obj := map[string]any{"currency": r.Currency, "reason": r.Reason, "calls": r.Calls, "amount": r.Amount.StringFixed(6)}
		if client {
			row, obj["client"] = append([]string{r.Client}, row...), r.Client
		}
		t.rows, doc = append(t.rows, row), append(doc, obj)
	}
	t.json = doc
	return t
}
