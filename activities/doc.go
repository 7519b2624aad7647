// Package activities holds billrun's Temporal activities: methods on
// Activities, which carries their dependencies (PostgreSQL, S3, the rating
// snapshot cache). Workflows call them as typed method values.
package activities
