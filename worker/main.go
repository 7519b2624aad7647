// Command billrun-worker runs billrun's workflows and activities: it
// connects to PostgreSQL, S3 and Temporal (migrating the database when its
// role may), and polls the task queue until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/workerapp"
)

const usage = `billrun-worker runs billrun's workflows and activities until SIGINT or SIGTERM.

Settings come from the environment (docs/interfaces.md): DATABASE_URL, S3_ENDPOINT,
S3_BUCKET, AWS credentials, TEMPORAL_TASK_QUEUE, the Temporal CLI's TEMPORAL_* variables
and profiles (address, namespace, TLS, API key), BILLRUN_ISSUER_*, the invoice number
templates, BILLRUN_METRICS_ADDR (Prometheus /metrics, /healthz and /readyz),
BILLRUN_WORKER_STOP_TIMEOUT (default 30s) and BILLRUN_LOG_FORMAT (text or json).

Flags:
`

func main() {
	flags := flag.NewFlagSet("billrun-worker", flag.ExitOnError)
	version := flags.Bool("version", false, "print the version and exit")
	healthcheck := flags.Bool("healthcheck", false, "ask the running worker's /readyz (on BILLRUN_METRICS_ADDR) and exit 0 if it is ready: for images without a shell")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	_ = flags.Parse(os.Args[1:])
	if *version {
		fmt.Println("billrun-worker", config.Version())
		return
	}
	if *healthcheck {
		os.Exit(probe(config.FromEnv().MetricsAddr))
	}
	if flags.NArg() > 0 {
		flags.Usage()
		os.Exit(2)
	}
	cfg := config.FromEnv()
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	log := slog.New(h)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := workerapp.Run(ctx, cfg, log); err != nil {
		log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

// probe asks a worker's /readyz on addr (":9090" is this host's port 9090).
func probe(addr string) int {
	if addr == "" {
		fmt.Fprintln(os.Stderr, "billrun-worker: BILLRUN_METRICS_ADDR is not set: no endpoint to ask")
		return 1
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		fmt.Fprintln(os.Stderr, "billrun-worker:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "billrun-worker: not ready:", resp.Status)
		return 1
	}
	return 0
}
