package rating

import (
	"errors"
	"fmt"
)

// trie maps digit strings (codes) to payloads and answers longest-prefix
// walks. It is a double-array trie: a transition is one add and one compare
// in a flat slice of 12-byte cells, so that the cells of a 100,000-code table
// take about 3 MB and stay in the processor's cache, where a pointer trie
// misses on nearly every digit.
type trie struct {
	cells []dcell
}

type dcell struct {
	base    int32 // children of the state are at base+digit
	check   int32 // the parent state; -1 marks a free cell
	payload int32 // index of the code ending here, or -1
}

// newTrie builds a trie of codes, which must be sorted and distinct; the
// state ending codes[i] gets payload i.
func newTrie(codes []string) (trie, error) {
	// A pointer trie first, simple to fill, then laid out as a double array.
	type pnode struct {
		next    [10]int32
		payload int32
	}
	nodes := make([]pnode, 1, len(codes)*2+1)
	nodes[0].payload = -1
	for i, code := range codes {
		if code == "" {
			return trie{}, errors.New("empty code")
		}
		var n int32
		for j := 0; j < len(code); j++ {
			d := code[j] - '0'
			if d > 9 {
				return trie{}, fmt.Errorf("code %q is not all digits", code)
			}
			if nodes[n].next[d] == 0 {
				nodes = append(nodes, pnode{payload: -1})
				nodes[n].next[d] = int32(len(nodes) - 1)
			}
			n = nodes[n].next[d]
		}
		nodes[n].payload = int32(i)
	}

	t := trie{cells: make([]dcell, 1, len(nodes)+16)}
	t.cells[0] = dcell{check: -1, payload: -1}
	used := []bool{true}            // cell 0 is the root
	at := make([]int32, len(nodes)) // pointer node → state
	free := 1                       // every cell below free is used
	// Depth first, so that the states along one number lie close together.
	stack := []int32{0}
	var digits []int32
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		s := at[n]
		t.cells[s].payload = nodes[n].payload
		digits = digits[:0]
		for d, c := range nodes[n].next {
			if c != 0 {
				digits = append(digits, int32(d))
			}
		}
		if len(digits) == 0 {
			continue
		}
		for free < len(used) && used[free] {
			free++
		}
		base := max(int32(free)-digits[0], 1)
	search:
		for ; ; base++ {
			for _, d := range digits {
				if p := int(base + d); p < len(used) && used[p] {
					continue search
				}
			}
			break
		}
		t.cells[s].base = base
		for _, d := range digits {
			p := int(base + d)
			for len(used) <= p {
				used = append(used, false)
				t.cells = append(t.cells, dcell{check: -1, payload: -1})
			}
			used[p] = true
			t.cells[p].check = s
			at[nodes[n].next[d]] = int32(p)
		}
		for i := len(digits) - 1; i >= 0; i-- {
			stack = append(stack, nodes[n].next[digits[i]])
		}
	}
	return t, nil
}

// jumpDigits is how many leading digits a jump table resolves at once.
const jumpDigits = 3

// jumpSize is 10^jumpDigits.
const jumpSize = 1_000

// Jump table entries besides states.
const (
	jumpWalk    = -1 // a code ends within the first digits: walk from the root
	jumpNothing = -2 // no code prefixes any number starting so: nothing to find
)

// jumps returns, for every string of jumpDigits digits, the state it leads
// to when no code ends along the way, jumpNothing when the path breaks off
// before any code, or jumpWalk. A walk starts at the state and skips the
// first steps, which are the same for every call; a table with no code under
// a number's first digits is not walked at all.
func (t *trie) jumps() []int32 {
	j := make([]int32, jumpSize)
	for k := range j {
		s := int32(0)
		for div := jumpSize / 10; div > 0; div /= 10 {
			n := t.cells[s].base + int32(k/div%10)
			if uint(n) >= uint(len(t.cells)) || t.cells[n].check != s {
				s = jumpNothing
				break
			}
			if t.cells[n].payload >= 0 {
				s = jumpWalk
				break
			}
			s = n
		}
		j[k] = s
	}
	return j
}

// jumpIndex is the jump table index of num's first jumpDigits digits.
func jumpIndex(num string) int {
	k := 0
	for i := 0; i < jumpDigits; i++ {
		k = k*10 + int(num[i]-'0')
	}
	return k
}
