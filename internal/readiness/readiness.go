// Package readiness checks, before a bill run, what would make an invoice
// wrong or incomplete: the checklist of billing-rules §6. It is pure: the
// caller gathers the facts, Check judges them.
package readiness

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a finding: an error blocks invoicing, a warning asks a look.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// CheckMismatches is the check that finds mismatched calls, which a bill run
// waits on.
const CheckMismatches = "mismatches"

// CheckStale is the check that finds calls rated before their rating data
// last changed (billing-rules §7); a bill run waits on them too.
const CheckStale = "stale"

// Finding is one problem, with the sentence that says what to fix.
type Finding struct {
	Severity Severity `json:"severity"`
	Client   string   `json:"client"` // "" for findings about no client in particular
	Check    string   `json:"check"`
	Message  string   `json:"message"`
}

// Client is what the checks need of an active client.
type Client struct {
	ID                string
	Currency          string
	RateTable         string
	RateTableCurrency string
	HasSubscription   bool // a subscription in the client's currency covers part of the period
	// ForeignPackages are the packages, with their currency, of the
	// subscriptions in another currency that cover part of the period.
	ForeignPackages []string
	Accounts        []Account
}

// Account is one of a client's accounts.
type Account struct {
	Label             string // kind:value
	Enabled           bool
	RateTable         string
	RateTableCurrency string
}

// Scope is which active clients a check judges: one (Client), those that
// bill runs invoice (Billed: autoinvoice), or every one.
type Scope struct {
	Client string
	Billed bool
}

// File is an inbox file that is not cleanly ingested.
type File struct {
	Key    string
	Status string // pending or failed
	Reason string
}

// Facts are everything Check judges, for one period.
type Facts struct {
	Period       string // YYYY-MM
	Clients      []Client
	Calls        map[string]int64            // rated calls in each client's period
	Mismatches   map[string]map[string]int64 // client ("" unknown) → category → calls
	UnnamedCodes map[string][]string         // client → codes used without a name in the deck
	Stale        map[string]int64            // client → calls rated before its rating data last changed
	Files        []File
	// OverLimit: clients owing more than their credit limit, each with
	// its balance and limit as written ("1250.00 EUR", "1000.00 EUR").
	OverLimit map[string][2]string
}

// Check runs every check of billing-rules §6, in a stable order.
func Check(f Facts) []Finding {
	var out []Finding
	add := func(s Severity, client, check, format string, a ...any) {
		out = append(out, Finding{s, client, check, fmt.Sprintf(format, a...)})
	}
	for _, file := range f.Files {
		reason := ""
		if file.Reason != "" {
			reason = ": " + file.Reason
		}
		add(Error, "", "inbox", "CDR file %s is %s%s; ingest it (billctl cdr ingest) or replace it before invoicing", file.Key, file.Status, reason)
	}
	for _, c := range f.Clients {
		enabled := 0
		for _, a := range c.Accounts {
			if a.Enabled {
				enabled++
			}
		}
		if enabled == 0 {
			add(Error, c.ID, "account", "client %s has no enabled account: its calls cannot be matched; add one (billctl import accounts)", c.ID)
		}
		if c.RateTable == "" && !c.HasSubscription {
			var bare []string
			for _, a := range c.Accounts {
				if a.Enabled && a.RateTable == "" {
					bare = append(bare, a.Label)
				}
			}
			if len(bare) > 0 || enabled == 0 {
				add(Error, c.ID, "rate_table", "client %s has no rate table and no subscription, nor do its accounts %s; set a rate_table (billctl import clients)", c.ID, strings.Join(bare, ", "))
			}
		}
		if len(c.ForeignPackages) > 0 {
			add(Error, c.ID, "currency", "client %s is billed in %s but subscribes to %s: those fees cannot be on its invoice; use a package in %s",
				c.ID, c.Currency, strings.Join(c.ForeignPackages, ", "), c.Currency)
		}
		if c.RateTable != "" && c.RateTableCurrency != c.Currency {
			add(Error, c.ID, "currency", "client %s is billed in %s but its rate table %s is in %s; use a table in %s", c.ID, c.Currency, c.RateTable, c.RateTableCurrency, c.Currency)
		}
		for _, a := range c.Accounts {
			if a.RateTable != "" && a.RateTableCurrency != c.Currency {
				add(Error, c.ID, "currency", "account %s of client %s rates with %s in %s, the client is billed in %s; use a table in %s", a.Label, c.ID, a.RateTable, a.RateTableCurrency, c.Currency, c.Currency)
			}
		}
		if f.Calls[c.ID] == 0 {
			add(Warning, c.ID, "traffic", "client %s has no rated calls in %s: check that its CDR files are ingested", c.ID, f.Period)
		}
		if m := f.Mismatches[c.ID]; len(m) > 0 {
			add(Warning, c.ID, CheckMismatches, "client %s has mismatched calls in %s (%s) that its invoice will not show; fix master data and rerate (billctl report mismatches --details)", c.ID, f.Period, counts(m))
		}
		if n := f.Stale[c.ID]; n > 0 {
			add(Warning, c.ID, CheckStale, "client %s has %d calls in %s rated before its master data or rates last changed; rerate them (billctl rerate --match stale, or run resolve --rerate)", c.ID, n, f.Period)
		}
		if o, ok := f.OverLimit[c.ID]; ok {
			add(Warning, c.ID, "credit_limit", "client %s owes %s, over its credit limit of %s (billctl client balance --client %s)", c.ID, o[0], o[1], c.ID)
		}
		if codes := f.UnnamedCodes[c.ID]; len(codes) > 0 {
			shown := codes
			if len(shown) > 10 {
				shown = shown[:10]
			}
			add(Warning, c.ID, "code_names", "client %s called %d codes without a name in the code deck (%s); its invoice will show the bare codes; add them (billctl import codedeck)", c.ID, len(codes), strings.Join(shown, ", "))
		}
	}
	if m := f.Mismatches[""]; len(m) > 0 {
		add(Warning, "", CheckMismatches, "calls in %s match no account (%s); add the accounts and rerate (billctl report mismatches --details)", f.Period, counts(m))
	}
	return out
}

func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// Digest is a check's findings cut to a bounded size: the counts, and the
// first findings, errors first.
type Digest struct {
	Errors, Warnings int
	Mismatched       bool // some finding is about mismatched or stale calls
	Findings         []Finding
	// Categories counts the mismatched calls by category, of every client
	// checked and of no client: what the console lists without a scan.
	Categories map[string]int64 `json:",omitempty"`
}

// CategoryCounts sums the facts' mismatched calls by category.
func CategoryCounts(f Facts) map[string]int64 {
	var out map[string]int64
	for _, byCat := range f.Mismatches {
		for cat, n := range byCat {
			if out == nil {
				out = map[string]int64{}
			}
			out[cat] += n
		}
	}
	return out
}

// NewDigest counts fs and keeps the first keep of them, errors first, each
// severity in the order of fs.
func NewDigest(fs []Finding, keep int) Digest {
	var d Digest
	var errs, warns []Finding
	for _, f := range fs {
		if f.Severity == Error {
			d.Errors++
			errs = append(errs, f)
		} else {
			d.Warnings++
			warns = append(warns, f)
		}
		d.Mismatched = d.Mismatched || f.Check == CheckMismatches || f.Check == CheckStale
	}
	all := append(errs, warns...)
	d.Findings = all[:min(len(all), keep)]
	return d
}
