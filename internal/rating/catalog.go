package rating

import (
	"time"

	"github.com/shopspring/decimal"
)

// AccountKind is how an account identifies its calls.
type AccountKind uint8

// Account kinds, in the order the match tries them (billing-rules §2).
const (
	KindUsername AccountKind = iota // matches the CDR's orig_account
	KindIP                          // matches the CDR's orig_ip
	KindANI                         // matches the CDR's src_number
	numKinds
)

var kindNames = [numKinds]string{"username", "ip", "ani"}

func (k AccountKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// ParseAccountKind parses "username", "ip" or "ani".
func ParseAccountKind(s string) (AccountKind, bool) {
	for i, n := range kindNames {
		if n == s {
			return AccountKind(i), true
		}
	}
	return 0, false
}

// Catalog is the master data the engine rates against: a snapshot taken once
// and reused for many calls.
type Catalog struct {
	Clients  []Client
	Accounts []Account
	Tables   []Table
	Rates    []Rate
	// Assignments are the history of clients' and accounts' rate tables.
	// A client or account with none rates with its RateTable at any time.
	Assignments []Assignment
}

// Assignment gives a client (Account 0) or an account a rate table from an
// instant on, until its next assignment. A client's or account's first
// assignment also covers the time before it: nothing is known of earlier.
type Assignment struct {
	Client    string
	Account   int64  // 0: the client's own
	RateTable string // "": none (an account then rates with its client's)
	From      time.Time
}

// Client is the paying entity; only its default rate table matters to rating.
type Client struct {
	ID        string
	RateTable string // "" when the client has none
}

// Account identifies a client's traffic.
type Account struct {
	ID         int64
	Client     string
	Kind       AccountKind
	Value      string
	TechPrefix string // digits, may be empty
	RateTable  string // overrides the client's when not ""
	Enabled    bool
}

// Table is a rate table.
type Table struct {
	Name     string
	Currency string
	Parent   string // "" when none
}

// Rate is one price of one code in one table from one instant on.
type Rate struct {
	ID              int64
	Table           string
	Code            string
	SrcCode         string          // digits an origin (src_number) starts with; "" for any origin
	PerMinute       decimal.Decimal // at most 8 decimal places
	EffectiveFrom   time.Time
	End             time.Time // zero: until the next EffectiveFrom of the code
	MinSeconds      int32
	IntervalSeconds int32
	GraceSeconds    int32
	SetupFee        decimal.Decimal // at most 8 decimal places
}

// CDR is a normalised call detail record, as far as rating needs it.
type CDR struct {
	ConnectTime time.Time
	Duration    time.Duration // 0 for unanswered calls
	OrigIP      string
	OrigAccount string
	SrcNumber   string
	DstNumber   string
}

// Status is the outcome of rating one call.
type Status uint8

// Statuses; every status but Rated is a mismatch category (billing-rules §3).
const (
	Rated Status = iota
	UnknownAccount
	NoRateTable
	UnknownDestination
)

var statusNames = [...]string{"rated", "unknown_account", "no_rate_table", "unknown_destination"}

// ParseStatus parses a status name as String writes it.
func ParseStatus(name string) (Status, bool) {
	for i, n := range statusNames {
		if n == name {
			return Status(i), true
		}
	}
	return 0, false
}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Result is a rated call. Fields after Status are set as far as rating got:
// an unknown destination still names the client and table.
type Result struct {
	Status        Status
	AccountID     int64
	Client        string
	RateTable     string // the table the account rates against
	Currency      string
	Number        string // dst_number with tech prefix and leading '+' removed
	RateID        int64
	Code          string // the matched destination code
	RatedBy       string // the table holding the matched rate (RateTable or an ancestor)
	BilledSeconds int64
	Cost          Money
}
