package report

import "github.com/shopspring/decimal"

// Sums accumulates one summary group: calls, billed seconds and the exact
// amount. Amounts arrive in millionths (a rated cost has six places) and are
// summed as integers; what would overflow an int64 goes to a decimal, so no
// sum is ever rounded or wrapped.
type Sums struct {
	Calls         int64
	BilledSeconds int64
	millionths    int64
	spill         decimal.Decimal
}

// Add counts one call of billed seconds costing millionths.
func (s *Sums) Add(seconds, millionths int64) {
	s.Calls++
	s.BilledSeconds += seconds
	sum := s.millionths + millionths
	// Signed overflow: both operands share a sign the sum does not have.
	if (s.millionths >= 0) == (millionths >= 0) && (sum >= 0) != (millionths >= 0) {
		s.spill = s.spill.Add(decimal.New(s.millionths, -6))
		sum = millionths
	}
	s.millionths = sum
}

// AddDecimal counts one call whose amount does not fit millionths in an int64.
func (s *Sums) AddDecimal(seconds int64, amount decimal.Decimal) {
	s.Calls++
	s.BilledSeconds += seconds
	s.spill = s.spill.Add(amount)
}

// Amount is the exact sum of the amounts added.
func (s *Sums) Amount() decimal.Decimal {
	return s.spill.Add(decimal.New(s.millionths, -6))
}
