package postgres

import (
	"context"
	"fmt"
	"time"
)

// replicaTimeout is how long a replica has to answer before reads go to
// the primary: a report waits that long at most for a replica that is down.
const replicaTimeout = 3 * time.Second

// OpenReplica opens the store of a streaming replica of primary, which
// only reads (reports, the console's pages). With no url it returns
// primary; when the replica does not answer within a few seconds or is
// not in recovery (not a replica), it returns primary with the reason, to
// be shown as a warning.
func OpenReplica(ctx context.Context, url string, primary *Store) (*Store, error) {
	if url == "" {
		return primary, nil
	}
	octx, cancel := context.WithTimeout(ctx, replicaTimeout)
	defer cancel()
	r, err := Open(octx, url)
	if err != nil {
		return primary, fmt.Errorf("the replica (BILLRUN_REPLICA_DATABASE_URL) does not answer, reading the primary: %w", err)
	}
	var standby bool
	if err := r.pool.QueryRow(octx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil || !standby {
		r.Close()
		if err == nil {
			err = fmt.Errorf("it is not in recovery")
		}
		return primary, fmt.Errorf("BILLRUN_REPLICA_DATABASE_URL is not a replica, reading the primary: %w", err)
	}
	return r, nil
}

// WALPosition is the primary's current write-ahead log position: a read
// of a replica that has replayed it sees every write made before.
func (s *Store) WALPosition(ctx context.Context) (string, error) {
	var lsn string
	err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
	return lsn, err
}

// Replayed reports whether the store, a replica, has replayed the log up
// to lsn (a primary's WALPosition).
func (s *Store) Replayed(ctx context.Context, lsn string) (bool, error) {
	var done bool
	err := s.pool.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true)`, lsn).Scan(&done)
	return done, err
}
