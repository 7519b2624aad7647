package cdr

import (
	"fmt"
	"time"
)

// Archive is one day of a month's calls written to S3 when the month left
// the database (billctl cdr archive): a gzipped CSV file of the stored
// columns, with a header, and what it holds.
type Archive struct {
	Day    time.Time // UTC midnight
	Month  string    // YYYY-MM
	Key    string
	Calls  int64
	Bytes  int64  // of the gzipped object
	SHA256 string // of the gzipped object, hex
}

// ArchiveKey is where the calls of day are archived.
func ArchiveKey(day time.Time) string {
	return fmt.Sprintf("archive/cdrs/%s/%s.csv.gz", day.UTC().Format("2006-01"), day.UTC().Format(time.DateOnly))
}
