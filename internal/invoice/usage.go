package invoice

// UsageSums adds calls up into usage as the database groups them for an
// invoice's lines: by description and by whether their rates include
// taxes, each group with its smallest code. The zero value is ready.
type UsageSums struct {
	groups map[usageKey]*Usage
}

type usageKey struct {
	description string
	gross       bool
}

// Add counts c.
func (u *UsageSums) Add(c Call) {
	if u.groups == nil {
		u.groups = map[usageKey]*Usage{}
	}
	k := usageKey{c.Description, c.Gross}
	g := u.groups[k]
	if g == nil {
		g = &Usage{Description: c.Description, Code: c.Code, Gross: c.Gross}
		u.groups[k] = g
	}
	g.Calls++
	g.BilledSeconds += c.BilledSeconds
	g.Cost = g.Cost.Add(c.Cost)
	if c.Code < g.Code {
		g.Code = c.Code
	}
}

// Usage is the groups counted, in no order (Compute orders the lines).
func (u *UsageSums) Usage() []Usage {
	out := make([]Usage, 0, len(u.groups))
	for _, g := range u.groups {
		out = append(out, *g)
	}
	return out
}
