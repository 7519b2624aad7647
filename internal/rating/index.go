package rating

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// index finds, for a number and an instant, the rate in force with the
// longest code: over one table's rates, or over a whole chain's merged into
// one trie, where at equal code length the table nearer the account's wins
// (billing-rules §2: an ancestor's rate wins only with a strictly longer code).
// Among a table's rates for a code, one with the longest source code that
// starts the call's origin wins, else the one without a source code; a code
// none of whose rates applies to the origin is passed over (decisions.md).
type index struct {
	trie     trie
	jump     []int32    // first jumpDigits digits → state; see jumps
	codes    []codeInfo // per code
	versions []version  // a code's, by table priority, each table's newest first
	windows  []window   // versions' windows, kept apart so a walk touches little memory
}

// window is when a version is in force: [from, end) in unix microseconds.
type window struct{ from, end int64 }

// codeInfo locates a code's versions and copies the first one, with its
// window, so that the common case reads one record. A code with rates for
// given origins has an empty window here: it always takes the slow path.
type codeInfo struct {
	window
	first, count int32
	srcs         bool    // some version names a source code
	newest       version // versions[first], here to save a cache miss
}

// entry is a compiled rate going into an index, with its table's priority
// (0 first) and what it sorts by kept inline: sorting a large table touches
// no rate through a pointer.
type entry struct {
	code string
	src  string // source code; "" for any origin
	from int64  // effective from, unix microseconds
	pos  int
	v    version
}

// byCode orders entries by code, then table priority, then source code,
// then newest first.
func byCode(a, b entry) int {
	if c := strings.Compare(a.code, b.code); c != 0 {
		return c
	}
	if a.pos != b.pos {
		return cmp.Compare(a.pos, b.pos)
	}
	if c := strings.Compare(a.src, b.src); c != 0 {
		return c
	}
	return cmp.Compare(b.from, a.from)
}

// newIndex indexes entries, which it sorts unless sorted says they are.
func newIndex(entries []entry, sorted bool) (*index, error) {
	if !sorted {
		slices.SortFunc(entries, byCode)
	}
	ix := &index{versions: make([]version, 0, len(entries)), windows: make([]window, 0, len(entries))}
	codes := make([]string, 0, len(entries))
	ix.codes = make([]codeInfo, 0, len(entries))
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].code == entries[i].code {
			j++
		}
		codes = append(codes, entries[i].code)
		ix.codes = append(ix.codes, codeInfo{first: int32(len(ix.versions)), count: int32(j - i)})
		next, pos, src := int64(math.MaxInt64), -1, ""
		for _, e := range entries[i:j] {
			if e.pos != pos || e.src != src { // a table's versions for an origin: each ends where the next begins
				next, pos, src = math.MaxInt64, e.pos, e.src
			}
			if e.src != "" {
				ix.codes[len(ix.codes)-1].srcs = true
			}
			w := window{from: e.from, end: next}
			if end := e.v.src.End; !end.IsZero() && end.UnixMicro() < w.end {
				w.end = end.UnixMicro() // a newer version supersedes this one
			}
			ix.versions, ix.windows = append(ix.versions, e.v), append(ix.windows, w)
			next = w.from
		}
		i = j
	}
	for k := range ix.codes {
		ix.codes[k].window = ix.windows[ix.codes[k].first]
		if ix.codes[k].srcs {
			ix.codes[k].window = window{from: math.MaxInt64, end: math.MinInt64}
		}
		ix.codes[k].newest = ix.versions[ix.codes[k].first]
	}
	var err error
	if ix.trie, err = newTrie(codes); err != nil {
		return nil, err
	}
	ix.jump = ix.trie.jumps()
	return ix, nil
}

// lookup returns the version in force at t for a call from src with the
// longest code that prefixes num, and that code's length (0: none).
func (ix *index) lookup(num string, at int64, src string) (*version, int32) {
	cells := ix.trie.cells
	var best *version
	var bestLen int32
	s, base, i := int32(0), cells[0].base, 0 // one load per digit: the cell holds base, check and payload
	if len(num) >= jumpDigits {
		// The first digits hold no code: start below them, or give up.
		switch j := ix.jump[jumpIndex(num)]; {
		case j >= 0:
			s, base, i = j, cells[j].base, jumpDigits
		case j == jumpNothing:
			return nil, 0
		}
	}
	for ; i < len(num); i++ {
		n := base + int32(num[i]-'0')
		if uint(n) >= uint(len(cells)) {
			break
		}
		c := &cells[n]
		if c.check != s {
			break
		}
		s, base = n, c.base
		if c.payload < 0 {
			continue
		}
		if v := ix.codes[c.payload].at(ix, at, src); v != nil {
			best, bestLen = v, int32(i+1)
		}
	}
	return best, bestLen
}

// at returns the code's version in force at t for a call from src, or nil:
// the first table (by priority) with a version in force decides.
func (c *codeInfo) at(ix *index, t int64, src string) *version {
	if c.from <= t && t < c.end {
		return &c.newest
	}
	if c.srcs {
		return c.atFrom(ix, t, src)
	}
	var cur *table
	done := false
	for k := c.first; k < c.first+c.count; k++ {
		v := &ix.versions[k]
		if v.tbl != cur {
			cur, done = v.tbl, false
		}
		if done {
			continue
		}
		if w := &ix.windows[k]; w.from <= t {
			if t < w.end {
				return v
			}
			done = true // this table's older versions ended where this one began
		}
	}
	return nil
}

// atFrom is at for a code with rates for given origins: in the first table
// with one that applies, the version in force with the longest source code
// that starts src, the one for any origin counting as the shortest.
func (c *codeInfo) atFrom(ix *index, t int64, src string) *version {
	var best *version
	bestLen := -1
	var cur *table
	for k := c.first; k < c.first+c.count; k++ {
		v := &ix.versions[k]
		if v.tbl != cur {
			if best != nil {
				return best
			}
			cur = v.tbl
		}
		w := &ix.windows[k]
		if w.from > t || t >= w.end {
			continue
		}
		if sc := v.src.SrcCode; len(sc) > bestLen && strings.HasPrefix(src, sc) {
			best, bestLen = v, len(sc)
		}
	}
	return best
}

// trieCode is the code of the index's i-th code, in code order.
func (ix *index) trieCode(i int) string { return ix.versions[ix.codes[i].first].src.Code }
