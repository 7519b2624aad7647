package billing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/rating"
)

// Engines keeps one rating engine per catalog version: building a snapshot
// costs a fraction of a second, checking the version one query.
type Engines struct {
	catalog Catalog
	mu      sync.Mutex
	version int64
	engine  *rating.Engine
}

// NewEngines returns an empty cache over c.
func NewEngines(c Catalog) *Engines { return &Engines{catalog: c} }

// Engine returns the engine for the current master data.
func (e *Engines) Engine(ctx context.Context) (*rating.Engine, error) {
	engine, _, err := e.Current(ctx)
	return engine, err
}

// Current returns the engine for the current master data and the catalogue
// revision it was built from, which calls rated with it record.
func (e *Engines) Current(ctx context.Context) (*rating.Engine, int64, error) {
	v, err := e.catalog.CatalogVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.engine != nil && e.version == v {
		return e.engine, e.version, nil
	}
	s, err := e.catalog.Snapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	engine, err := NewEngine(s)
	if err != nil {
		return nil, 0, err
	}
	e.engine, e.version = engine, s.Version
	return engine, e.version, nil
}

// Keep builds the engine of the current master data at once, then checks
// the catalogue revision every interval and rebuilds when it moved, until
// ctx ends: a worker's first file after a start or an import then rates at
// once instead of waiting for the snapshot (a second or more on a large
// catalogue). built is told each revision built; failed each error, once
// until the next success.
func (e *Engines) Keep(ctx context.Context, every time.Duration, built func(revision int64), failed func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last int64
	var lastErr string
	for {
		_, rev, err := e.Current(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if err.Error() != lastErr {
				failed(err)
			}
			lastErr = err.Error()
		case rev != last:
			last, lastErr = rev, ""
			built(rev)
		default:
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// NewEngine compiles a snapshot of master data into a rating engine.
func NewEngine(s catalog.Snapshot) (*rating.Engine, error) {
	c := rating.Catalog{Clients: make([]rating.Client, len(s.Clients)), Accounts: make([]rating.Account, len(s.Accounts)),
		Tables: make([]rating.Table, len(s.Tables)), Rates: make([]rating.Rate, len(s.Rates))}
	for i, cl := range s.Clients {
		c.Clients[i] = rating.Client{ID: cl.ID, RateTable: cl.RateTable}
	}
	for i, a := range s.Accounts {
		k, ok := rating.ParseAccountKind(a.Kind)
		if !ok {
			return nil, fmt.Errorf("account %d has kind %q", a.ID, a.Kind)
		}
		c.Accounts[i] = rating.Account{ID: a.ID, Client: a.Client, Kind: k, Value: a.Value, TechPrefix: a.TechPrefix,
			RateTable: a.RateTable, Enabled: a.Enabled}
	}
	for i, t := range s.Tables {
		c.Tables[i] = rating.Table{Name: t.Name, Currency: t.Currency, Parent: t.Parent}
	}
	for i, r := range s.Rates {
		c.Rates[i] = rating.Rate{ID: r.ID, Table: r.Table, Code: r.Code, SrcCode: r.SrcCode, PerMinute: r.PerMinute, EffectiveFrom: r.EffectiveFrom,
			End: r.End, MinSeconds: r.Min, IntervalSeconds: r.Interval, GraceSeconds: r.Grace, SetupFee: r.SetupFee}
	}
	for _, a := range s.Assignments {
		c.Assignments = append(c.Assignments, rating.Assignment{Client: a.Client, Account: a.Account, RateTable: a.RateTable, From: a.From})
	}
	return rating.NewEngine(c)
}
