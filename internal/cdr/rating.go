package cdr

// Rated is the status of a call that rating priced; every other status is a
// mismatch category (billing-rules §3).
const Rated = "rated"

// Rating is what rating decided for a call, as it is stored beside the
// call: the status and, as far as rating got, the client, account and rate
// table (an unknown destination still names them); the rate, code, billed
// seconds and cost of a rated call.
type Rating struct {
	Status        string
	Client        string
	AccountID     int64 // 0: none
	RateTable     string
	RateID        int64 // 0 unless rated
	Code          string
	BilledSeconds int64
	Cost          int64 // millionths of the currency unit (costs have six places)
	Currency      string
}

// IsRated reports whether the call counts on an invoice.
func (r *Rating) IsRated() bool { return r.Status == Rated }
