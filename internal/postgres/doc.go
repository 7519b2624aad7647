// Package postgres keeps billrun's data in PostgreSQL: the schema and its
// migrations, master-data imports (each one transaction, all or nothing), the
// rating snapshot, CDRs and invoices.
//
// Money crosses this boundary as decimal.Decimal and is numeric in the
// database; nothing here uses floats.
package postgres
