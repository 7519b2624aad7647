// Package postgres keeps billrun's data in PostgreSQL, and knows storage
// only: the schema and its migrations, master-data imports (each one
// transaction, all or nothing), the master-data snapshot rating reads, CDR
// COPY streams in and out (cdrs.go, rewrite.go), invoices, rerate runs
// (runs.go) and the queries of reports and readiness. It satisfies
// billing.Store; the rules live in the domain packages.
//
// Money crosses this boundary as decimal.Decimal or whole millionths and is
// numeric in the database; nothing here uses floats.
package postgres
