package report

import (
	"cmp"
	"slices"

	"github.com/shopspring/decimal"
)

// The reasons a call of a client's period is billed or not (billing-rules
// §7), after mismatched:<category>, in their order of precedence.
const (
	ReasonOtherCurrency = "other_currency"
	ReasonNotPayable    = "not_payable"
	ReasonAdjustmentDue = "adjustment_due"
	ReasonNotInvoiced   = "not_invoiced"
	ReasonInvoiced      = "invoiced"
)

// MismatchedPrefix begins the reason of a mismatched call: its category follows.
const MismatchedPrefix = "mismatched:"

// ReconcileGroup is calls of a period that share everything their reason
// depends on.
type ReconcileGroup struct {
	Client         string // "" for calls of no client
	Currency       string // the calls' rating currency, "" for none
	ClientCurrency string // "" for calls of no known client
	Status         string // rated, or the mismatch category
	DeletedRate    bool   // rated by a rate deleted since
	NotPayable     bool   // 0 billed seconds and 0 cost
	// Due: in a line that the recomputation of the period's issued invoice
	// changes, and that no issued note covers yet.
	Due    bool
	Calls  int64
	Amount decimal.Decimal
}

// ReconcileRow is the calls of a client's period in one currency that have
// one reason, and their amount.
type ReconcileRow struct {
	Client   string
	Currency string
	Reason   string
	Calls    int64
	Amount   decimal.Decimal
}

// Reason is g's reason; invoiced tells whether its client's period has an
// issued invoice or a draft (previews and void ones do not count).
func (g ReconcileGroup) Reason(invoiced bool) string {
	switch {
	case g.Status != "rated":
		return MismatchedPrefix + g.Status
	case g.DeletedRate:
		return MismatchedPrefix + "deleted_rate"
	case g.ClientCurrency != "" && g.Currency != g.ClientCurrency:
		return ReasonOtherCurrency
	case g.NotPayable:
		return ReasonNotPayable
	case g.Due:
		return ReasonAdjustmentDue
	case !invoiced:
		return ReasonNotInvoiced
	}
	return ReasonInvoiced
}

// reasonRank orders reasons as billing-rules §7 does.
func reasonRank(reason string) int {
	i := slices.Index([]string{ReasonOtherCurrency, ReasonNotPayable, ReasonAdjustmentDue, ReasonNotInvoiced, ReasonInvoiced}, reason)
	return i + 1 // mismatched ones first, as -1 + 1
}

// Reconcile sums groups into rows by client, currency and reason, ordered
// by client, currency and reason's precedence; invoiced tells which clients'
// periods have an issued invoice or a draft.
func Reconcile(groups []ReconcileGroup, invoiced map[string]bool) []ReconcileRow {
	type key struct{ client, currency, reason string }
	at := map[key]int{}
	var rows []ReconcileRow
	for _, g := range groups {
		k := key{g.Client, g.Currency, g.Reason(invoiced[g.Client])}
		i, ok := at[k]
		if !ok {
			i = len(rows)
			at[k] = i
			rows = append(rows, ReconcileRow{Client: k.client, Currency: k.currency, Reason: k.reason})
		}
		rows[i].Calls += g.Calls
		rows[i].Amount = rows[i].Amount.Add(g.Amount)
	}
	slices.SortFunc(rows, func(a, b ReconcileRow) int {
		return cmp.Or(cmp.Compare(a.Client, b.Client), cmp.Compare(a.Currency, b.Currency),
			cmp.Compare(reasonRank(a.Reason), reasonRank(b.Reason)), cmp.Compare(a.Reason, b.Reason))
	})
	return rows
}

// Totals sums rows over clients: a row by currency and reason, in rows'
// order of reasons. Their Client is empty.
func Totals(rows []ReconcileRow) []ReconcileRow {
	byClient := make([]ReconcileRow, len(rows))
	for i, r := range rows {
		r.Client = ""
		byClient[i] = r
	}
	var out []ReconcileRow
	slices.SortStableFunc(byClient, func(a, b ReconcileRow) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(reasonRank(a.Reason), reasonRank(b.Reason)), cmp.Compare(a.Reason, b.Reason))
	})
	for _, r := range byClient {
		if n := len(out); n > 0 && out[n-1].Currency == r.Currency && out[n-1].Reason == r.Reason {
			out[n-1].Calls += r.Calls
			out[n-1].Amount = out[n-1].Amount.Add(r.Amount)
			continue
		}
		out = append(out, r)
	}
	return out
}
