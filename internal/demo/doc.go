// Package demo generates the demo's month: a catalogue of real destinations
// (country and mobile codes and names from libphonenumber's metadata), rate
// tables in a parent chain, a dozen clients with accounts of every kind, and
// about a million calls in the three CDR formats, with the mismatches,
// duplicates and corrupt lines a real month has. The same seed writes the
// same files, byte for byte.
package demo
