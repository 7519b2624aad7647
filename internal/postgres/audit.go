package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent is one change a user made (migration 026).
type AuditEvent struct {
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Detail  map[string]any
}

// Audit records a change with who made it.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return err
	}
	if e.Detail == nil {
		detail = []byte("{}")
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO audit_events (actor, action, subject, detail) VALUES ($1, $2, $3, $4)`,
		e.Actor, e.Action, e.Subject, detail)
	return err
}

// AuditEvents lists the latest changes, newest first; of one subject when
// subject is not "".
func (s *Store) AuditEvents(ctx context.Context, subject string, limit int) ([]AuditEvent, error) {
	rows, _ := s.pool.Query(ctx, `SELECT at, actor, action, subject, detail FROM audit_events
		WHERE $1 = '' OR subject = $1 ORDER BY at DESC, id DESC LIMIT $2`, subject, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		var detail []byte
		if err := r.Scan(&e.At, &e.Actor, &e.Action, &e.Subject, &detail); err != nil {
			return e, err
		}
		return e, json.Unmarshal(detail, &e.Detail)
	})
}
