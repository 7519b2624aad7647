package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/billrun/billrun/internal/cdr"
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
// with the current master data, and returns what changed.
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
	return r.Summary(), nil
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
