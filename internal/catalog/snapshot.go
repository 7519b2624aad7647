package catalog

import (
	"sort"
	"strings"
	"time"
)

// Snapshot is the master data rating needs, as stored at one version: read
// in one transaction, so that it is consistent. Deleted rates are left out.
type Snapshot struct {
	Version     int64 // advances with every change of master data
	Clients     []Client
	Accounts    []Account
	Tables      []RateTable
	Rates       []Rate
	Assignments []Assignment
}

// Assignment is one step of a client's (Account 0) or an account's rate
// table history: RateTable ("" none) from From on.
type Assignment struct {
	Client    string
	Account   int64
	RateTable string
	From      time.Time
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

// TableLink is a stored rate table's currency and parent.
type TableLink struct{ Currency, Parent string }

// CheckRateTables checks the rate tables of a file against the tables
// stored and the code decks known: each deck exists, each parent exists
// (stored or in the file) in the same currency, parents form no cycle, and a
// table whose currency changes still matches its children. The error names
// the file's line and field.
func CheckRateTables(file string, tables []RateTable, stored map[string]TableLink, decks map[string]bool) error {
	merged := make(map[string]TableLink, len(stored)+len(tables))
	for name, l := range stored {
		merged[name] = l
	}
	inFile := map[string]RateTable{}
	for _, t := range tables {
		merged[t.Name] = TableLink{t.Currency, t.Parent}
		inFile[t.Name] = t
	}
	for _, t := range tables {
		if t.Deck != "" && !decks[t.Deck] {
			return Errorf(file, t.Line, "deck", "unknown code deck %q (import it first with billctl import codedeck)", t.Deck)
		}
		if t.Parent == "" {
			continue
		}
		p, ok := merged[t.Parent]
		if !ok {
			return Errorf(file, t.Line, "parent", "unknown rate table %q", t.Parent)
		}
		if p.Currency != t.Currency {
			return Errorf(file, t.Line, "parent", "parent %q is in %s, this table in %s: they must match", t.Parent, p.Currency, t.Currency)
		}
		if path := ParentCycle(t.Name, func(x string) string { return merged[x].Parent }); path != "" {
			return Errorf(file, t.Line, "parent", "parents form a cycle: %s", path)
		}
	}
	children := make([]string, 0, len(merged))
	for name := range merged {
		children = append(children, name)
	}
	sort.Strings(children)
	for _, c := range children {
		if t, ok := inFile[merged[c].Parent]; ok && merged[c].Currency != t.Currency {
			return Errorf(file, t.Line, "currency", "rate table %q has this one as parent and is in %s", c, merged[c].Currency)
		}
	}
	return nil
}
