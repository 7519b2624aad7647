package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrRerateRunning is returned by BeginRerate when a run over an
// overlapping period is under way; the error is a *RerateRunningError.
var ErrRerateRunning = errors.New("a rerate over an overlapping period is running")

// RerateRunningError names the running rerate that a new one overlaps.
type RerateRunningError struct{ ID string }

func (e *RerateRunningError) Error() string { return ErrRerateRunning.Error() + ": " + e.ID }

// Running names the run that holds the period.
func (e *RerateRunningError) Running() string { return e.ID }

// Is makes errors.Is(err, ErrRerateRunning) hold.
func (e *RerateRunningError) Is(target error) bool { return target == ErrRerateRunning }

// BeginRerate records a running rerate, refusing one that overlaps another.
func (s *Store) BeginRerate(ctx context.Context, id string, from, to time.Time, client, match string) error {
	if client != "" {
		var known bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1)`, client).Scan(&known); err != nil {
			return err
		}
		if !known { // a rerate of nobody's calls would be recorded as done
			return fmt.Errorf("%w: %q", invoice.ErrNoClient, client)
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO rerate_runs (id, period, client, match, state) VALUES ($1, tstzrange($2, $3), nullif($4, ''), $5, 'running')
		ON CONFLICT (id) DO NOTHING`, id, from, to, client, match)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23P01" { // exclusion_violation
		var other string
		_ = s.pool.QueryRow(ctx, `SELECT id FROM rerate_runs WHERE state = 'running' AND period && tstzrange($1, $2) LIMIT 1`, from, to).Scan(&other)
		return &RerateRunningError{ID: other}
	}
	return err
}

// EndRerate records the end of a run: its figures, or its failure.
func (s *Store) EndRerate(ctx context.Context, id string, result any, failed bool) error {
	state := "done"
	if failed {
		state = "failed"
	}
	_, err := s.pool.Exec(ctx, `UPDATE rerate_runs SET state = $2, result = $3, finished_at = now() WHERE id = $1`, id, state, result)
	return err
}

// ReleaseRerate marks a run that is still recorded as running as failed.
func (s *Store) ReleaseRerate(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE rerate_runs SET state = 'failed', finished_at = now() WHERE id = $1 AND state = 'running'`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("no running rerate %s is recorded", id)
	}
	return err
}
