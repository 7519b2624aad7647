package report

import (
	"encoding/json"
	"time"
)

// BillRun is the audit record of a bill run (billing-rules §6): kept in
// the database, so that what was accepted, by whom and with which findings
// outlives the workflow history.
type BillRun struct {
	RunID, WorkflowID string
	Period            string
	StartedBy         string
	StartedAt         time.Time
	Phase             string
	Options           json.RawMessage // the run's input
	Resolutions       []Resolution
	Status            json.RawMessage // the run's status as it last recorded it
	Finished          bool
}

// Resolution is one answer finance gave a waiting run, with the findings
// it answered.
type Resolution struct {
	Action     string    `json:"action"`
	Actor      string    `json:"actor"`
	At         time.Time `json:"at"`
	Errors     int       `json:"errors"`
	Warnings   int       `json:"warnings"`
	Mismatched bool      `json:"mismatched"`
	Findings   []string  `json:"findings"`
}
