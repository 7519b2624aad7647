package postgres

import (
	"sync"
	"time"
)

// zones caches time zones by name: time.LoadLocation reads and parses the
// zone's file on every call, which was a third of listing a month of
// 20,000 invoices.
var zones sync.Map // name → *time.Location

// loadZone is time.LoadLocation, cached.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
