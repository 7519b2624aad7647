// Package workflows holds billrun's Temporal workflows and their contracts:
// the task queue, workflow IDs built from business keys, kinds, inputs and
// results, queries and signals, and a typed Start function per workflow
// (start.go) through which every caller starts it. Workflow code here is
// deterministic; all I/O happens in the activities, which call billing.
//
// # Changing a workflow
//
// Runs outlive deploys: a bill run waits for finance for days. A worker
// replays a run's history on its own code, so a change to what a workflow
// does (which activities, timers, child workflows or side effects it
// schedules, in which order, with which IDs) must keep the old path for the
// runs that took it:
//
//	v := workflow.GetVersion(ctx, "short-change-name", workflow.DefaultVersion, 1)
//	if v == workflow.DefaultVersion {
//		// the old code, unchanged
//	} else {
//		// the new code
//	}
//
// Inputs and results only grow: a new field's zero value means what the
// code did before it (IngestInput.PageSize 0 is 500). Names of workflows,
// activities, queries, signals and search attributes are never changed.
// The old branch goes once no run that could take it is open (the
// namespace's retention after the deploy).
//
// The histories in testdata/histories, recorded from the real services
// (BILLRUN_RECORD_HISTORIES=dir go test ./internal/workerapp/), are replayed
// by make test on today's code (TestRecordedHistoriesReplayOnTodaysCode): a
// change that would break a run in flight fails there. Record new ones when
// a workflow gains a path, and keep the old ones.
package workflows
