// Package cdr reads call detail record files in the formats of interfaces.md
// (canonical CSV, Asterisk's Master.csv, FreeSWITCH's mod_cdr_csv) into
// normalised records, streaming: one line in memory at a time.
//
// A line that cannot be parsed is not a call: Read returns a *LineError for
// it, carrying the line number, the reason and the raw text, and the caller
// goes on with the next line.
package cdr
