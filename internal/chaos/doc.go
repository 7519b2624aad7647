// Package chaos holds `make chaos`: billrun's month end run twice on
// PostgreSQL, S3 and Temporal instances of its own, once undisturbed and
// once while its workers are killed, PostgreSQL is restarted, S3 is stopped
// and two races are run again and again; the two must end with the same
// calls, the same rejected lines and the same invoices. Its tests build only
// with the chaos tag (see the Makefile); docs/reliability.md has the figures.
package chaos
