package invoice

import "github.com/shopspring/decimal"

// CallTotals sums calls by the usage line (description) they are billed on.
type CallTotals map[string]*callTotal

type callTotal struct {
	calls, seconds int64
	cost           decimal.Decimal
	rounded        bool // a line's sum of rounded amounts (Line.Rounded)
}

func (c *callTotal) costOrZero() decimal.Decimal {
	if c == nil {
		return decimal.Zero
	}
	return c.cost
}

// Add counts c.
func (t CallTotals) Add(c Call) {
	s := t[c.Description]
	if s == nil {
		s = &callTotal{}
		t[c.Description] = s
	}
	s.calls++
	s.seconds += c.BilledSeconds
	s.cost = s.cost.Add(c.Cost)
}

// Differ reports the first usage line of inv (by description) that the
// calls counted do not add up to, in calls, billed seconds or exact amount,
// and whether there is one. A note's lines are differences: it never
// differs.
func (t CallTotals) Differ(inv Stored) (string, bool) {
	if inv.Corrects != nil {
		return "", false
	}
	lines := map[string]*callTotal{}
	for _, l := range inv.Lines {
		if l.Kind != KindUsage {
			continue
		}
		s := lines[l.Description]
		if s == nil {
			s = &callTotal{}
			lines[l.Description] = s
		}
		s.calls += l.Calls
		s.seconds += l.BilledSeconds
		s.cost = s.cost.Add(l.Exact)
		s.rounded = s.rounded || l.Rounded
	}
	for d, s := range lines {
		c := t[d]
		cost := c.costOrZero()
		if s.rounded { // a line of before exact amounts: to the cent
			cost = Round(cost)
		}
		if c == nil || c.calls != s.calls || c.seconds != s.seconds || !cost.Equal(s.cost) {
			return d, true
		}
	}
	for d := range t {
		if lines[d] == nil {
			return d, true
		}
	}
	return "", false
}
