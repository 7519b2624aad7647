package activities

import (
	"context"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/s3store"
)

// Activities are billrun's activities and what they need.
type Activities struct {
	Store   *postgres.Store
	S3      *s3store.Store
	Engines *postgres.EngineCache
	// Seller is printed on invoices; NumberTemplate numbers them.
	Seller         invoice.Seller
	NumberTemplate string
	// Runs tells whether a workflow is still running; nil takes every
	// recorded run for running.
	Runs Runs
}

// Runs tells whether the workflow with an ID has an open run.
type Runs interface {
	Open(ctx context.Context, workflowID string) (bool, error)
}

// New wires the activities.
func New(store *postgres.Store, s3 *s3store.Store) *Activities {
	return &Activities{Store: store, S3: s3, Engines: postgres.NewEngineCache(store),
		Seller: invoice.Seller{Name: "billrun"}, NumberTemplate: "INV-{YYYY}-{SEQ:6}"}
}
