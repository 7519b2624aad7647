package catalog

import (
	"io"
	"time"

	"github.com/shopspring/decimal"
)

// DeckEntry is a line of a code deck: a destination code and its name.
type DeckEntry struct {
	Line    int
	Code    string
	Name    string
	Country string
}

// ReadCodeDeck reads a code deck file: code,name,country.
func ReadCodeDeck(file string, in io.Reader) ([]DeckEntry, error) {
	var out []DeckEntry
	seen := keys{}
	err := readCSV(file, in, []string{"code", "name", "country"}, nil, func(r *row) {
		e := DeckEntry{Line: r.line, Code: r.digits("code", true), Name: r.text("name", true), Country: r.get("country")}
		seen.once(r, "code", e.Code)
		out = append(out, e)
	})
	return out, err
}

// RateTable is a rate table's settings.
type RateTable struct {
	Line              int
	ID                int64 // as stored; 0 in a file
	Name              string
	Currency          string
	Deck              string // destination code deck; "" for none: invoices then name lines by code
	SrcDeck           string // source code deck, naming origins; "" for none
	Reseller          string // "" for the carrier's own
	Parent            string
	RatesIncludeTaxes bool
	Notes             string
	// The file has no src_deck or reseller column: what is stored stays
	// (files written before those columns keep working).
	KeepSrcDeck, KeepReseller bool
}

// ReadRateTables reads name,currency,deck,parent,rates_include_taxes and the
// optional notes, src_deck and reseller.
func ReadRateTables(file string, in io.Reader) ([]RateTable, error) {
	var out []RateTable
	seen := keys{}
	err := readCSV(file, in, []string{"name", "currency", "deck", "parent", "rates_include_taxes"}, []string{"notes", "src_deck", "reseller"}, func(r *row) {
		t := RateTable{Line: r.line, Name: r.name("name", true), Currency: r.currency("currency"), Deck: r.name("deck", false),
			Parent: r.name("parent", false), RatesIncludeTaxes: r.boolean("rates_include_taxes", false), Notes: r.get("notes"),
			SrcDeck: r.name("src_deck", false), Reseller: r.name("reseller", false),
			KeepSrcDeck: !r.has("src_deck"), KeepReseller: !r.has("reseller")}
		if t.Parent != "" && t.Parent == t.Name {
			r.fail("parent", "a rate table cannot be its own parent")
		}
		seen.once(r, "name", t.Name)
		out = append(out, t)
	})
	return out, err
}

// Rate is a line of a rate file, or a stored rate (ID and Table set).
type Rate struct {
	Line          int
	ID            int64
	Table         string
	Code          string
	SrcCode       string // digits an origin starts with; "" for any origin
	PerMinute     decimal.Decimal
	EffectiveFrom time.Time
	End           time.Time // zero: until the next effective_from
	Increment
	SetupFee decimal.Decimal
}

// ReadRates reads code,rate,effective_from,end,increment,setup_fee and an
// optional src_code (empty: any origin).
func ReadRates(file string, in io.Reader) ([]Rate, error) {
	var out []Rate
	seen := keys{}
	err := readCSV(file, in, []string{"code", "rate", "effective_from", "end", "increment", "setup_fee"}, []string{"src_code"}, func(r *row) {
		x := Rate{Line: r.line, Code: r.digits("code", true), SrcCode: r.digits("src_code", false), PerMinute: r.money("rate", "", false),
			EffectiveFrom: r.instant("effective_from", true), End: r.instant("end", false),
			Increment: r.increment("increment"), SetupFee: r.money("setup_fee", "0", false)}
		if !x.End.IsZero() && !x.End.After(x.EffectiveFrom) {
			r.fail("end", "%s is not after effective_from", r.get("end"))
		}
		key := x.Code
		if x.SrcCode != "" {
			key += " for origins " + x.SrcCode
		}
		seen.once(r, "effective_from", key+" from "+x.EffectiveFrom.Format(time.RFC3339Nano))
		out = append(out, x)
	})
	return out, err
}

// Client is a paying entity.
type Client struct {
	Line         int
	ID           string
	Name         string
	Currency     string
	Timezone     string
	RateTable    string
	TaxProfile   string
	InvoiceDay   int
	GraceDays    int
	Template     string
	BillingEmail string
	Address      string
	Autoinvoice  bool
	Status       string // active or archived; "" leaves it as it is (new clients are active)
	// Rounding is round_then_sum or sum_then_round; "" leaves it as it is
	// (new clients round then sum).
	Rounding string
	Reseller string // "" for the carrier's own
	// The file has no reseller column: the stored one stays.
	KeepReseller bool
	// CreditLimit is what the client may owe before readiness warns; nil
	// for none. The file has no credit_limit column: the stored one stays.
	CreditLimit     *decimal.Decimal
	KeepCreditLimit bool
	Assigned        // when its rate_table takes effect
}

