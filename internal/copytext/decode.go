package copytext

import (
	"bytes"
	"strconv"
)

// SplitFields splits a row at its tabs into buf's slots, the last taking
// the rest of the row; it returns the fields found. Reusing buf keeps a
// stream of rows off the heap.
func SplitFields(line []byte, buf [][]byte) [][]byte {
	f := buf[:0]
	for len(f) < len(buf)-1 {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			break
		}
		f = append(f, line[:i])
		line = line[i+1:]
	}
	return append(f, line)
}

// IsNull reports whether a field is NULL.
func IsNull(b []byte) bool { return len(b) == 2 && b[0] == '\\' && b[1] == 'N' }

// Unescape decodes a text field ("" for NULL).
func Unescape(b []byte) string {
	if IsNull(b) {
		return ""
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	return string(UnescapeBytes(b))
}

// UnescapeBytes decodes a field that is not NULL; it returns b itself when
// nothing is escaped.
func UnescapeBytes(b []byte) []byte {
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'v':
			out = append(out, '\v')
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// Int parses an integer field; NULL is 0.
func Int(b []byte) (int64, error) {
	if IsNull(b) {
		return 0, nil
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// Millionths parses a numeric field with at most six places, e.g.
// "-1.105991", into millionths; ok is false when it does not fit an int64
// or has more places.
func Millionths(b []byte) (v int64, ok bool) {
	s := b
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	places := -1
	for _, c := range s {
		switch {
		case c == '.' && places < 0:
			places = 0
		case c >= '0' && c <= '9' && places < 6 && v < (1<<63-1)/100:
			v = v*10 + int64(c-'0')
			if places >= 0 {
				places++
			}
		default:
			return 0, false
		}
	}
	if len(s) == 0 || places == 0 {
		return 0, false
	}
	for places = max(places, 0); places < 6; places++ {
		if v > (1<<63-1)/10 {
			return 0, false
		}
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// LineWriter hands each row of a COPY TO stream to Line, as an io.Writer
// that pgconn's CopyTo writes into. The row is only valid during the call.
type LineWriter struct {
	Line    func([]byte) error
	partial []byte
	err     error
}

func (w *LineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && w.err == nil {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		line := p[:i]
		p = p[i+1:]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = line[:0]
		}
		w.err = w.Line(line)
	}
	return n, w.err
}

// Err is the error Line returned, if any.
func (w *LineWriter) Err() error { return w.err }
