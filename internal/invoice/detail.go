package invoice

import (
	"time"

	"github.com/shopspring/decimal"
)

// Seller is who sends invoices: printed on every document.
type Seller struct {
	Name    string
	Address string
	TaxID   string
	Email   string
}

// RateUse is one rate's use within an invoice, for the extended template.
type RateUse struct {
	Description   string
	Code          string
	PerMinute     decimal.Decimal
	Calls         int64
	BilledSeconds int64
	Amount        decimal.Decimal // exact
}

// DayUse is one day's use within an invoice, in the client's zone.
type DayUse struct {
	Day           time.Time
	Calls         int64
	BilledSeconds int64
	Amount        decimal.Decimal // exact
}

// Detail is what the extended template shows beyond the lines: use per rate
// and per day of the invoice's billable calls.
type Detail struct {
	Rates []RateUse
	Days  []DayUse
}
