// Package activities holds billrun's Temporal activities: thin methods on
// Activities that call the billing use cases. Workflows call them as typed
// method values; nothing else calls them.
package activities
