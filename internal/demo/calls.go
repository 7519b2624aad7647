package demo

import (
	"bufio"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// call is one generated call, before it is written in its switch's format.
type call struct {
	at     int64 // answer instant (start when unanswered), Unix seconds
	ring   int64 // seconds from start to answer
	tenths int64 // duration in tenths of a second; 0 unanswered
	disp   uint8 // index into dispositions when unanswered
	seq    int
	src    string
	dst    string
	ip     string
	acct   *account
	client *client
}

var dispositions = []struct{ asterisk, freeswitch string }{
	{"NO ANSWER", "NO_ANSWER"}, {"BUSY", "USER_BUSY"}, {"FAILED", "CALL_REJECTED"}}

// source is where a share of the month's calls comes from.
type source struct {
	client *client // nil for scanners
	acct   *account
	sw     string
	cum    float64 // cumulative weight
}

// hourWeight shapes the day: calls follow office hours in the caller's zone.
var hourWeight = []float64{2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 19, 18, 15, 16, 18, 18, 16, 13, 10, 8, 6, 5, 4, 3}

const maxHourWeight = 19

func (g *gen) sources() []source {
	var out []source
	total := 0.0
	for i := range clients {
		c := &clients[i]
		for j := range c.accounts {
			a := &c.accounts[j]
			total += c.weight * a.share * (1 - scannerWeight)
			out = append(out, source{client: c, acct: a, sw: a.sw, cum: total})
		}
	}
	for _, sw := range []string{sbcEast, sbcWest} {
		total += scannerWeight / 2
		out = append(out, source{sw: sw, cum: total})
	}
	for i := range out {
		out[i].cum /= total
	}
	return out
}

// span is the client's period of the month (its invoice day to the same
// day of the next month, in its zone), or the calendar month in UTC.
func (g *gen) span(c *client) (time.Time, time.Time, *time.Location) {
	if c == nil {
		s := g.start()
		return s, s.AddDate(0, 1, 0), time.UTC
	}
	loc, err := time.LoadLocation(c.tz)
	if err != nil {
		loc = time.UTC
	}
	s := time.Date(g.m.Year, g.m.Month, c.day, 0, 0, 0, 0, loc)
	return s, s.AddDate(0, 1, 0), loc
}

// instant draws a moment of [from, to), busier in office hours of loc.
func (g *gen) instant(from, to time.Time, loc *time.Location) int64 {
	secs := to.Unix() - from.Unix()
	for {
		t := from.Unix() + g.r.Int64N(secs)
		if g.r.Float64()*maxHourWeight < hourWeight[time.Unix(t, 0).In(loc).Hour()] {
			return t
		}
	}
}

func (g *gen) digits(b *strings.Builder, n int) {
	for i := 0; i < n; i++ {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
}

// number draws a full number (no +) of destination d.
func (g *gen) number(d *Destination) string {
	var b strings.Builder
	b.WriteString(d.Code)
	if d.Code == "1" { // NANP: area and exchange codes do not start with 0 or 1
		b.WriteByte(byte('2' + g.r.IntN(8)))
		g.digits(&b, 2)
		b.WriteByte(byte('2' + g.r.IntN(8)))
		g.digits(&b, 6)
		return b.String()
	}
	g.digits(&b, d.Length-len(d.Code))
	return b.String()
}

// destination draws where a client's call goes: mostly home, then the
// popular international destinations, then anywhere.
func (g *gen) destination(home string) *Destination {
	u := g.r.Float64()
	var region string
	switch {
	case u < 0.5:
		region = home
	case u < 0.88:
		region = popular[g.r.IntN(len(popular))]
	default:
		return &g.deck[g.r.IntN(len(g.deck))]
	}
	if m := g.mobile[region]; m != nil && g.r.IntN(2) == 0 {
		return m
	}
	return g.fixed[region]
}

func (g *gen) call(s *source, seq int) call {
	c := call{seq: seq, client: s.client, acct: s.acct}
	from, to, loc := g.span(s.client)
	c.at = g.instant(from, to, loc)
	home := "US"
	if s.client != nil {
		home = s.client.home
	}
	dst := g.number(g.destination(home))
	switch u := g.r.Float64(); {
	case u < 0.0002: // a feature code dialled through the trunk
		dst = "*72" + dst
	case u < 0.0005: // a satellite phone: no table prices it
		var b strings.Builder
		b.WriteString("8816")
		g.digits(&b, 8)
		dst = b.String()
	}
	answered := 0.72
	switch {
	case s.client == nil:
		answered = 0.05
		c.ip = fmt.Sprintf("185.220.%d.%d", 100+g.r.IntN(4), 1+g.r.IntN(254))
	case s.acct.kind == "ani":
		c.src = s.acct.value
	case s.acct.kind == "ip":
		c.ip = s.acct.value
	}
	if c.src == "" {
		c.src = g.number(g.fixed[home])
	}
	if s.acct != nil && s.acct.techPrefix != "" {
		dst = s.acct.techPrefix + dst
	}
	c.dst = dst
	c.ring = 2 + g.r.Int64N(14)
	if g.r.Float64() < answered {
		secs := math.Min(7200, math.Max(1, math.Exp(g.r.NormFloat64()*1.0+4.3)))
		c.tenths = int64(secs*10) + 1
	} else {
		c.disp = uint8(g.r.IntN(10) / 6 * (1 + g.r.IntN(2)))
	}
	return c
}

func (g *gen) calls() error {
	srcs := g.sources()
	bySwitch := map[string][]call{}
	for i := 0; i < g.m.Calls; i++ {
		u := g.r.Float64()
		k := sort.Search(len(srcs), func(j int) bool { return srcs[j].cum > u })
		if k == len(srcs) {
			k--
		}
		bySwitch[srcs[k].sw] = append(bySwitch[srcs[k].sw], g.call(&srcs[k], i))
	}
	// Late calls of sbc-east, in a file a disk-full left corrupt.
	var late []call
	for i := 0; i < g.m.Calls/500; i++ {
		s := &srcs[g.r.IntN(3)] // northwind's trunks
		late = append(late, g.call(s, g.m.Calls+i))
	}
	month := fmt.Sprintf("%04d-%02d", g.m.Year, g.m.Month)
	type series struct {
		sw, format, name string
		gz               int // the part written gzipped
		rows             func(*bufio.Writer, []call)
	}
	for _, s := range []series{
		{sbcEast, "canonical", "sbc-east-" + month + "-%d.csv", 2, g.canonical(false)},
		{sbcWest, "canonical", "sbc-west-" + month + "-%d.csv", 3, g.canonical(true)},
		{pbx, "asterisk", "pbx1-Master-" + month + "-%d.csv", 1, g.asterisk},
		{freeSwitch, "freeswitch", "fs1-cdr-" + month + "-%d.csv", 2, g.freeswitch},
	} {
		write := s.rows
		if s.format == "canonical" {
			write = func(w *bufio.Writer, cs []call) { w.WriteString(canonicalHeader); s.rows(w, cs) }
		}
		cs := bySwitch[s.sw]
		sort.Slice(cs, func(i, j int) bool { return cs[i].at < cs[j].at || cs[i].at == cs[j].at && cs[i].seq < cs[j].seq })
		for part := 1; part <= 3; part++ {
			chunk := cs[len(cs)*(part-1)/3 : len(cs)*part/3]
			name := filepath.Join("cdrs", s.format, fmt.Sprintf(s.name, part))
			if part == s.gz {
				name += ".gz"
			}
			if err := g.file(name, func(w *bufio.Writer) { write(w, chunk) }); err != nil {
				return err
			}
			g.sum.Files = append(g.sum.Files, File{Path: name, Format: s.format, Calls: len(chunk)})
			g.sum.Calls += len(chunk)
			if s.sw == freeSwitch && part == 2 { // delivered again, unzipped, under another name
				again := filepath.Join("cdrs", s.format, fmt.Sprintf(strings.TrimSuffix(s.name, ".csv")+"-resent.csv", part))
				if err := g.file(again, func(w *bufio.Writer) { write(w, chunk) }); err != nil {
					return err
				}
				g.sum.Files = append(g.sum.Files, File{Path: again, Format: s.format, Calls: len(chunk), Duplicate: name})
			}
		}
	}
	sort.Slice(late, func(i, j int) bool { return late[i].at < late[j].at })
	name := filepath.Join("cdrs", "canonical", "sbc-east-"+month+"-4-recovered.csv")
	broken := 0
	write := g.canonical(false)
	err := g.file(name, func(w *bufio.Writer) {
		w.WriteString(canonicalHeader)
		for i := range late {
			if i%40 == 39 {
				w.WriteString(g.corrupt(late[i]))
				w.WriteByte('\n')
				broken++
				continue
			}
			write(w, late[i:i+1])
		}
	})
	g.sum.Files = append(g.sum.Files, File{Path: name, Format: "canonical", Calls: len(late) - broken, Corrupt: broken})
	return err
}

const canonicalHeader = "call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n"

func canonicalDisposition(c *call) string {
	if c.tenths > 0 {
		return "ANSWERED"
	}
	return dispositions[c.disp].asterisk
}

// canonical writes the billrun format: sbc-east with naive UTC times and
// durations to the tenth, sbc-west with RFC 3339 times and E.164 numbers.
func (g *gen) canonical(west bool) func(*bufio.Writer, []call) {
	return func(w *bufio.Writer, cs []call) {
		for i := range cs {
			c := &cs[i]
			t := time.Unix(c.at, 0).UTC()
			user := ""
			if c.acct != nil && c.acct.kind == "username" {
				user = c.acct.value
			}
			ip := c.ip
			if ip == "" {
				ip = "192.0.2.200"
			}
			if west {
				fmt.Fprintf(w, "%08x-%04x-4%03x-%04x-%012x,%s,%d,%s,%s,+%s,%s,%s\n", uint32(c.seq), c.at&0xffff, c.seq&0xfff, 0x8000|c.ring,
					uint64(c.at)<<8|uint64(c.seq&0xff), t.Format(time.RFC3339), (c.tenths+9)/10, ip, user, c.src, plus(c.dst), canonicalDisposition(c))
				continue
			}
			fmt.Fprintf(w, "e%09d,%s,%d.%d,%s,%s,%s,%s,%s\n", c.seq, t.Format(time.DateTime), c.tenths/10, c.tenths%10,
				ip, user, c.src, c.dst, canonicalDisposition(c))
		}
	}
}

// plus writes a dialled number in E.164 with its +, feature codes as dialled.
func plus(dst string) string {
	if dst == "" || dst[0] < '0' || dst[0] > '9' {
		return dst
	}
	return "+" + dst
}

func aq(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// asterisk writes cdr_csv's Master.csv: strings quoted, numbers not.
func (g *gen) asterisk(w *bufio.Writer, cs []call) {
	for i := range cs {
		c := &cs[i]
		start := c.at - c.ring
		account, peer := "", "trunk"
		switch {
		case c.acct == nil:
		case c.acct.kind == "username":
			account, peer = c.acct.value, c.acct.value
		case c.acct.kind == "ip":
			peer = c.acct.value
		default:
			peer = c.client.id + "-legacy"
		}
		billsec := (c.tenths + 9) / 10
		answer, disp := "", dispositions[c.disp].asterisk
		end := start + c.ring
		if c.tenths > 0 {
			answer, disp, end = time.Unix(c.at, 0).UTC().Format(time.DateTime), "ANSWERED", c.at+billsec
		}
		id := fmt.Sprintf("%d.%d", start, c.seq)
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%d\n",
			aq(account), aq(c.src), aq(c.dst), aq("from-internal"), aq(fmt.Sprintf("%q <%s>", c.client.name, c.src)),
			aq(fmt.Sprintf("SIP/%s-%08x", peer, c.seq)), aq(fmt.Sprintf("SIP/carrier-%08x", c.seq+1)), aq("Dial"),
			aq("SIP/carrier/"+c.dst+",60"), aq(time.Unix(start, 0).UTC().Format(time.DateTime)), aq(answer),
			aq(time.Unix(end, 0).UTC().Format(time.DateTime)), end-start, billsec, aq(disp), aq("DOCUMENTATION"), aq(""),
			aq(id), aq(id), aq(""), c.seq)
	}
}

// freeswitch writes mod_cdr_csv's default template: every field quoted.
func (g *gen) freeswitch(w *bufio.Writer, cs []call) {
	for i := range cs {
		c := &cs[i]
		start := c.at - c.ring
		billsec := (c.tenths + 9) / 10
		answer, cause, end := "", dispositions[c.disp].freeswitch, start+c.ring
		if c.tenths > 0 {
			answer, cause, end = time.Unix(c.at, 0).UTC().Format(time.DateTime), "NORMAL_CLEARING", c.at+billsec
		}
		uuid := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(c.seq), uint16(start), c.seq&0xfff, c.ring, uint64(start)<<12|uint64(c.seq&0xfff))
		codec := "PCMU"
		if c.seq%3 == 0 {
			codec = "G729"
		}
		fields := []string{c.client.name, c.src, c.dst, "public", time.Unix(start, 0).UTC().Format(time.DateTime), answer,
			time.Unix(end, 0).UTC().Format(time.DateTime), strconv.FormatInt(end-start, 10), strconv.FormatInt(billsec, 10),
			cause, uuid, "", c.acct.value, codec, codec}
		if c.acct.kind != "username" {
			fields[12] = ""
		}
		for j, f := range fields {
			if j > 0 {
				w.WriteByte(',')
			}
			w.WriteString(aq(f))
		}
		w.WriteByte('\n')
	}
}

// corrupt writes what a disk-full or a bad transfer leaves of a line.
func (g *gen) corrupt(c call) string {
	t := time.Unix(c.at, 0).UTC().Format(time.DateTime)
	switch g.r.IntN(4) {
	case 0: // cut short
		return fmt.Sprintf("e%09d,%s,%d", c.seq, t, c.tenths/10)
	case 1: // a garbled time
		return fmt.Sprintf("e%09d,%s,%d,%s,,%s,%s,ANSWERED", c.seq, strings.Replace(t, "1", "l", 1)+"x", c.tenths/10, c.ip, c.src, c.dst)
	case 2: // no destination
		return fmt.Sprintf("e%09d,%s,%d,%s,,%s,,ANSWERED", c.seq, t, c.tenths/10, c.ip, c.src)
	default: // binary noise
		b := make([]byte, 24+g.r.IntN(40))
		for i := range b {
			b[i] = byte(1 + g.r.IntN(254))
			if b[i] == '\n' || b[i] == '\r' || b[i] == '"' || b[i] == ',' {
				b[i] = 0
			}
		}
		return string(b)
	}
}
