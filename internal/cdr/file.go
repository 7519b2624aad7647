package cdr

import (
	"errors"
	"fmt"
	"time"
)

// File is one CDR file of the inbox, by content.
type File struct {
	Key      string
	Checksum string // the object's ETag: same key and checksum, same content
	Format   Format
	Size     int64 // bytes; 0 when not known
	// Revision is the catalogue revision its calls are rated at.
	Revision int64
	// Days are days (UTC midnights, unix seconds) its calls are known to
	// be on, from an earlier attempt that met them out of order: a load
	// locks them first (see DaysOutOfOrderError).
	Days []int64
}

// DaysOutOfOrderError ends a load whose calls came to a day earlier than
// one it holds while another load held that day: waiting could deadlock.
// Loading again with File.Days = Days takes the days' locks in order first.
type DaysOutOfOrderError struct {
	Days []int64 // every day the load met, ascending
}

func (e *DaysOutOfOrderError) Error() string {
	return fmt.Sprintf("the file's calls are not in time order and another ingestion holds one of their %d days; loading again with its days locked in order", len(e.Days))
}

// FileStats is what ingesting a file produced.
type FileStats struct {
	FileID   int64
	Skipped  bool // ingested before with the same content
	CDRs     int64
	Rejected int64
	// Duplicates are calls not stored: another call, in this file or an
	// earlier one, had their key (billing-rules §7).
	Duplicates int64
	First      time.Time // connect_time range of the file's CDRs
	Last       time.Time
	// Days are the UTC days its calls are on (midnight, in unix seconds),
	// in no order.
	Days []int64
}

// FileState is what became of a file ingestion has seen.
type FileState struct {
	Key        string
	Format     string
	Status     string // ingesting, ingested or failed (pending files are not stored)
	Checksum   string
	CDRs       int64
	Rejected   int64
	Duplicates int64
	Error      string
	IngestedAt *time.Time
}

// Duplicate is a call not stored because another had its key (Key): the
// file that first had it is File, or its own file for a call repeated in it.
type Duplicate struct {
	Line        int64
	CallID      string
	ConnectTime time.Time
	SrcNumber   string
	DstNumber   string
	FirstID     int64  // the file that first had the call
	First       string // its key
}

// ErrUnknownFile is wrapped by the error for a file ingestion never saw.
var ErrUnknownFile = errors.New("no such CDR file")

// Source yields a file's rated calls in order. Next returns io.EOF at the
// end; any other error aborts the load, which then leaves nothing behind.
type Source interface {
	Next() (*Record, *Rating, error)
	// Rejects returns the rejected lines to keep, after Next returned io.EOF,
	// and how many lines were rejected in all.
	Rejects() ([]*LineError, int64)
}

// Selection selects stored calls of [From, To).
type Selection struct {
	From, To time.Time
	Client   string // "" for every client
	// Match is "matched" (rated by a rate still in force), "mismatched"
	// (the others), "stale" (rated before their rating data last changed,
	// billing-rules §7), "mismatched_or_stale" or "all".
	Match string
	// Revision is the catalogue revision the rewritten calls are rated at.
	Revision int64
	// RunID, when set, is the rerate run the rewrite's changes (Rewriter's
	// Changes) are recorded with, in the same transaction.
	RunID string
}

// Rewriter rewrites the ratings of stored calls (rerate.Rerater).
type Rewriter interface {
	// Begin starts a pass over the selection with the issued invoices
	// (ID, number, client, currency, period) whose periods meet it.
	Begin(issued []Issued)
	// Rewrite may change the call's rating, and reports whether it did.
	Rewrite(rec *Record, r *Rating) bool
	// Changes are the cost differences of the pass so far.
	Changes() []CostChange
}

// CostChange is a rewrite's cost difference of one client in one currency
// or, with Invoice set, of its calls inside that issued invoice's period.
type CostChange struct {
	Client, Currency string
	Invoice          *Issued
	Amount           int64 // millionths, as Rating.Cost
}

// Issued is an issued invoice's reach, as a rewrite of calls sees it.
type Issued struct {
	ID, Number, Client, Currency string
	Period                       string // its month, YYYY-MM
	From, To                     time.Time
}
