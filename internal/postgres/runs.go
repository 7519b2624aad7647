package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/report"
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
	if client != "" { // a rerate of nobody's calls would be recorded as done
		if err := s.CheckClient(ctx, client); err != nil {
			return err
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

// RecordBillRun writes a bill run's audit record, the whole of it each
// time: a retried activity writes the same row again.
func (s *Store) RecordBillRun(ctx context.Context, r report.BillRun) error {
	res, err := json.Marshal(r.Resolutions)
	if err != nil {
		return err
	}
	if r.Resolutions == nil {
		res = []byte("[]")
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO bill_runs (run_id, workflow_id, period, started_by, started_at, phase, options, resolutions, status, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN now() END)
		ON CONFLICT (run_id) DO UPDATE SET phase = EXCLUDED.phase, resolutions = EXCLUDED.resolutions, status = EXCLUDED.status,
			finished_at = coalesce(bill_runs.finished_at, EXCLUDED.finished_at), recorded_at = now()`,
		r.RunID, r.WorkflowID, r.Period, r.StartedBy, r.StartedAt, r.Phase, orEmpty(r.Options), res, orEmpty(r.Status), r.Finished)
	return err
}

func orEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// BillRuns are the recorded bill runs, newest first: of a month, of a
// workflow ID, or all ("", "").
func (s *Store) BillRuns(ctx context.Context, period, workflowID string) ([]report.BillRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT run_id, workflow_id, period, started_by, started_at, phase, options, resolutions, status, finished_at IS NOT NULL
		FROM bill_runs WHERE ($1 = '' OR period = $1) AND ($2 = '' OR workflow_id = $2) ORDER BY started_at DESC`, period, workflowID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (report.BillRun, error) {
		var r report.BillRun
		var opts, res, st []byte
		err := row.Scan(&r.RunID, &r.WorkflowID, &r.Period, &r.StartedBy, &r.StartedAt, &r.Phase, &opts, &res, &st, &r.Finished)
		if err == nil {
			r.Options, r.Status = opts, st
			err = json.Unmarshal(res, &r.Resolutions)
		}
		return r, err
	})
}

// RerateChanges reads what run changed (recordChanges): the cost
// differences by client and currency, in that order, then the adjustments
// due inside issued invoices' periods, by invoice number.
func (s *Store) RerateChanges(ctx context.Context, run string) ([]cdr.CostChange, error) {
	var out []cdr.CostChange
	var c cdr.CostChange
	var amount decimal.Decimal
	rows, _ := s.pool.Query(ctx, `SELECT client, currency, sum(amount) FROM rerate_differences WHERE run_id = $1
		GROUP BY client, currency HAVING sum(amount) <> 0 ORDER BY client, currency`, run)
	if _, err := pgx.ForEachRow(rows, []any{&c.Client, &c.Currency, &amount}, func() error {
		c.Amount = amount.Shift(6).IntPart()
		out = append(out, c)
		return nil
	}); err != nil {
		return nil, err
	}
	var i cdr.Issued
	rows, _ = s.pool.Query(ctx, `SELECT invoice_id::text, number, client, currency, period, sum(amount) FROM rerate_adjustments
		WHERE run_id = $1 GROUP BY invoice_id, number, client, currency, period HAVING sum(amount) <> 0 ORDER BY number`, run)
	_, err := pgx.ForEachRow(rows, []any{&i.ID, &i.Number, &i.Client, &i.Currency, &i.Period, &amount}, func() error {
		inv := i
		out = append(out, cdr.CostChange{Client: i.Client, Currency: i.Currency, Invoice: &inv, Amount: amount.Shift(6).IntPart()})
		return nil
	})
	return out, err
}

// RerateRun reads a rerate run's record: its state and the result its
// workflow recorded (JSON; nil while it runs or when it failed).
func (s *Store) RerateRun(ctx context.Context, id string) (state string, result []byte, err error) {
	err = s.pool.QueryRow(ctx, `SELECT state, result FROM rerate_runs WHERE id = $1`, id).Scan(&state, &result)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("no rerate run %q", id)
	}
	return state, result, err
}
