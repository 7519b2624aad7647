package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL cluster of the test's own, owned by user billrun
// with trust authentication.
type Cluster struct {
	Port      int
	bin, home string
	asPG      []string // runuser, when we are root: the server refuses root
}

// Start initialises and starts a primary, with small buffers; it is
// stopped and removed when the test ends. settings are extra server
// settings ("name=value").
func Start(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	c := newCluster(t)
	if out, err := c.run("initdb", "-D", c.Data(), "-U", "billrun", "--auth=trust", "-E", "UTF8", "--no-locale"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.configure(t, append([]string{"shared_buffers=32MB", "max_connections=200", "wal_level=replica", "max_wal_senders=4"}, settings...))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Standby makes a hot standby of primary (pg_basebackup -R) and starts it;
// it streams the primary's WAL and answers read-only queries.
func Standby(t testing.TB, primary *Cluster) *Cluster {
	t.Helper()
	c := newCluster(t)
	if out, err := c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port), "-U", "billrun", "-D", c.Data(),
		"-R", "-X", "stream", "-c", "fast"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	c.configure(t, []string{"hot_standby=on"})
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

func newCluster(t testing.TB) *Cluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL's server binaries are missing (/usr/lib/postgresql/*/bin): `make up` installs them")
	}
	sort.Strings(bins)
	c := &Cluster{bin: filepath.Dir(bins[len(bins)-1]), Port: freePort(t)}
	home, err := os.MkdirTemp("", "billrun-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.home = home
	t.Cleanup(func() { os.RemoveAll(home) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root needs the postgres user to run the server:", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(home, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.asPG = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() { _, _ = c.run("pg_ctl", "-D", c.Data(), "-m", "immediate", "-w", "stop") })
	return c
}

// configure appends settings to the cluster's postgresql.auto.conf (as the
// server's user: the file is its own).
func (c *Cluster) configure(t testing.TB, settings []string) {
	t.Helper()
	var conf string
	for _, s := range settings {
		conf += s + "\n"
	}
	path := filepath.Join(c.Data(), "postgresql.auto.conf")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Data is the cluster's data folder.
func (c *Cluster) Data() string { return filepath.Join(c.home, "data") }

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string(nil), c.asPG...), filepath.Join(c.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...).CombinedOutput()
}

// Start starts the server (again, after Crash) on its port.
func (c *Cluster) Start() error {
	out, err := c.run("pg_ctl", "-D", c.Data(), "-l", filepath.Join(c.home, "postgres.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.Port, c.home), "start")
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %v\n%s", err, out)
	}
	return nil
}

// Crash stops the server as a power cut would: no checkpoint, every
// connection dropped; the next start recovers from the WAL.
func (c *Cluster) Crash() error {
	out, err := c.run("pg_ctl", "-D", c.Data(), "-m", "immediate", "-w", "stop")
	if err != nil {
		return fmt.Errorf("stop PostgreSQL: %v\n%s", err, out)
	}
	return nil
}

// URL is the address of database db as user billrun.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://billrun@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Exec runs SQL on the cluster's postgres database.
func (c *Cluster) Exec(t testing.TB, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

// CreateDB creates database name and returns its URL.
func (c *Cluster) CreateDB(t testing.TB, name string) string {
	t.Helper()
	c.Exec(t, "CREATE DATABASE "+name)
	return c.URL(name)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitReplayed waits until standby has replayed everything primary has
// written so far.
func WaitReplayed(t testing.TB, primary, standby *Cluster, db string) {
	t.Helper()
	ctx := context.Background()
	var lsn string
	conn, err := pgx.Connect(ctx, primary.URL(db))
	if err == nil {
		err = conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
		conn.Close(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var done bool
		conn, err := pgx.Connect(ctx, standby.URL(db))
		if err == nil {
			err = conn.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn).Scan(&done)
			conn.Close(ctx)
		}
		if err == nil && done {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the standby did not replay %s within 30 s: %v", lsn, err)
		}
	}
}
