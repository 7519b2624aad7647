package cdr

import (
	"strings"
	"time"
)

// split splits one CSV line into fields (RFC 4180 quoting, within the line).
// Unquoted fields and quoted ones without doubled quotes are substrings of s.
func split(s string, out []string) ([]string, bool) {
	for i := 0; ; {
		if i < len(s) && s[i] == '"' {
			// Quoted field.
			j, esc := i+1, false
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return out, false
				}
				j += k
				if j+1 < len(s) && s[j+1] == '"' {
					esc, j = true, j+2
					continue
				}
				break
			}
			f := s[i+1 : j]
			if esc {
				f = strings.ReplaceAll(f, `""`, `"`)
			}
			out = append(out, f)
			i = j + 1
			if i == len(s) {
				return out, true
			}
			if s[i] != ',' {
				return out, false
			}
			i++
			continue
		}
		k := strings.IndexByte(s[i:], ',')
		if k < 0 {
			return append(out, s[i:]), !strings.Contains(s[i:], `"`)
		}
		if strings.Contains(s[i:i+k], `"`) {
			return out, false
		}
		out = append(out, s[i:i+k])
		i += k + 1
	}
}

// parseSeconds parses a non-negative number of seconds with an optional
// fraction; digits past nanoseconds round up, so that rating's rounding up
// to a whole second stays exact.
func parseSeconds(s string) (time.Duration, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if (whole == "" && frac == "") || len(whole) > 10 || !digits(whole) || !digits(frac) || (dot && frac == "" && whole == "") {
		return 0, false
	}
	w, _ := num(whole)
	var ns int64
	for i := 0; i < 9; i++ {
		ns *= 10
		if i < len(frac) {
			ns += int64(frac[i] - '0')
		}
	}
	if len(frac) > 9 && strings.Trim(frac[9:], "0") != "" {
		ns++
	}
	return time.Duration(w)*time.Second + time.Duration(ns), true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// parseTime parses "YYYY-MM-DD HH:MM:SS" (also with T, a fraction and a zone
// as in RFC 3339); naive times are in loc. The common layout is parsed by
// hand, which is several times faster than time.Parse.
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) == 19 && (s[10] == ' ' || s[10] == 'T') && s[4] == '-' && s[7] == '-' && s[13] == ':' && s[16] == ':' {
		y, ok1 := num(s[0:4])
		mo, ok2 := num(s[5:7])
		d, ok3 := num(s[8:10])
		h, ok4 := num(s[11:13])
		mi, ok5 := num(s[14:16])
		se, ok6 := num(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h < 24 && mi < 60 && se < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, loc).UTC(), true
		}
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
