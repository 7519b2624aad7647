package demo

import (
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
)

const testCalls = 30000

func write(t *testing.T, seed uint64) (string, Summary) {
	t.Helper()
	dir := t.TempDir()
	s, err := Month{Seed: seed, Calls: testCalls, Year: 2026, Month: 10}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, s
}

func digest(t *testing.T, dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", strings.TrimPrefix(p, dir), len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestTheSameSeedWritesTheSameMonth(t *testing.T) {
	a, _ := write(t, 1)
	b, _ := write(t, 1)
	c, _ := write(t, 2)
	if digest(t, a) != digest(t, b) {
		t.Error("seed 1 wrote two different months")
	}
	if digest(t, a) == digest(t, c) {
		t.Error("seeds 1 and 2 wrote the same month")
	}
}

// readCalls reads a written CDR file with billrun's own reader.
func readCalls(t *testing.T, dir string, f File) (calls []cdr.Record, rejected int) {
	t.Helper()
	fh, err := os.Open(filepath.Join(dir, f.Path))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var in io.Reader = fh
	if strings.HasSuffix(f.Path, ".gz") {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		in = zr
	}
	format, err := cdr.ParseFormat(f.Format)
	if err != nil {
		t.Fatal(err)
	}
	r := cdr.NewReader(in, format, cdr.Options{})
	for {
		var rec cdr.Record
		err := r.Read(&rec)
		var le *cdr.LineError
		switch {
		case err == io.EOF:
			return calls, rejected
		case errors.As(err, &le):
			rejected++
		case err != nil:
			t.Fatalf("%s: %v", f.Path, err)
		default:
			calls = append(calls, rec)
		}
	}
}

func readMaster[T any](t *testing.T, path string, read func(string, io.Reader) ([]T, error)) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := read(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// engine compiles the written master data, with the corrected accounts
// file and the missing rate when fixed.
func engine(t *testing.T, dir string, s Summary, fixed bool) *rating.Engine {
	t.Helper()
	m := filepath.Join(dir, "master")
	snap := catalog.Snapshot{
		Clients: readMaster(t, filepath.Join(m, "clients.csv"), catalog.ReadClients),
		Tables:  readMaster(t, filepath.Join(m, "ratetables.csv"), catalog.ReadRateTables),
	}
	accounts := filepath.Join(m, "accounts.csv")
	if fixed {
		accounts = filepath.Join(dir, "fixes", "accounts-corrected.csv")
	}
	snap.Accounts = readMaster(t, accounts, catalog.ReadAccounts)
	for i := range snap.Accounts {
		snap.Accounts[i].ID = int64(i + 1)
	}
	files := map[string]string{}
	for _, tb := range snap.Tables {
		files[filepath.Join(m, "rates-"+tb.Name+".csv")] = tb.Name
	}
	if fixed {
		files[filepath.Join(dir, "fixes", "rates-retail-eur-missing.csv")] = "retail-eur"
	}
	for path, table := range files {
		for _, r := range readMaster(t, path, catalog.ReadRates) {
			r.Table, r.ID = table, int64(len(snap.Rates)+1)
			snap.Rates = append(snap.Rates, r)
		}
	}
	e, err := billing.NewEngine(snap)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTheMonthHoldsEveryKindOfMismatchAndTheFixesLeaveOnlyTheUnfixable(t *testing.T) {
	dir, s := write(t, 7)
	if s.Clients != 12 || s.Destinations < 300 {
		t.Errorf("%d clients and %d destinations", s.Clients, s.Destinations)
	}
	formats := map[string]int{}
	gz, total := 0, 0
	var all []cdr.Record
	for _, f := range s.Files {
		calls, rejected := readCalls(t, dir, f)
		if len(calls) != f.Calls || rejected != f.Corrupt {
			t.Errorf("%s: read %d calls and %d rejected lines, written %d and %d", f.Path, len(calls), rejected, f.Calls, f.Corrupt)
		}
		formats[f.Format]++
		if strings.HasSuffix(f.Path, ".gz") {
			gz++
		}
		if f.Duplicate == "" {
			all = append(all, calls...)
			total += f.Calls
		}
	}
	if formats["canonical"] < 3 || formats["asterisk"] < 3 || formats["freeswitch"] < 3 || gz < 3 || len(s.Files) != 14 {
		t.Errorf("files by format %v, %d gzipped, %d in all", formats, gz, len(s.Files))
	}
	if total < testCalls {
		t.Errorf("%d calls, want at least %d", total, testCalls)
	}
	count := func(fixed bool) map[rating.Status]int {
		e := engine(t, dir, s, fixed)
		out := map[rating.Status]int{}
		for _, rec := range all {
			res := e.Rate(&rating.CDR{ConnectTime: rec.ConnectTime, Duration: rec.Duration, OrigIP: rec.OrigIP,
				OrigAccount: rec.OrigAccount, SrcNumber: rec.SrcNumber, DstNumber: rec.DstNumber})
			out[res.Status]++
		}
		return out
	}
	before, after := count(false), count(true)
	share := func(n int) float64 { return float64(n) / float64(len(all)) }
	for _, c := range []struct {
		status                   rating.Status
		beforeLo, beforeHi, fixd float64 // shares of the month's calls
	}{
		{rating.UnknownAccount, 0.03, 0.06, 0.008},
		{rating.NoRateTable, 0.02, 0.06, 0},
		{rating.UnknownDestination, 0.003, 0.02, 0.001},
	} {
		if b := share(before[c.status]); b < c.beforeLo || b > c.beforeHi {
			t.Errorf("%v: %.4f of the calls before the fixes, want %.3f–%.3f", c.status, b, c.beforeLo, c.beforeHi)
		}
		if a := share(after[c.status]); a > c.fixd || (c.fixd > 0 && after[c.status] == 0) {
			t.Errorf("%v: %.4f of the calls after the fixes, want some, at most %.4f", c.status, a, c.fixd)
		}
	}
}
