package cdr

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is a CDR file format.
type Format string

// The formats of interfaces.md.
const (
	Canonical  Format = "canonical"
	Asterisk   Format = "asterisk"
	FreeSWITCH Format = "freeswitch"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Canonical, Asterisk, FreeSWITCH:
		return f, nil
	}
	return "", fmt.Errorf("unknown CDR format %q (canonical, asterisk or freeswitch)", s)
}

// Record is a normalised CDR (billing-rules §2).
type Record struct {
	Line        int64 // 1-based line number in the file
	CallID      string
	ConnectTime time.Time // UTC
	Duration    time.Duration
	OrigIP      string
	OrigAccount string
	SrcNumber   string
	DstNumber   string
	Disposition string
}

// LineError is a line that is not a call; the file goes on.
type LineError struct {
	Line   int64
	Reason string
	Raw    string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// maxLine bounds one line; a longer one is rejected rather than buffered.
const maxLine = 64 << 10

// Reader reads records from a CDR file.
type Reader struct {
	in     *bufio.Reader
	format Format
	loc    *time.Location
	line   int64
	cols   [numFields]int // canonical: column of each field
	ncols  int
	fields []string
	buf    []byte
}

// Options tune a Reader.
type Options struct {
	// Location of naive timestamps in Asterisk and FreeSWITCH files
	// (the switch's configured zone); nil is UTC.
	Location *time.Location
}

// NewReader returns a reader of in, which holds a file in format f.
func NewReader(in io.Reader, f Format, opt Options) *Reader {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Reader{in: bufio.NewReaderSize(in, 256<<10), format: f, loc: loc}
}

// Format is the reader's format.
func (r *Reader) Format() Format { return r.format }

// Line is the number of the last line read.
func (r *Reader) Line() int64 { return r.line }

// Read reads the next record into rec. It returns io.EOF at the end, a
// *LineError for a rejected line, and any other error for a file that cannot
// be read on (an I/O error, a corrupt compressed stream, a bad header).
func (r *Reader) Read(rec *Record) error {
	for {
		line, err := r.next()
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if r.format == Canonical && r.ncols == 0 {
			if err := r.header(line); err != nil {
				return err
			}
			continue
		}
		*rec = Record{Line: r.line}
		if reason := r.parse(line, rec); reason != "" {
			// Kept as text: bytes PostgreSQL cannot store are replaced.
			return &LineError{Line: r.line, Reason: reason, Raw: strings.ToValidUTF8(strings.ReplaceAll(string(line), "\x00", ""), "\uFFFD")}
		}
		return nil
	}
}

// next returns the next line without its end of line.
func (r *Reader) next() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.in.ReadSlice('\n')
		if len(r.buf)+len(chunk) <= maxLine {
			r.buf = append(r.buf, chunk...)
		} else if len(r.buf) < maxLine {
			r.buf = append(r.buf, chunk[:maxLine-len(r.buf)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || len(r.buf) == 0) {
			return nil, err
		}
		r.line++
		line := r.buf
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if r.line == 1 {
			// A byte-order mark, as Windows tools write, is no part of
			// the first field, whether the file has a header or not.
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		return bytes.TrimSuffix(line, []byte{'\r'}), nil
	}
}

// fields of a normalised record, in canonical header order.
const (
	fCallID = iota
	fConnectTime
	fDuration
	fOrigIP
	fOrigAccount
	fSrcNumber
	fDstNumber
	fDisposition
	numFields
)

// CanonicalHeader is the header row of a canonical file.
var CanonicalHeader = []string{"call_id", "connect_time", "duration", "orig_ip", "orig_account", "src_number", "dst_number", "disposition"}

func (r *Reader) header(line []byte) error {
	fields, ok := split(string(line), r.fields[:0])
	if !ok {
		return fmt.Errorf("line %d: the header is not valid CSV", r.line)
	}
	for i := range r.cols {
		r.cols[i] = -1
	}
	for i, h := range fields {
		h = strings.ToLower(strings.TrimSpace(h))
		for f, name := range CanonicalHeader {
			if h == name {
				r.cols[f] = i
			}
		}
	}
	for f, c := range r.cols {
		if c < 0 {
			return fmt.Errorf("line %d: not a canonical CDR file: the header lacks %s (want %s)", r.line, CanonicalHeader[f], strings.Join(CanonicalHeader, ","))
		}
	}
	r.ncols = len(fields)
	return nil
}

// parse fills rec from a data line, or returns why it cannot.
func (r *Reader) parse(line []byte, rec *Record) string {
	if len(r.buf) >= maxLine {
		return fmt.Sprintf("line longer than %d bytes", maxLine)
	}
	s := string(line) // one allocation; fields are substrings of it
	fields, ok := split(s, r.fields[:0])
	r.fields = fields
	if !ok {
		return "unbalanced quotes"
	}
	var reason string
	switch r.format {
	case Canonical:
		reason = r.canonical(fields, rec)
	case Asterisk:
		reason = r.asterisk(s, fields, rec)
	case FreeSWITCH:
		reason = r.freeswitch(fields, rec)
	default:
		reason = "unknown format"
	}
	if reason == "" && (!utf8.Valid(line) || bytes.IndexByte(line, 0) >= 0) {
		reason = storableText(rec)
	}
	if y := rec.ConnectTime.Year(); reason == "" && (y < MinYear || y > MaxYear) {
		// 1970-01-01 is a switch's clock at zero, 9999 a placeholder.
		reason = fmt.Sprintf("connect_time %s is outside the years %d to %d", rec.ConnectTime.Format(time.DateTime), MinYear, MaxYear)
	}
	return reason
}

// MinYear and MaxYear bound the connect times of calls that are stored.
const MinYear, MaxYear = 2000, 2099

// storableText names the first field of rec that PostgreSQL could not store
// as text: not UTF-8, or holding a NUL byte. A line is checked whole first,
// so that only a bad one pays for this.
func storableText(rec *Record) string {
	for _, f := range []struct{ name, v string }{{"call_id", rec.CallID}, {"orig_ip", rec.OrigIP}, {"orig_account", rec.OrigAccount},
		{"src_number", rec.SrcNumber}, {"dst_number", rec.DstNumber}, {"disposition", rec.Disposition}} {
		if !utf8.ValidString(f.v) {
			return fmt.Sprintf("field %s is not valid UTF-8: %q", f.name, f.v)
		}
		if strings.IndexByte(f.v, 0) >= 0 {
			return fmt.Sprintf("field %s holds a NUL byte: %q", f.name, f.v)
		}
	}
	return ""
}

func (r *Reader) canonical(f []string, rec *Record) string {
	if len(f) != r.ncols {
		return fmt.Sprintf("%d fields, the header has %d", len(f), r.ncols)
	}
	c := &r.cols
	rec.CallID = f[c[fCallID]]
	if rec.CallID == "" {
		return "call_id is empty"
	}
	t, ok := parseTime(f[c[fConnectTime]], time.UTC)
	if !ok {
		return fmt.Sprintf("connect_time %q is not RFC 3339 or YYYY-MM-DD HH:MM:SS", f[c[fConnectTime]])
	}
	rec.ConnectTime = t
	d, ok := parseSeconds(f[c[fDuration]])
	if !ok {
		return fmt.Sprintf("duration %q is not a number of seconds", f[c[fDuration]])
	}
	rec.Duration = d
	rec.OrigIP, rec.OrigAccount = f[c[fOrigIP]], f[c[fOrigAccount]]
	rec.SrcNumber, rec.DstNumber, rec.Disposition = f[c[fSrcNumber]], f[c[fDstNumber]], f[c[fDisposition]]
	if rec.DstNumber == "" {
		return "dst_number is empty"
	}
	return ""
}

func (r *Reader) asterisk(line string, f []string, rec *Record) string {
	if len(f) < 16 || len(f) > 21 {
		return fmt.Sprintf("%d fields, Master.csv has 16 to 21", len(f))
	}
	rec.OrigAccount, rec.SrcNumber, rec.DstNumber, rec.Disposition = f[0], f[1], f[2], f[14]
	rec.OrigIP = channelIP(f[5])
	at := f[10] // answer; an unanswered call has none, so take its start
	if at == "" {
		at = f[9]
	}
	t, ok := parseTime(at, r.loc)
	if !ok {
		return fmt.Sprintf("answer time %q is not YYYY-MM-DD HH:MM:SS", at)
	}
	rec.ConnectTime = t
	d, ok := parseSeconds(f[13])
	if !ok {
		return fmt.Sprintf("billsec %q is not a number of seconds", f[13])
	}
	rec.Duration = d
	if len(f) > 17 && f[17] != "" {
		rec.CallID = f[17]
	} else {
		rec.CallID = lineID(line)
	}
	if rec.DstNumber == "" {
		return "dst is empty"
	}
	return ""
}

func (r *Reader) freeswitch(f []string, rec *Record) string {
	if len(f) != 15 {
		return fmt.Sprintf("%d fields, mod_cdr_csv's default template has 15", len(f))
	}
	rec.SrcNumber, rec.DstNumber, rec.Disposition, rec.CallID, rec.OrigAccount = f[1], f[2], f[9], f[10], f[12]
	at := f[5]
	if at == "" {
		at = f[4]
	}
	t, ok := parseTime(at, r.loc)
	if !ok {
		return fmt.Sprintf("answer_stamp %q is not YYYY-MM-DD HH:MM:SS", at)
	}
	rec.ConnectTime = t
	d, ok := parseSeconds(f[8])
	if !ok {
		return fmt.Sprintf("billsec %q is not a number of seconds", f[8])
	}
	rec.Duration = d
	if rec.CallID == "" {
		return "uuid is empty"
	}
	if rec.DstNumber == "" {
		return "destination_number is empty"
	}
	return ""
}

// channelIP takes the peer of a channel such as "SIP/10.0.0.1-0000002a" when
// it is an IP address: Master.csv has no source address of its own.
func channelIP(ch string) string {
	_, peer, ok := strings.Cut(ch, "/")
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(peer, '-'); i > 0 {
		peer = peer[:i]
	}
	if _, err := netip.ParseAddr(peer); err != nil {
		return ""
	}
	return peer
}

// lineID is a stable call id for a line that carries none.
func lineID(line string) string {
	h := sha256.Sum256([]byte(line))
	return "sha256:" + hex.EncodeToString(h[:12])
}
