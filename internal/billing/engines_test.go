package billing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/catalog"
)

// fakeCatalog is master data whose revision a test moves on.
type fakeCatalog struct {
	version   atomic.Int64
	snapshots atomic.Int64
	fail      atomic.Bool
}

func (f *fakeCatalog) CatalogVersion(context.Context) (int64, error) {
	if f.fail.Load() {
		return 0, errors.New("database down")
	}
	return f.version.Load(), nil
}

func (f *fakeCatalog) Snapshot(context.Context) (catalog.Snapshot, error) {
	f.snapshots.Add(1)
	return catalog.Snapshot{Version: f.version.Load(),
		Clients: []catalog.Client{{ID: "acme", RateTable: "base"}},
		Tables:  []catalog.RateTable{{Name: "base", Currency: "USD"}},
		Rates: []catalog.Rate{{ID: 1, Table: "base", Code: "44", PerMinute: decimal.RequireFromString("0.01"),
			Increment: catalog.Increment{Min: 60, Interval: 60}}},
	}, nil
}

// TestKeepBuildsTheEngineAheadOfTheFirstFileAndOfEachNewRevision: a worker
// builds its engine at start and again after an import, so that a file
// finds it built; an unchanged catalogue is not built again, and a failing
// database is reported once, not at every check.
func TestKeepBuildsTheEngineAheadOfTheFirstFileAndOfEachNewRevision(t *testing.T) {
	cat := &fakeCatalog{}
	cat.version.Store(3)
	e := NewEngines(cat)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var built []int64
	var failures int
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Keep(ctx, 5*time.Millisecond, func(rev int64) {
			mu.Lock()
			built = append(built, rev)
			mu.Unlock()
		}, func(error) {
			mu.Lock()
			failures++
			mu.Unlock()
		})
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			good := ok()
			mu.Unlock()
			if good {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never: %s (built %v, %d failures)", what, built, failures)
			}
		}
	}
	waitFor("built at start", func() bool { return len(built) == 1 && built[0] == 3 })
	time.Sleep(30 * time.Millisecond) // several checks of an unchanged catalogue
	if n := cat.snapshots.Load(); n != 1 {
		t.Fatalf("an unchanged catalogue was read %d times", n)
	}
	cat.fail.Store(true)
	time.Sleep(30 * time.Millisecond)
	cat.fail.Store(false)
	cat.version.Store(4)
	waitFor("built after the import", func() bool { return len(built) == 2 && built[1] == 4 })
	if failures != 1 {
		t.Errorf("a database down for several checks was reported %d times, want once", failures)
	}
	engine, rev, err := e.Current(context.Background())
	if err != nil || rev != 4 || engine == nil || cat.snapshots.Load() != 2 {
		t.Fatalf("a file after the import: revision %d, %d snapshots, %v", rev, cat.snapshots.Load(), err)
	}
	cancel()
	<-done
}
