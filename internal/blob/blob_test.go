package blob

import (
	"path"
	"strings"
	"testing"
)

// FuzzAKeyOfCheckedNamesStaysUnderItsPrefix: whatever the name, one that
// CheckName accepts makes exactly one more segment of a key, which no
// path resolution moves out of its prefix.
func FuzzAKeyOfCheckedNamesStaysUnderItsPrefix(f *testing.F) {
	for _, s := range []string{"cdrs-oct.csv", "..", ".", "../../etc/passwd", "a/b", `a\b`, "x\x00y", "line\nbreak", "ünïcode.csv", ".hidden", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckName(name) != nil {
			return
		}
		const prefix = "inbox/canonical/"
		key := prefix + name
		if clean := path.Clean("/" + key); !strings.HasPrefix(clean, "/"+prefix) || strings.Count(clean, "/") != 3 {
			t.Fatalf("%q resolves to %q, out of %s", key, clean, prefix)
		}
	})
}

func TestCheckNameRefusesWhatCouldLeaveAPrefix(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", `a\b`, "x\x00y", "tab\there", "\xff", strings.Repeat("a", 256)} {
		if CheckName(name) == nil {
			t.Errorf("%q accepted", name)
		}
	}
	for _, name := range []string{"cdrs-2026-10.csv", "...", ".hidden", "Master.csv.gz", "ünïcode"} {
		if err := CheckName(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}