// Assigned is when a file's rate_table takes effect (billing-rules as
// decisions.md extends them): with no effective_from column, for all time,
// replacing any history, as before; with one, from its instant (empty: the
// import's time), kept beside the earlier assignments.
type Assigned struct {
	History       bool      // the file has an effective_from column
	EffectiveFrom time.Time // zero: the time of the import
}

func (r *row) assigned() Assigned {
	return Assigned{History: r.has("effective_from"), EffectiveFrom: r.instant("effective_from", false)}
}

// ReadClients reads the clients file of interfaces.md, plus an optional
// status, rounding, reseller and credit_limit.
func ReadClients(file string, in io.Reader) ([]Client, error) {
	var out []Client
	seen := keys{}
	cols := []string{"id", "name", "currency", "timezone", "rate_table", "tax_profile", "invoice_day", "grace_days",
		"template", "billing_email", "address", "autoinvoice"}
	err := readCSV(file, in, cols, []string{"status", "rounding", "reseller", "credit_limit", "effective_from"}, func(r *row) {
		c := Client{Line: r.line, ID: r.name("id", true), Name: r.text("name", true), Currency: r.currency("currency"),
			Timezone: r.timezone("timezone"), RateTable: r.name("rate_table", false), TaxProfile: r.name("tax_profile", false),
			InvoiceDay: r.integer("invoice_day", 1, 1, 28), GraceDays: r.integer("grace_days", 0, 0, 365),
			Template: r.oneOf("template", "default", "default", "extended"), BillingEmail: r.email("billing_email"),
			Address: r.get("address"), Autoinvoice: r.boolean("autoinvoice", false),
			Status: r.oneOf("status", "", "active", "archived"), Rounding: r.oneOf("rounding", "", "round_then_sum", "sum_then_round"),
			Reseller: r.name("reseller", false), KeepReseller: !r.has("reseller"), KeepCreditLimit: !r.has("credit_limit"),
			Assigned: r.assigned()}
		if r.get("credit_limit") != "" {
			limit := r.money("credit_limit", "", true)
			c.CreditLimit = &limit
		}
		seen.once(r, "id", c.ID)
		out = append(out, c)
	})
	return out, err
}

// Account identifies a client's traffic.
type Account struct {
	Line       int
	ID         int64 // as stored; 0 in a file
	Client     string
	Kind       string // ip, username or ani
	Value      string
	TechPrefix string
	RateTable  string
	Enabled    bool
	Assigned   // when its rate_table takes effect
}

// ReadAccounts reads client,kind,value,tech_prefix,rate_table,enabled and
// an optional effective_from of its rate_table.
func ReadAccounts(file string, in io.Reader) ([]Account, error) {
	var out []Account
	seen := keys{}
	err := readCSV(file, in, []string{"client", "kind", "value", "tech_prefix", "rate_table", "enabled"}, []string{"effective_from"}, func(r *row) {
		a := Account{Line: r.line, Client: r.name("client", true), Kind: r.oneOf("kind", "", "ip", "username", "ani"),
			TechPrefix: r.digits("tech_prefix", false), RateTable: r.name("rate_table", false), Enabled: r.boolean("enabled", true),
			Assigned: r.assigned()}
		switch a.Kind {
		case "":
			r.fail("kind", "required (ip, username or ani)")
		case "ip":
			a.Value = r.address("value")
		case "ani":
			a.Value = r.text("value", true)
			if v := a.Value; v != "" && !digitsRe.MatchString(v) {
				r.fail("value", "%q is not a caller number of digits", v)
			}
		default:
			a.Value = r.text("value", true)
		}
		seen.once(r, "value", a.Kind+" "+a.Value+" with tech prefix "+a.TechPrefix)
		out = append(out, a)
	})
	return out, err
}

// Tax is one tax of a tax profile.
type Tax struct {
	Line    int
	Profile string
	Name    string
	Percent decimal.Decimal
}

// ReadTaxes reads profile,name,percent.
func ReadTaxes(file string, in io.Reader) ([]Tax, error) {
	var out []Tax
	seen := keys{}
	err := readCSV(file, in, []string{"profile", "name", "percent"}, nil, func(r *row) {
		t := Tax{Line: r.line, Profile: r.name("profile", true), Name: r.text("name", true), Percent: r.money("percent", "", true)}
		if t.Percent.GreaterThan(decimal.NewFromInt(100)) || t.Percent.Exponent() < -4 && !t.Percent.Equal(t.Percent.Round(4)) {
			r.fail("percent", "%q is not a percentage from 0 to 100 with at most 4 places", r.get("percent"))
		}
		seen.once(r, "name", t.Profile+" "+t.Name)
		out = append(out, t)
	})
	return out, err
}

