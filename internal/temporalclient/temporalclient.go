// Package temporalclient dials Temporal with billrun's settings, prepares
// a namespace (custom search attributes) for billrun's workflows, and tells
// activities whether a workflow still runs.
package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Dial connects to the Temporal frontend at address, in namespace.
func Dial(ctx context.Context, address, namespace string, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{HostPort: address, Namespace: namespace}
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
	}
	return c, nil
}

// EnsureSearchAttributes registers the attributes missing from namespace.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enums.IndexedValueType) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if t, ok := have.CustomAttributes[n]; ok {
			if t != attrs[n] {
				return fmt.Errorf("search attribute %s exists with type %s, billrun needs %s", n, t, attrs[n])
			}
			continue
		}
		missing[n] = attrs[n]
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// Runs answers whether workflows are still running, from the Temporal
// service.
type Runs struct {
	Client client.Client
}

// Open tells whether the workflow with ID id has a running execution.
func (r Runs) Open(ctx context.Context, id string) (bool, error) {
	d, err := r.Client.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
