package catalog

import "strings"

// Snapshot is the master data rating needs, as stored at one version: read
// in one transaction, so that it is consistent. Deleted rates are left out.
type Snapshot struct {
	Version  int64 // advances with every change of master data
	Clients  []Client
	Accounts []Account
	Tables   []RateTable
	Rates    []Rate
}

// ParentCycle follows parent from name and returns the path "a → b → a"
// when it comes back to a table already seen, else "". Imports use it to
// refuse a cycle on the line that closes it.
func ParentCycle(name string, parent func(string) string) string {
	seen := map[string]bool{name: true}
	path := []string{name}
	for p := parent(name); p != ""; p = parent(p) {
		path = append(path, p)
		if seen[p] {
			return strings.Join(path, " → ")
		}
		seen[p] = true
	}
	return ""
}
