// Command billrun-worker runs billrun's workflows and activities: it migrates
// the database, connects to PostgreSQL, S3 and Temporal, and polls the task
// queue until interrupted.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/billrun/billrun/internal/config"
	"github.com/billrun/billrun/internal/workerapp"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := workerapp.Run(ctx, config.FromEnv(), log); err != nil {
		log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}
