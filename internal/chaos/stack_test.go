//go:build chaos

package chaos_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/postgres/pgcluster"
)

// The chaos run starts its own instances of every service, so that it may
// stop and kill them: never the developer's stack.

// repoRoot is the repository's top directory.
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// freePort asks the kernel for a port nobody listens on.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func listening(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func waitListening(t testing.TB, name string, port int, within time.Duration, log string) {
	t.Helper()
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if listening(port) {
			return
		}
	}
	b, _ := os.ReadFile(log)
	t.Fatalf("%s did not come up on port %d within %s; its log:\n%s", name, port, within, tail(b, 3000))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// tool is a binary of the local stack (built by `make up` into .local/bin).
func tool(t testing.TB, name string) string {
	p := filepath.Join(repoRoot(t), ".local", "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: `make chaos` runs `make up`, which builds it", p)
	}
	return p
}

// process is a long-running child whose output goes to a log file.
type process struct {
	cmd *exec.Cmd
	log string
}

func spawn(t testing.TB, log string, env []string, name string, args ...string) *process {
	t.Helper()
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return &process{cmd: cmd, log: log}
}

// kill sends SIGKILL and reaps the process.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// startPostgres starts a PostgreSQL cluster of the run's own with
// billrun's roles.
func startPostgres(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	c := pgcluster.Start(t)
	roles, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "postgres", "roles.sql"))
	if err != nil {
		t.Fatal(err)
	}
	c.Exec(t, string(roles))
	return c
}

func clone(s []string) []string { return append([]string(nil), s...) }

// s3Server is an S3 gateway of the run's own, stopped and started again on
// the same port and folder.
type s3Server struct {
	bin, dir, log string
	port          int
	proc          *process
}

const s3Key, s3Secret = "chaos", "chaos-secret-not-used-elsewhere"

func startS3(t testing.TB) *s3Server {
	t.Helper()
	s := &s3Server{bin: tool(t, "versitygw"), dir: t.TempDir(), port: freePort(t)}
	s.log = filepath.Join(s.dir, "..", "s3.log")
	if err := os.MkdirAll(filepath.Join(s.dir, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.start(t)
	t.Cleanup(func() {
		if s.proc != nil {
			s.proc.kill()
		}
	})
	return s
}

func (s *s3Server) start(t testing.TB) {
	env := append(os.Environ(), "ROOT_ACCESS_KEY="+s3Key, "ROOT_SECRET_KEY="+s3Secret)
	s.proc = spawn(t, s.log, env, s.bin, "--port", fmt.Sprintf("127.0.0.1:%d", s.port), "--quiet", "--keep-alive",
		"posix", filepath.Join(s.dir, "root"))
	waitListening(t, "S3", s.port, 30*time.Second, s.log)
}

func (s *s3Server) stop() {
	s.proc.kill()
	s.proc = nil
}

// startTemporal starts a dev server in memory: each run of the month has
// its own, so that workflow IDs built from business keys never meet.
func startTemporal(t testing.TB, dir string) string {
	t.Helper()
	port := freePort(t)
	log := filepath.Join(dir, "temporal.log")
	p := spawn(t, log, os.Environ(), tool(t, "temporal"), "server", "start-dev", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(freePort(t)), "--headless", "--log-level", "error")
	t.Cleanup(p.kill)
	waitListening(t, "Temporal", port, 90*time.Second, log)
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// build compiles billctl and the worker once for the whole chaos run.
func build(t testing.TB) (billctl, worker string) {
	t.Helper()
	dir := t.TempDir()
	billctl, worker = filepath.Join(dir, "billctl"), filepath.Join(dir, "billrun-worker")
	for pkg, out := range map[string]string{"./starter": billctl, "./worker": worker} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = repoRoot(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	return billctl, worker
}

// workers are the worker processes of one run; kill SIGKILLs one at random
// and starts another in its place.
type workers struct {
	t     testing.TB
	bin   string
	env   []string
	dir   string
	mu    sync.Mutex
	procs []*process
	kills int
	next  int
}

func startWorkers(t testing.TB, bin string, env []string, dir string, n int) *workers {
	w := &workers{t: t, bin: bin, env: env, dir: dir}
	for range n {
		w.procs = append(w.procs, w.spawn())
	}
	t.Cleanup(w.stop)
	return w
}

func (w *workers) spawn() *process {
	w.next++
	return spawn(w.t, filepath.Join(w.dir, fmt.Sprintf("worker-%02d.log", w.next)), w.env, w.bin)
}

func (w *workers) kill(rng *rand.Rand) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := rng.IntN(len(w.procs))
	w.procs[i].kill()
	w.kills++
	w.procs[i] = w.spawn()
}

func (w *workers) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.procs {
		p.kill()
	}
	w.procs = nil
}

// logs is the last lines of every worker's log, for a failure's message.
func (w *workers) logs() string {
	var b bytes.Buffer
	names, _ := filepath.Glob(filepath.Join(w.dir, "worker-*.log"))
	for _, n := range names {
		data, _ := os.ReadFile(n)
		if len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(n), strings.TrimSpace(string(tail(data, 1500))))
	}
	return b.String()
}
