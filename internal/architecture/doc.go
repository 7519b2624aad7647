// Package architecture holds the test that keeps every package of billrun
// to the imports docs/architecture.md allows it: the domain knows nothing of
// Temporal, SQL or S3; the adapters know no use case; only workflows start
// workflows and only workers run activities.
package architecture
