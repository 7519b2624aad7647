// Package console is billrun's finance console: the month end in a browser
// (docs/console.md). It serves server-rendered pages over what billctl
// does — bill runs and their resolution through the run's Update, invoices
// and notes with their documents streamed from S3, master-data imports —
// to signed-in users with a role, every form guarded by a CSRF token and
// every change recorded with its user.
package console
