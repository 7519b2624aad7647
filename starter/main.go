// Command billctl is billrun's command-line tool (interfaces.md).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/billrun/billrun/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
