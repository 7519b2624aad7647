package catalog

// TableSummary is a rate table as the list shows it.
type TableSummary struct {
	RateTable
	Rates int64 // codes with a rate in force
}

// TableDetail is a rate table with its parent chain and what uses it.
type TableDetail struct {
	RateTable
	Chain    []string // the table, its parent, its parent's parent…
	Children []string // tables whose parent it is
	Rates    int64    // codes with a rate in force
	Versions int64    // rate versions stored, deleted ones included
	Deleted  int64    // rate versions deleted
	Clients  int64    // clients whose rate table it is
	Accounts int64    // accounts whose rate table it is
}
