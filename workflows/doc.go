// Package workflows holds billrun's Temporal workflows and their contracts:
// the task queue, workflow IDs built from business keys, kinds, inputs and
// results, queries and signals, and a typed Start function per workflow
// (start.go) through which every caller starts it. Workflow code here is
// deterministic; all I/O happens in the activities, which call billing.
package workflows
