package copybin

import (
	"encoding/binary"
	"strings"
	"time"
)

// Header starts a binary COPY stream: the signature, no flags, no extension.
var Header = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// Trailer ends a binary COPY stream.
var Trailer = []byte{0xff, 0xff}

// AppendRow starts a row of fields fields.
func AppendRow(b []byte, fields int16) []byte {
	return binary.BigEndian.AppendUint16(b, uint16(fields))
}

// AppendNull appends a NULL field.
func AppendNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 0xffffffff) }

// AppendInt8 appends a bigint.
func AppendInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

// AppendInt4 appends an integer.
func AppendInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

// AppendText appends a text (or char(n)) field. NUL cannot be stored in
// text and is dropped, as the text format's encoder does.
func AppendText(b []byte, s string) []byte {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendNullText is AppendText with "" written as NULL.
func AppendNullText(b []byte, s string) []byte {
	if s == "" {
		return AppendNull(b)
	}
	return AppendText(b, s)
}

// epoch is PostgreSQL's: timestamps count microseconds from it.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// AppendTimestamptz appends t, truncated to the microsecond.
func AppendTimestamptz(b []byte, t time.Time) []byte {
	return AppendInt8(b, t.UnixMicro()-epoch)
}

// AppendMillionths appends v millionths as a numeric of scale 6.
func AppendMillionths(b []byte, v int64) []byte {
	u, sign := uint64(v), uint16(0)
	if v < 0 {
		u, sign = -u, 0x4000
	}
	// Base-10000 digits: the integer part's, then the fraction's six
	// places as two digits (the second holding two places and two zeros).
	var digits [8]uint16
	n := 0
	for ip := u / 1e6; ip > 0; ip /= 10000 {
		n++
	}
	weight := n - 1
	for i, ip := n-1, u/1e6; i >= 0; i, ip = i-1, ip/10000 {
		digits[i] = uint16(ip % 10000)
	}
	frac := u % 1e6
	digits[n], digits[n+1] = uint16(frac/100), uint16(frac%100*100)
	last := n + 2
	first := 0
	for first < last && digits[first] == 0 { // leading zeros move the weight
		first++
		weight--
	}
	for last > first && digits[last-1] == 0 {
		last--
	}
	if first == last { // zero
		weight, sign = 0, 0
	}
	nd := last - first
	b = binary.BigEndian.AppendUint32(b, uint32(8+2*nd))
	b = binary.BigEndian.AppendUint16(b, uint16(nd))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, 6)
	for _, d := range digits[first:last] {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}

// AppendSeconds appends d in seconds, rounded up to the microsecond, as a
// numeric of scale 6 (copytext.AppendSeconds in binary).
func AppendSeconds(b []byte, d time.Duration) []byte {
	return AppendMillionths(b, int64((d+time.Microsecond-1)/time.Microsecond))
}
