package console

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/postgres"
)

// ImportOptions are the settings of an import beside its file.
type ImportOptions struct {
	Deck  string // codedeck: the deck's name
	Table string // rates: the rate table
	AZ    bool   // rates: the file is the whole table
}

// Importer applies one master-data file of a kind, all or nothing.
type Importer func(ctx context.Context, kind, name string, in io.Reader, o ImportOptions) (postgres.ImportResult, error)

// Deps are what the console reads and changes, wired by billctl.
type Deps struct {
	Billing *billing.Service
	Store   *postgres.Store
	// Replica and ReplicaStore read a streaming replica for the pages a
	// GET shows (nil: Billing and Store); after a change the session's
	// next pages read the primary until the replica has replayed it.
	Replica      *billing.Service
	ReplicaStore *postgres.Store
	Temporal     client.Client
	TaskQueue    string
	Namespace    string
	TemporalUI   string // the Web UI's base URL, "" when unknown
	Import       Importer
	ImportKinds  []string
	Users        *Users
	// SecureCookies marks the session cookie Secure: the console is served
	// over TLS, by itself or a proxy in front of it.
	SecureCookies bool
	Now           func() time.Time
	Log           *slog.Logger
}

// Server is the console's HTTP handler.
type Server struct {
	Deps
	sessions *scs.SessionManager
	pages    map[string]*template.Template
	mux      *http.ServeMux

	mu       sync.Mutex
	failures map[string]*rate.Limiter // login throttling, by name and by address
	tables   tableCache
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Session keys.
const (
	sessUser = "user"
	sessCSRF = "csrf"
	// sessWrote is the primary's log position after the session's last
	// change: its pages read the replica once it has replayed that far.
	sessWrote = "wrote"
)

// New makes the console over deps.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Deps: d, failures: map[string]*rate.Limiter{}}
	s.sessions = scs.New()
	s.sessions.Lifetime = 12 * time.Hour
	s.sessions.IdleTimeout = time.Hour
	s.sessions.Cookie.Name = "billrun_console"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteStrictMode
	s.sessions.Cookie.Secure = d.SecureCookies
	if err := s.parsePages(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler serves the console: sessions, then the checks every request
// passes, then the pages.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	return headers(s.sessions.LoadAndSave(cop.Handler(s.mux)))
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", http.FileServerFS(staticFiles))
	// Probes for an orchestrator: alive, and ready when PostgreSQL and
	// Temporal answer. They show nothing of billing.
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /readyz", s.ready)
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.csrf(s.login))
	m.HandleFunc("POST /logout", s.csrf(s.logout))
	m.HandleFunc("GET /{$}", s.signedIn(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/months", http.StatusSeeOther) }))
	m.HandleFunc("GET /months", s.signedIn(s.monthsPage))
	m.HandleFunc("POST /months/{period}/run", s.finance(s.startRun))
	m.HandleFunc("GET /runs/{id}", s.signedIn(s.runPage))
	m.HandleFunc("POST /runs/{id}/resolve", s.finance(s.resolveRun))
	m.HandleFunc("GET /invoices", s.signedIn(s.invoicesPage))
	m.HandleFunc("GET /invoices/{id}", s.signedIn(s.invoicePage))
	m.HandleFunc("GET /invoices/{id}/{verb}", s.signedIn(s.confirmPage))
	m.HandleFunc("POST /invoices/{id}/{verb}", s.finance(s.changeInvoice))
	m.HandleFunc("GET /invoices/{id}/documents/{kind}", s.signedIn(s.document))
	m.HandleFunc("GET /data", s.signedIn(s.dataPage))
	m.HandleFunc("POST /data/import", s.finance(s.importFile))
	m.HandleFunc("GET /balances", s.signedIn(s.balancesPage))
	m.HandleFunc("GET /audit", s.signedIn(s.auditPage))
	s.mux = m
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		http.Error(w, "PostgreSQL does not answer", http.StatusServiceUnavailable)
		return
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		http.Error(w, "Temporal does not answer", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// headers keeps pages out of frames and other origins' reach; pages carry
// no inline script.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// csrfToken is the session's token, made on first use.
func (s *Server) csrfToken(ctx context.Context) string {
	tok := s.sessions.GetString(ctx, sessCSRF)
	if tok == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		tok = base64.RawURLEncoding.EncodeToString(b)
		s.sessions.Put(ctx, sessCSRF, tok)
	}
	return tok
}

// csrf refuses a form whose token is not the session's.
func (s *Server) csrf(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		want := s.sessions.GetString(r.Context(), sessCSRF)
		got := r.FormValue("csrf")
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			http.Error(w, "this form has no valid CSRF token: reload the page and send it again", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

const maxUpload = 256 << 20

// who is the signed-in user and their role now ("" when none).
func (s *Server) who(r *http.Request) (string, Role) {
	name := s.sessions.GetString(r.Context(), sessUser)
	if name == "" {
		return "", ""
	}
	return name, s.Users.Role(name)
}

func (s *Server) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, role := s.who(r); role == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, s.reading(r))
	}
}

// answering calls start once, as the answer's header is written.
type answering struct {
	http.ResponseWriter
	start   func()
	started bool
}

func (a *answering) WriteHeader(code int) {
	if !a.started {
		a.started = true
		a.start()
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answering) Write(b []byte) (int, error) {
	if !a.started {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(b)
}

func (a *answering) Unwrap() http.ResponseWriter { return a.ResponseWriter }

type readsKey struct{}

// replicaTimeout is how long a page waits for the replica to answer before
// it reads the primary.
const replicaTimeout = time.Second

// reads is where a page reads: the replica, or the primary.
type reads struct {
	billing *billing.Service
	store   *postgres.Store
}

// reading is r set to read the replica, when there is one and it has
// replayed the session's last change; otherwise r, which reads the
// primary. A replica that does not answer is logged and passed over.
func (s *Server) reading(r *http.Request) *http.Request {
	if s.Replica == nil || s.ReplicaStore == nil {
		return r
	}
	// Asked on every page, so that a replica gone away is passed over.
	lsn := s.sessions.GetString(r.Context(), sessWrote)
	ctx, cancel := context.WithTimeout(r.Context(), replicaTimeout)
	defer cancel()
	done, err := s.ReplicaStore.Replayed(ctx, cmp.Or(lsn, "0/0"))
	if err != nil {
		s.Log.Warn("the replica does not answer: reading the primary", "err", err)
		return r
	}
	if !done {
		return r
	}
	if lsn != "" {
		s.sessions.Remove(r.Context(), sessWrote)
	}
	return r.WithContext(context.WithValue(r.Context(), readsKey{}, reads{s.Replica, s.ReplicaStore}))
}

// bill is billing where the request of ctx reads.
func (s *Server) bill(ctx context.Context) *billing.Service {
	if v, ok := ctx.Value(readsKey{}).(reads); ok {
		return v.billing
	}
	return s.Billing
}

// db is the store where the request of ctx reads.
func (s *Server) db(ctx context.Context) *postgres.Store {
	if v, ok := ctx.Value(readsKey{}).(reads); ok {
		return v.store
	}
	return s.Store
}

// finance lets finance users change things; a viewer's POST is refused
// whatever the page showed them. The role is checked before the form's
// token, so that nobody else's upload is even read.
func (s *Server) finance(next http.HandlerFunc) http.HandlerFunc {
	guarded := s.csrf(next)
	return func(w http.ResponseWriter, r *http.Request) {
		switch _, role := s.who(r); role {
		case "":
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		case Finance:
			if s.Replica != nil {
				// The session's next pages see what this changed: its log
				// position is kept as the answer starts, before the
				// session is saved with it.
				w = &answering{ResponseWriter: w, start: func() {
					if lsn, err := s.Store.WALPosition(r.Context()); err == nil {
						s.sessions.Put(r.Context(), sessWrote, lsn)
					}
				}}
			}
			guarded(w, r)
		default:
			http.Error(w, "your role may read, not change: ask for the finance role", http.StatusForbidden)
		}
	}
}

// Login throttling: a name or an address gets loginBurst tries, then one
// more every loginEvery; a successful login does not spend one.
const (
	loginBurst   = 5
	loginEvery   = 12 * time.Second
	maxThrottled = 10_000 // names and addresses remembered before the whole ones are dropped
)

func (s *Server) limiter(key string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) >= maxThrottled { // names sprayed at the form: forget those that are whole again
		now := s.Now()
		for k, l := range s.failures {
			if l.TokensAt(now) >= loginBurst {
				delete(s.failures, k)
			}
		}
	}
	l := s.failures[key]
	if l == nil {
		l = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		s.failures[key] = l
	}
	return l
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", map[string]any{"Next": r.URL.Query().Get("next")})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, password := strings.TrimSpace(r.FormValue("user")), r.FormValue("password")
	byName, byAddr := s.limiter("user:"+name), s.limiter("addr:"+clientAddr(r))
	now := s.Now()
	if byName.TokensAt(now) < 1 || byAddr.TokensAt(now) < 1 {
		s.Log.Warn("console login throttled", "user", name, "addr", clientAddr(r))
		s.render(w, r, http.StatusTooManyRequests, "login", map[string]any{"Error": "Too many failed sign-ins: wait a minute and try again."})
		return
	}
	role, ok := s.Users.Authenticate(name, password)
	if !ok {
		byName.AllowN(now, 1)
		byAddr.AllowN(now, 1)
		s.Log.Warn("console login failed", "user", name, "addr", clientAddr(r))
		s.render(w, r, http.StatusUnauthorized, "login", map[string]any{"Error": "Wrong name or password."})
		return
	}
	// A new session ID at sign-in: a token planted before cannot ride it.
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessUser, name)
	s.sessions.Remove(r.Context(), sessCSRF)
	s.Log.Info("console login", "user", name, "role", role)
	http.Redirect(w, r, "/months", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	_ = s.sessions.Destroy(r.Context())
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
