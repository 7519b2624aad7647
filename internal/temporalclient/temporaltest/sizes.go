package temporaltest

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// MaxPayload is the most any payload billrun sends through Temporal may
// hold (issue 29): well under Temporal's 2 MB limit, whatever the month.
const MaxPayload = 256 << 10

// Sizes is a data converter that records, by kind (the Go type of the value
// converted: an activity's or workflow's input or result, a query's answer,
// a heartbeat's details), the largest payload it made.
type Sizes struct {
	converter.DataConverter
	mu  sync.Mutex
	max map[string]int
}

// NewSizes wraps Temporal's default converter.
func NewSizes() *Sizes {
	return &Sizes{DataConverter: converter.GetDefaultDataConverter(), max: map[string]int{}}
}

func (s *Sizes) record(value any, p *commonpb.Payload) {
	kind := fmt.Sprintf("%T", value)
	n := p.Size()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > s.max[kind] {
		s.max[kind] = n
	}
}

// ToPayload converts value and records its size.
func (s *Sizes) ToPayload(value any) (*commonpb.Payload, error) {
	p, err := s.DataConverter.ToPayload(value)
	if err == nil && p != nil {
		s.record(value, p)
	}
	return p, err
}

// ToPayloads converts values and records each one's size.
func (s *Sizes) ToPayloads(values ...any) (*commonpb.Payloads, error) {
	ps, err := s.DataConverter.ToPayloads(values...)
	if err == nil && ps != nil {
		for i, p := range ps.GetPayloads() {
			if i < len(values) {
				s.record(values[i], p)
			}
		}
	}
	return ps, err
}

// Largest is the largest payload of each kind so far.
func (s *Sizes) Largest() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.max)
}

// Check fails t for every kind whose largest payload passed MaxPayload.
func (s *Sizes) Check(t testing.TB) {
	t.Helper()
	largest := s.Largest()
	for _, kind := range slices.Sorted(maps.Keys(largest)) {
		if largest[kind] > MaxPayload {
			t.Errorf("a payload of %s held %d bytes: more than %d", kind, largest[kind], MaxPayload)
		}
	}
}

// Measured is New with a client whose payloads s records: a worker made
// from it records what it sends and receives too.
func Measured(t testing.TB, s *Sizes) (client.Client, string) {
	t.Helper()
	c, queue := New(t)
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	mc, err := client.NewClientFromExisting(c, client.Options{Namespace: ns, DataConverter: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mc.Close)
	return mc, queue
}
