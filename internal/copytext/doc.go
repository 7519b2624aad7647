// Package copytext encodes and decodes PostgreSQL's COPY text format: the
// rows billrun streams into and out of the database without boxing each
// value. It knows the format only, not the tables.
package copytext
