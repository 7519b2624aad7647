// Package workflows holds billrun's Temporal workflows and their contracts:
// task queue, workflow IDs built from business keys, inputs and results,
// queries and search attributes. Workflow code here is deterministic; all
// I/O happens in the activities package.
package workflows
