// Package billing holds billrun's use cases, once each: ingest a CDR file,
// the inbox's state, readiness, rerate a slice of calls, create, issue, void
// and render invoices, and the reports. It is written against small
// interfaces (Store, Objects) that the adapters satisfy (postgres, s3store)
// and knows nothing of Temporal: activities decode their input, call it and
// map its errors; billctl calls it only to read.
package billing
