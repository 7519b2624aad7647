package catalog

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Error is a bad line in an import file.
type Error struct {
	File  string
	Line  int    // 1-based; the header is line 1
	Field string // column name; "" for the line as a whole
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: field %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// Errorf returns an *Error; importers use it for checks against the database.
func Errorf(file string, line int, field, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// row is one data line of a CSV file with named columns.
type row struct {
	file   string
	line   int
	cols   map[string]int
	fields []string
	err    *Error // the first field error
}

// has tells whether the file has column name.
func (r *row) has(name string) bool {
	_, ok := r.cols[name]
	return ok
}

// get returns the trimmed value of column name ("" when the column is absent).
func (r *row) get(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	v := strings.TrimSpace(r.fields[i])
	// One rule for every text that is stored: UTF-8, no NUL, bounded.
	switch {
	case !utf8.ValidString(v):
		r.fail(name, "%q is not valid UTF-8", clip(v))
		return ""
	case strings.IndexByte(v, 0) >= 0:
		r.fail(name, "%q holds a NUL byte", clip(v))
		return ""
	case len(v) > maxField:
		r.fail(name, "%d bytes: at most %d", len(v), maxField)
		return ""
	}
	return v
}

// maxField bounds a field's length; names are shorter still.
const maxField = 1000

// clip shortens what an error quotes of a field or a header.
func clip(s string) string {
	if len(s) <= 60 {
		return s
	}
	return strings.ToValidUTF8(s[:60], "") + "…"
}

// fail records the first error of the row.
func (r *row) fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = Errorf(r.file, r.line, field, format, args...)
	}
}

// readCSV reads a CSV file whose header must hold every required column and
// may hold the optional ones, in any order; each data line goes to fn.
func readCSV(file string, in io.Reader, required, optional []string, fn func(*row)) error {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Errorf(file, 1, "", "empty file: want a header %s", strings.Join(required, ","))
	}
	if err != nil {
		return csvError(file, err)
	}
	cols := make(map[string]int, len(header))
	known := make(map[string]bool)
	for _, c := range append(append([]string{}, required...), optional...) {
		known[c] = true
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[h] {
			return Errorf(file, 1, clip(h), "unknown column (want %s)", strings.Join(required, ","))
		}
		if _, dup := cols[h]; dup {
			return Errorf(file, 1, h, "column given twice")
		}
		cols[h] = i
	}
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			return Errorf(file, 1, c, "missing column (want %s)", strings.Join(required, ","))
		}
	}
	r := row{file: file, cols: cols}
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(fields) != len(header) {
			return Errorf(file, line, "", "%d fields, the header has %d", len(fields), len(header))
		}
		r.line, r.fields, r.err = line, fields, nil
		fn(&r)
		if r.err != nil {
			return r.err
		}
	}
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Errorf(file, pe.StartLine, "", "%v", pe.Err)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// keys reports a natural key seen twice in one file.
type keys map[string]int

func (k keys) once(r *row, field, key string) {
	if prev, ok := k[key]; ok {
		r.fail(field, "%q again (first on line %d)", key, prev)
		return
	}
	k[key] = r.line
}
