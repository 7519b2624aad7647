package rating

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// Money is an exact amount in millionths of a currency unit, the precision of a
// rated call's cost (billing-rules §2 rounds costs to 6 places).
type Money int64

// MoneyPlaces is the number of decimal places Money carries.
const MoneyPlaces = 6

// Decimal returns m as a decimal.Decimal with 6 places.
func (m Money) Decimal() decimal.Decimal { return decimal.New(int64(m), -MoneyPlaces) }

// String formats m with exactly 6 decimal places, e.g. "0.024000".
func (m Money) String() string { return string(m.Append(nil)) }

// Append appends m formatted as by String to b; it does not allocate when b
// has room, which keeps bulk writers (COPY) off the heap.
func (m Money) Append(b []byte) []byte {
	v := int64(m)
	if v < 0 {
		b = append(b, '-')
	}
	u := uint64(v)
	if v < 0 {
		u = uint64(-v)
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	b = append(b, '.')
	frac := u % 1e6
	for div := uint64(1e5); div > 0; div /= 10 {
		b = append(b, byte('0'+frac/div%10))
	}
	return b
}

// divRoundHalfAway divides n by d (d > 0), rounding half away from zero.
func divRoundHalfAway(n, d int64) int64 {
	q, r := n/d, n%d
	if r < 0 {
		r = -r
	}
	if 2*r >= d {
		if n < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}
