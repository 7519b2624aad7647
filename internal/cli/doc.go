// Package cli implements billctl, the command-line tool finance and ops use:
// the commands and outputs of interfaces.md. Each command wires flags to the
// store, S3 and Temporal adapters; no billing logic lives here.
package cli
