package catalog

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTheBadInputCorpus reads each master-data file of testdata/bad with
// its reader and checks the outcome testdata/bad/expect.txt gives it: the
// rows read, or the error (file, line, field) it must begin with.
func TestTheBadInputCorpus(t *testing.T) {
	readers := map[string]func(string, io.Reader) (int, error){
		"clients":       count(ReadClients),
		"accounts":      count(ReadAccounts),
		"rates":         count(ReadRates),
		"codedeck":      count(ReadCodeDeck),
		"ratetables":    count(ReadRateTables),
		"taxes":         count(ReadTaxes),
		"packages":      count(ReadPackages),
		"subscriptions": count(ReadSubscriptions),
	}
	for _, c := range corpus(t, "imports/") {
		t.Run(c.file, func(t *testing.T) {
			kind, name, _ := strings.Cut(strings.TrimPrefix(c.file, "imports/"), "/")
			read, ok := readers[kind]
			if !ok {
				t.Fatalf("no reader for %s", kind)
			}
			f, err := os.Open(filepath.Join("..", "..", "testdata", "bad", c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n, err := read(kind+"/"+name, f)
			got := fmt.Sprintf("ok %d", n)
			if err != nil {
				got = "error " + err.Error()
			}
			if !strings.HasPrefix(got, c.want) || (err == nil) != strings.HasPrefix(c.want, "ok ") || len(got) > 400 {
				t.Fatalf("got  %.400s\nwant %s", got, c.want)
			}
		})
	}
}

func count[T any](read func(string, io.Reader) ([]T, error)) func(string, io.Reader) (int, error) {
	return func(name string, in io.Reader) (int, error) {
		rows, err := read(name, in)
		return len(rows), err
	}
}

type corpusCase struct{ file, want string }

// corpus lists the cases of testdata/bad/expect.txt under prefix.
func corpus(t *testing.T, prefix string) []corpusCase {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "bad", "expect.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file, want, ok := strings.Cut(sc.Text(), "\t")
		if ok && strings.HasPrefix(file, prefix) {
			out = append(out, corpusCase{file, want})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no case under %s", prefix)
	}
	return out
}
