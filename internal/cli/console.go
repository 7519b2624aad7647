package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/console"
	"github.com/billrun/billrun/internal/postgres"
)

func (a *app) consoleCmd() *cobra.Command {
	var listen, certFile, keyFile string
	var secure bool
	cmd := &cobra.Command{
		Use: "console [--listen ADDR] [--tls-cert FILE --tls-key FILE]",
		Example: `  BILLRUN_CONSOLE_USERS=users.txt billctl console                  # http://127.0.0.1:8080
  billctl console user alice finance < password.txt >> users.txt     # a line of the users file`,
		Short: "Serve the finance console: months, bill runs, invoices and master data in a browser (docs/console.md)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if (certFile == "") != (keyFile == "") {
				return errors.New("give both --tls-cert and --tls-key, or neither")
			}
			users, err := console.LoadUsers(a.cfg.ConsoleUsers)
			if err != nil {
				return err
			}
			srv, err := a.console(ctx, users, secure || certFile != "")
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			scheme := "http"
			if certFile != "" {
				scheme = "https"
			}
			fmt.Fprintf(a.err, "billrun console on %s://%s (Temporal namespace %s, task queue %s)\n", scheme, ln.Addr(), a.cfg.TemporalNamespace, a.cfg.TaskQueue)
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = hs.Shutdown(sctx)
			}()
			if certFile != "" {
				err = hs.ServeTLS(ln, certFile, keyFile)
			} else {
				err = hs.Serve(ln)
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (loopback unless told otherwise)")
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "serve HTTPS with this certificate")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "and this key")
	cmd.Flags().BoolVar(&secure, "secure-cookies", false, "mark the session cookie Secure: a TLS proxy serves the console (on with --tls-cert)")
	cmd.AddCommand(&cobra.Command{
		Use:   "user NAME viewer|finance",
		Short: "Print a users-file line for NAME, with the password read from stdin (bcrypt)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			line, err := console.UserLine(args[0], console.Role(args[1]), strings.TrimRight(pw, "\r\n"))
			if err != nil {
				return err
			}
			if a.format == "table" { // the line itself, to append to the file
				_, err = fmt.Fprintln(a.out, line)
				return err
			}
			return a.print(table{header: []string{"user", "role", "line"}, rows: [][]string{{args[0], args[1], line}},
				json: map[string]string{"user": args[0], "role": args[1], "line": line}})
		},
	})
	return cmd
}

// console wires the console to billctl's services.
func (a *app) console(ctx context.Context, users *console.Users, secure bool) (*console.Server, error) {
	svc, err := a.billing(ctx)
	if err != nil {
		return nil, err
	}
	c, err := a.temporalClient(ctx)
	if err != nil {
		return nil, err
	}
	rd, err := a.reports(ctx)
	if err != nil {
		return nil, err
	}
	db := a.store
	var replica *billing.Service
	if a.replica != nil && a.replica != db {
		replica = rd
	}
	return console.New(console.Deps{
		Billing: svc, Store: db, Replica: replica, ReplicaStore: a.replica, Temporal: c, TaskQueue: a.cfg.TaskQueue, Namespace: a.cfg.TemporalNamespace, TemporalUI: a.uiBase(),
		Import: func(ctx context.Context, kind, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error) {
			return ImportFile(ctx, db, kind, name, in, o)
		},
		ImportKinds: ImportKinds(), Users: users, SecureCookies: secure,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
}
