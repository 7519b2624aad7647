// Package copybin encodes rows in PostgreSQL's binary COPY format: the
// rows billrun streams into the database without boxing each value, which
// the server reads without parsing text (timestamps and numerics above all).
// It knows the format only, not the tables.
package copybin
