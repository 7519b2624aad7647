package cdr

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/zeebo/xxh3"
)

// Key identifies a call for duplicate detection (billing-rules §7): a
// 128-bit hash of its call_id, connect_time to the second, source and
// destination numbers. Two different calls share a key with a probability
// of about n²/2¹²⁹ among n calls: none, for any carrier's volume.
type Key struct{ Hi, Lo uint64 }

// KeyOf is rec's key; buf is scratch space, returned for reuse.
func KeyOf(rec *Record, buf []byte) (Key, []byte) {
	// Lengths first, so that no two field splits hash alike.
	b := binary.AppendUvarint(buf[:0], uint64(len(rec.CallID)))
	b = append(b, rec.CallID...)
	b = binary.LittleEndian.AppendUint64(b, uint64(rec.ConnectTime.Unix()))
	b = binary.AppendUvarint(b, uint64(len(rec.SrcNumber)))
	b = append(b, rec.SrcNumber...)
	b = binary.AppendUvarint(b, uint64(len(rec.DstNumber)))
	b = append(b, rec.DstNumber...)
	h := xxh3.Hash128(b)
	return Key{Hi: h.Hi, Lo: h.Lo}, b
}

// keySize is a key's size in a stored set.
const keySize = 16

// Keys is the set of call keys of some days, each with the file that first
// had it: the keys of other files, loaded a day at a time, and those of
// the file being ingested, added call by call and kept by day for storing.
//
// It is an open-addressing table of bare keys rather than a map: keys are
// random, so every lookup misses the cache, and a map's lookup misses it
// twice where a probe of 16-byte slots misses once. A month of calls out of
// time order is the case that must stay fast. Which other file has a key is
// asked only of a duplicate, in a map of the loaded keys.
type Keys struct {
	slots []Key // a power of two of them, at most half used; Key{} is empty
	used  int
	other map[Key]int64    // loaded key → its file
	own   map[int64][]byte // day → this file's new keys, encoded
	file  int64
}

// NewKeys is an empty set for ingesting file, sized for about hint calls.
func NewKeys(file int64, hint int) *Keys {
	n := 1024
	for n < 2*hint {
		n *= 2
	}
	return &Keys{slots: make([]Key, n), other: map[Key]int64{}, own: map[int64][]byte{}, file: file}
}

// slot is where key is, or the empty slot where it goes.
func (k *Keys) slot(key Key) int {
	mask := len(k.slots) - 1
	for i := int(key.Lo) & mask; ; i = (i + 1) & mask {
		if s := k.slots[i]; s == key || s == (Key{}) {
			return i
		}
	}
}

// put stores key at its empty slot i, growing the table when half full.
func (k *Keys) put(i int, key Key) {
	k.slots[i] = key
	if k.used++; 2*k.used <= len(k.slots) {
		return
	}
	slots := k.slots
	k.slots = make([]Key, 2*len(slots))
	for _, s := range slots {
		if s != (Key{}) {
			k.slots[k.slot(s)] = s
		}
	}
}

// nonzero keeps Key{} free to mark an empty slot; a call hashing to it
// shares a key with one hashing to {0, 1}, a chance of 2⁻¹²⁸.
func nonzero(key Key) Key {
	if key == (Key{}) {
		key.Lo = 1
	}
	return key
}

// Load adds the keys another file stored (Encoded's form).
func (k *Keys) Load(file int64, keys []byte) {
	for ; len(keys) >= keySize; keys = keys[keySize:] {
		key := nonzero(Key{Hi: binary.LittleEndian.Uint64(keys), Lo: binary.LittleEndian.Uint64(keys[8:])})
		if i := k.slot(key); k.slots[i] == (Key{}) {
			k.put(i, key)
			k.other[key] = file
		}
	}
}

// Add records a call of day (any number naming the day) of the file being
// ingested. When the key is known it reports the file that first had it
// (this file's, for a call repeated within it) and dup.
func (k *Keys) Add(key Key, day int64) (first int64, dup bool) {
	key = nonzero(key)
	i := k.slot(key)
	if k.slots[i] == key {
		if f, ok := k.other[key]; ok {
			return f, true
		}
		return k.file, true
	}
	k.put(i, key)
	b := binary.LittleEndian.AppendUint64(k.own[day], key.Hi)
	k.own[day] = binary.LittleEndian.AppendUint64(b, key.Lo)
	return 0, false
}

// Encoded is, by day, the keys the file being ingested added.
func (k *Keys) Encoded() map[int64][]byte { return k.own }

// AppendDuplicate appends rec, a duplicate of a call file first had, to a
// file's list of duplicates in the compact form ParseDuplicates reads: one
// stored value a file costs far less to write than a row a call.
func AppendDuplicate(b []byte, rec *Record, first int64) []byte {
	b = binary.AppendUvarint(b, uint64(rec.Line))
	b = binary.AppendUvarint(b, uint64(first))
	b = binary.AppendVarint(b, rec.ConnectTime.Unix())
	for _, s := range [...]string{rec.CallID, rec.SrcNumber, rec.DstNumber} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// ParseDuplicates reads a list AppendDuplicate wrote; First is left empty.
func ParseDuplicates(b []byte) ([]Duplicate, error) {
	var out []Duplicate
	r := listReader{b: b}
	for len(r.b) > 0 && r.err == nil {
		d := Duplicate{Line: int64(r.uvarint()), FirstID: int64(r.uvarint())}
		d.ConnectTime = time.Unix(r.varint(), 0).UTC()
		d.CallID, d.SrcNumber, d.DstNumber = r.text(), r.text(), r.text()
		out = append(out, d)
	}
	return out, r.err
}

var errCutShort = errors.New("a list of duplicates is cut short")

type listReader struct {
	b   []byte
	err error
}

func (r *listReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errCutShort, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads what binary.AppendVarint wrote: a zig-zag uvarint.
func (r *listReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *listReader) text() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errCutShort, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
