package billing

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/ledger"
	"github.com/billrun/billrun/internal/pdf"
	"github.com/billrun/billrun/internal/period"
)

// Ledgers read what clients owe, and who sells to them.
type Ledgers interface {
	// Accounts are the entries of every client, or of one; limited keeps
	// the clients with a credit limit.
	Accounts(ctx context.Context, client string, limited bool) ([]ledger.Account, error)
	// Reseller is a reseller's seller details and templates.
	Reseller(ctx context.Context, id string) (catalog.Reseller, error)
}

// sellerOf is who issues inv: its reseller, or billrun's seller.
func (s *Service) sellerOf(ctx context.Context, reseller string) (invoice.Seller, error) {
	if reseller == "" {
		return s.Seller, nil
	}
	r, err := s.Store.Reseller(ctx, reseller)
	if err != nil {
		return invoice.Seller{}, err
	}
	return invoice.Seller{Name: r.Name, Address: r.Address, TaxID: r.TaxID, Email: r.Email}, nil
}

// Balance is a client's balance at a day, aged.
type Balance struct {
	ledger.Account
	ledger.Ageing
	At        time.Time
	OverLimit bool // owes more than its credit limit
}

// BalanceDay is the day a client's balance is read at unless one is asked
// for: tomorrow in its time zone, so that today's documents and payments
// count (a day's balance is at its start, and a document is dated in its
// client's zone: a Pacific/Kiritimati client's invoice issued at 11:00 UTC
// is dated the next UTC day).
func (s *Service) BalanceDay(zone *time.Location) time.Time {
	return period.DateIn(s.now(), zone).AddDate(0, 0, 1)
}

// Balances are the balances at the start of day at of every client, or of
// one; a zero at is each client's BalanceDay. Entries are left out.
func (s *Service) Balances(ctx context.Context, client string, at time.Time) ([]Balance, error) {
	return s.balances(ctx, client, at, false)
}

func (s *Service) balances(ctx context.Context, client string, at time.Time, limited bool) ([]Balance, error) {
	accounts, err := s.Store.Accounts(ctx, client, limited)
	if err != nil {
		return nil, err
	}
	out := make([]Balance, len(accounts))
	for i, a := range accounts {
		day := at
		if day.IsZero() {
			day = s.BalanceDay(a.Zone)
		}
		out[i] = Balance{Ageing: ledger.Age(a.Entries, day), At: day}
		a.Entries = nil
		out[i].Account = a
		out[i].OverLimit = a.CreditLimit != nil && out[i].Balance.GreaterThan(*a.CreditLimit)
	}
	return out, nil
}

// Statement is a client's statement of account over [from, to), written to
// the bucket as PDF and CSV like an invoice's documents (a statement made
// again over the same days replaces them): their URIs by kind.
func (s *Service) Statement(ctx context.Context, client string, from, to time.Time) (ledger.Statement, map[string]string, error) {
	accounts, err := s.Store.Accounts(ctx, client, false)
	if err != nil {
		return ledger.Statement{}, nil, err
	}
	a := accounts[0]
	st := ledger.NewStatement(a.Entries, from, to)
	st.Client, st.Name, st.Currency = a.Client, a.Name, a.Currency
	seller, err := s.sellerOf(ctx, a.Reseller)
	if err != nil {
		return st, nil, err
	}
	doc, err := pdf.RenderStatement(st, seller)
	if err != nil {
		return st, nil, err
	}
	var csv bytes.Buffer
	if err := ledger.WriteCSV(&csv, st); err != nil {
		return st, nil, err
	}
	base := fmt.Sprintf("statements/%s/%s_%s", client, from.Format(time.DateOnly), to.Format(time.DateOnly))
	docs := map[string]string{}
	for _, d := range []struct {
		kind, contentType string
		body              []byte
	}{{"pdf", "application/pdf", doc}, {"csv", "text/csv", csv.Bytes()}} {
		if _, err := s.Objects.Put(ctx, base+"."+d.kind, bytes.NewReader(d.body), d.contentType, nil); err != nil {
			return st, nil, err
		}
		docs[d.kind] = s.Objects.URI(base + "." + d.kind)
	}
	return st, docs, nil
}

// overLimit are the clients owing more than their credit limit now, with
// their balance and limit written for a readiness finding. Only clients
// with a limit are read: a bill run's readiness pays nothing without one.
func (s *Service) overLimit(ctx context.Context) (map[string][2]string, error) {
	bs, err := s.balances(ctx, "", time.Time{}, true) // each client's tomorrow
	if err != nil {
		return nil, err
	}
	out := map[string][2]string{}
	for _, b := range bs {
		if b.OverLimit {
			out[b.Client] = [2]string{b.Balance.StringFixed(2) + " " + b.Currency, b.CreditLimit.StringFixed(2) + " " + b.Currency}
		}
	}
	return out, nil
}