// Package is a subscription product.
type Package struct {
	Line             int
	Name             string
	Currency         string
	MonthlyFee       decimal.Decimal
	ActivationFee    decimal.Decimal
	FeesIncludeTaxes bool
}

// ReadPackages reads name,currency,monthly_fee,activation_fee,fees_include_taxes.
func ReadPackages(file string, in io.Reader) ([]Package, error) {
	var out []Package
	seen := keys{}
	err := readCSV(file, in, []string{"name", "currency", "monthly_fee", "activation_fee", "fees_include_taxes"}, nil, func(r *row) {
		p := Package{Line: r.line, Name: r.name("name", true), Currency: r.currency("currency"),
			MonthlyFee: r.money("monthly_fee", "0", true), ActivationFee: r.money("activation_fee", "0", true),
			FeesIncludeTaxes: r.boolean("fees_include_taxes", false)}
		seen.once(r, "name", p.Name)
		out = append(out, p)
	})
	return out, err
}

// Subscription is a client's subscription to a package.
type Subscription struct {
	Line     int
	Client   string
	Package  string
	Quantity int
	Start    time.Time // a date
	End      time.Time // a date, exclusive; zero when open
}

// ReadSubscriptions reads client,package,quantity,start,end.
func ReadSubscriptions(file string, in io.Reader) ([]Subscription, error) {
	var out []Subscription
	seen := keys{}
	err := readCSV(file, in, []string{"client", "package", "quantity", "start", "end"}, nil, func(r *row) {
		s := Subscription{Line: r.line, Client: r.name("client", true), Package: r.name("package", true),
			Quantity: r.integer("quantity", 1, 1, 1_000_000), Start: r.date("start", true), End: r.date("end", false)}
		if !s.End.IsZero() && !s.End.After(s.Start) {
			r.fail("end", "%s is not after start", r.get("end"))
		}
		seen.once(r, "start", s.Client+" "+s.Package+" from "+s.Start.Format(time.DateOnly))
		out = append(out, s)
	})
	return out, err
}

// Reseller sells the carrier's services under its own name: rate tables and
// clients may belong to one, and its clients' invoices are issued under its
// seller details and number templates ("" takes billrun's default for a
// reseller, decisions.md).
type Reseller struct {
	Line                                int
	ID, Name                            string
	Address, TaxID, Email               string
	InvoiceTemplate, CreditNoteTemplate string
	DebitNoteTemplate                   string
}

// ReadResellers reads id,name and the optional address, tax_id, email,
// invoice_template, credit_note_template, debit_note_template.
func ReadResellers(file string, in io.Reader) ([]Reseller, error) {
	var out []Reseller
	seen := keys{}
	err := readCSV(file, in, []string{"id", "name"}, []string{"address", "tax_id", "email", "invoice_template", "credit_note_template",
		"debit_note_template"}, func(r *row) {
		x := Reseller{Line: r.line, ID: r.name("id", true), Name: r.text("name", true), Address: r.get("address"), TaxID: r.get("tax_id"),
			Email: r.email("email"), InvoiceTemplate: r.get("invoice_template"), CreditNoteTemplate: r.get("credit_note_template"),
			DebitNoteTemplate: r.get("debit_note_template")}
		seen.once(r, "id", x.ID)
		out = append(out, x)
	})
	return out, err
}

// Payment is money a client paid.
type Payment struct {
	Line      int
	Client    string
	Date      time.Time // the day paid, midnight UTC
	Amount    decimal.Decimal
	Currency  string
	Reference string // the bank's or the payment provider's: used once
}

// ReadPayments reads client,date,amount,currency,reference.
func ReadPayments(file string, in io.Reader) ([]Payment, error) {
	var out []Payment
	seen := keys{}
	err := readCSV(file, in, []string{"client", "date", "amount", "currency", "reference"}, nil, func(r *row) {
		p := Payment{Line: r.line, Client: r.name("client", true), Date: r.date("date", true), Amount: r.money("amount", "", false),
			Currency: r.currency("currency"), Reference: r.text("reference", true)}
		switch {
		case r.err != nil:
		case p.Amount.IsZero():
			r.fail("amount", "a payment of 0")
		case !p.Amount.Equal(p.Amount.Round(6)):
			r.fail("amount", "%s has more than 6 decimal places", p.Amount)
		}
		seen.once(r, "reference", p.Reference)
		out = append(out, p)
	})
	return out, err
}
