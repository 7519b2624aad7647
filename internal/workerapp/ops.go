package workerapp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics are the SDK's metrics and billrun's own (activities and
// workflows record them through the SDK's handler: billrun_cdrs_ingested,
// billrun_invoices_issued, billrun_bill_run_waiting …), for Prometheus.
type Metrics struct {
	Handler client.MetricsHandler
	http    http.Handler
}

// NewMetrics returns a metrics handler for the Temporal client and the
// HTTP handler that exposes what it records.
func NewMetrics(log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	h := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: provider.Meter("billrun"),
		// A metric that cannot be recorded is logged, never a crash.
		OnError: func(err error) { log.Warn("metric not recorded", "error", err) },
	})
	return &Metrics{Handler: h, http: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// probe tells whether the worker can work: it polls, and its database and
// Temporal answer.
type probe struct {
	polling atomic.Bool
	checks  []func(context.Context) error
}

// serveOps serves /metrics, /healthz (the process answers) and /readyz
// (the worker polls and its services answer) on addr, and Go's profiles
// under /debug/pprof/ when profiling; the function it returns stops
// serving.
func serveOps(addr string, m *Metrics, p *probe, profiling bool, log *slog.Logger) (func(), error) {
	mux := http.NewServeMux()
	if profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /metrics", m.http)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !p.polling.Load() {
			http.Error(w, "not polling yet", http.StatusServiceUnavailable)
			return
		}
		cctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		for _, check := range p.checks {
			if err := check(cctx); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics and health endpoint stopped", "error", err)
		}
	}()
	log.Info("metrics and health", "addr", l.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}
