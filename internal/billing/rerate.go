package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rerate"
)

// ErrRerateRunning is wrapped by the error of a rerate refused because
// another runs over an overlapping period.
var ErrRerateRunning = errors.New("a rerate over an overlapping period is running")

// Rerate is a run over some calls: its ID and what it selects.
type Rerate struct {
	RunID    string
	From, To time.Time
	Client   string
	Match    rerate.Match
}

// BeginRerate records the run, or refuses it when another overlaps it. A
// run recorded as running whose workflow has ended (terminated from the
// Temporal UI, say) no longer holds its period: it is marked failed and the
// new run goes ahead.
func (s *Service) BeginRerate(ctx context.Context, r Rerate) error {
	for tries := 0; ; tries++ {
		err := s.Store.BeginRerate(ctx, r.RunID, r.From, r.To, r.Client, string(r.Match))
		var running interface{ Running() string }
		if !errors.As(err, &running) {
			return err
		}
		if tries == 0 && s.Workflows != nil && running.Running() != r.RunID {
			open, err := s.Workflows.Open(ctx, running.Running())
			if err != nil {
				return err
			}
			if !open {
				// Another run may release it at the same time: either way it is released.
				_ = s.Store.ReleaseRerate(ctx, running.Running())
				continue
			}
		}
		return fmt.Errorf("%w: %s", ErrRerateRunning, running.Running())
	}
}

// RerateDay rerates the calls of one day of a run atomically
// with the current master data, and returns what changed: its counts and
// the months of the issued invoices it touched. The cost differences and
// adjustments due are recorded with sel.RunID in the day's transaction
// (RerateChanges reads them), since they grow with the clients.
func (s *Service) RerateDay(ctx context.Context, sel cdr.Selection) (rerate.Summary, error) {
	engine, revision, err := s.Engines.Current(ctx)
	if err != nil {
		return rerate.Summary{}, err
	}
	sel.Revision = revision
	r := rerate.NewRerater(engine)
	if err := s.Store.RewriteCalls(ctx, sel, r); err != nil {
		return rerate.Summary{}, err
	}
	if sel.RunID == "" { // nowhere to keep them: the lists travel
		return r.Summary(), nil
	}
	return r.Summary().Counts(), nil
}

// RerateChanges is what run changed: the cost difference of each client
// and currency, and the adjustments due inside issued invoices' periods,
// as the run's days recorded them.
func (s *Service) RerateChanges(ctx context.Context, run string) ([]rerate.Difference, []rerate.Adjustment, error) {
	changes, err := s.Store.RerateChanges(ctx, run)
	if err != nil {
		return nil, nil, err
	}
	var diffs []rerate.Difference
	var adjs []rerate.Adjustment
	for _, c := range changes {
		if c.Invoice == nil {
			diffs = append(diffs, rerate.Difference{Client: c.Client, Currency: c.Currency, Amount: rating.Money(c.Amount)})
		} else {
			adjs = append(adjs, rerate.Adjustment{Invoice: *c.Invoice, Amount: rating.Money(c.Amount)})
		}
	}
	return diffs, adjs, nil
}

// EndRerate records the run's figures (nil when it failed) and frees its
// period.
func (s *Service) EndRerate(ctx context.Context, runID string, result *rerate.Summary) error {
	if result == nil {
		return s.Store.EndRerate(ctx, runID, nil, true)
	}
	return s.Store.EndRerate(ctx, runID, result, false)
}

// ReleaseRerate frees the period of a run that ended without saying so;
// the caller has checked that its workflow no longer runs.
func (s *Service) ReleaseRerate(ctx context.Context, runID string) error {
	return s.Store.ReleaseRerate(ctx, runID)
}

// RerateRecord is a rerate run as PostgreSQL keeps it: its state (running,
// done or failed), the counts its workflow recorded at the end (zero while
// it runs or when it failed), and what its finished days changed.
type RerateRecord struct {
	ID, State string
	Summary   rerate.Summary // its lists read from what the days recorded
}

// RerateRun reads run's record.
func (s *Service) RerateRun(ctx context.Context, run string) (RerateRecord, error) {
	state, result, err := s.Store.RerateRun(ctx, run)
	if err != nil {
		return RerateRecord{}, err
	}
	r := RerateRecord{ID: run, State: state}
	if len(result) > 0 {
		if err := json.Unmarshal(result, &r.Summary); err != nil {
			return r, fmt.Errorf("rerate run %s: its result: %w", run, err)
		}
	}
	r.Summary.Differences, r.Summary.Adjustments, err = s.RerateChanges(ctx, run)
	return r, err
}
