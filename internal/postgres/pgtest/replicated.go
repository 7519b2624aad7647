package pgtest

import (
	"context"
	"testing"

	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgcluster"
)

// Replicated is a database of the demo's master data on a primary of the
// test's own, with a hot standby streaming it.
type Replicated struct {
	Store            *postgres.Store // the primary's
	URL              string          // the primary database's
	Primary, Standby *pgcluster.Cluster
}

// NewReplicated starts a primary and its standby (pgcluster), migrates
// database billrun, imports the demo's master data and waits until the
// standby has it.
func NewReplicated(t testing.TB) *Replicated {
	t.Helper()
	ctx := context.Background()
	r := &Replicated{Primary: pgcluster.Start(t)}
	r.URL = r.Primary.CreateDB(t, "billrun")
	var err error
	if r.Store, err = postgres.Open(ctx, r.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Store.Close)
	if err := r.Store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ImportDemo(t, r.Store)
	r.Standby = pgcluster.Standby(t, r.Primary)
	r.Replayed(t)
	return r
}

// StandbyURL is the standby's address of the database.
func (r *Replicated) StandbyURL() string { return r.Standby.URL("billrun") }

// Pause stops the standby replaying the primary's log; Resume starts it
// again and waits until it has caught up.
func (r *Replicated) Pause(t testing.TB) { r.Standby.Exec(t, `SELECT pg_wal_replay_pause()`) }

// Resume lets the standby replay again, and waits until it has caught up.
func (r *Replicated) Resume(t testing.TB) {
	r.Standby.Exec(t, `SELECT pg_wal_replay_resume()`)
	r.Replayed(t)
}

// Replayed waits until the standby has replayed what the primary wrote.
func (r *Replicated) Replayed(t testing.TB) {
	pgcluster.WaitReplayed(t, r.Primary, r.Standby, "billrun")
}
