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
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"
)

// Default address and namespace: the local dev server's.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Resolve reads the connection as the Temporal CLI does
// (go.temporal.io/sdk/contrib/envconfig): the profile TEMPORAL_PROFILE of
// the config file TEMPORAL_CONFIG_FILE (or the CLI's own), then the
// TEMPORAL_* variables over it: address, namespace, API key, TLS client
// certificate and key, server CA and name, gRPC headers. address and
// namespace, when not empty, are billrun's own settings and win.
func Resolve(address, namespace string) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("Temporal connection settings: %w", err)
	}
	opts.HostPort = first(address, opts.HostPort, DefaultAddress)
	opts.Namespace = first(namespace, opts.Namespace, DefaultNamespace)
	return opts, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Dial connects to the Temporal frontend with opts (see Resolve).
func Dial(ctx context.Context, opts client.Options, logger *slog.Logger) (client.Client, error) {
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
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
