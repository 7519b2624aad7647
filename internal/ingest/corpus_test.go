package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
)

// TestTheBadInputCorpus reads each CDR file of testdata/bad as ingestion
// does (gzip by its magic number, binary refused, lines judged) and checks
// the outcome testdata/bad/expect.txt gives it: the calls read and the lines
// rejected, or a part of the error that refuses the file. The engine knows
// no account: rating is not what is tried here.
func TestTheBadInputCorpus(t *testing.T) {
	engine, err := rating.NewEngine(rating.Catalog{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("..", "..", "testdata", "bad", "expect.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok || !strings.HasPrefix(file, "cdr/") {
			continue
		}
		cases++
		t.Run(file, func(t *testing.T) {
			format, err := cdr.ParseFormat(strings.Split(file, "/")[1])
			if err != nil {
				t.Fatal(err)
			}
			in, err := os.Open(filepath.Join("..", "..", "testdata", "bad", file))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			got := read(file, in, format, engine)
			if strings.HasPrefix(want, "ok ") && got != want || strings.HasPrefix(want, "error ") && !strings.Contains(got, strings.TrimPrefix(want, "error ")) ||
				strings.HasPrefix(want, "error ") != strings.HasPrefix(got, "error ") {
				t.Fatalf("got  %.400s\nwant %s", got, want)
			}
		})
	}
	if cases == 0 {
		t.Fatal("no CDR case in the corpus")
	}
}

// read is a file's outcome: "ok N rejected M", or "error …".
func read(name string, in io.Reader, f cdr.Format, e *rating.Engine) string {
	src, err := NewSource(name, in, f, time.UTC, e)
	if err != nil {
		return "error " + err.Error()
	}
	n := 0
	for {
		_, _, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "error " + err.Error()
		}
		n++
	}
	_, rejected := src.Rejects()
	return fmt.Sprintf("ok %d rejected %d", n, rejected)
}
