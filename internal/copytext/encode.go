package copytext

import (
	"strconv"
	"time"
)

// AppendText escapes s as a COPY text field. NUL cannot be stored in text
// and is dropped.
func AppendText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0:
		default:
			b = append(b, c)
		}
	}
	return b
}

// AppendNullText is AppendText with "" written as NULL.
func AppendNullText(b []byte, s string) []byte {
	if s == "" {
		return append(b, Null...)
	}
	return AppendText(b, s)
}

// Null is the NULL field.
const Null = `\N`

// AppendTime renders t (in UTC) as "2006-01-02 15:04:05.999999+00".
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendPad(b, y, 4)
	b = append(b, '-')
	b = appendPad(b, int(mo), 2)
	b = append(b, '-')
	b = appendPad(b, d, 2)
	b = append(b, ' ')
	b = appendPad(b, h, 2)
	b = append(b, ':')
	b = appendPad(b, mi, 2)
	b = append(b, ':')
	b = appendPad(b, s, 2)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendPad(b, us, 6)
	}
	return append(b, "+00"...)
}

// AppendSeconds renders d in seconds, rounded up to the microsecond, so that
// a call read back rounds up to the same whole seconds as when it was rated.
func AppendSeconds(b []byte, d time.Duration) []byte {
	us := (d + time.Microsecond - 1) / time.Microsecond
	b = strconv.AppendInt(b, int64(us/1e6), 10)
	if frac := int(us % 1e6); frac != 0 {
		b = append(b, '.')
		b = appendPad(b, frac, 6)
	}
	return b
}

func appendPad(b []byte, v, width int) []byte {
	var tmp [8]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}

// AppendMillionths renders v millionths with six places, e.g. "-0.024000".
func AppendMillionths(b []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	b = append(b, '.')
	return appendPad(b, int(u%1e6), 6)
}
