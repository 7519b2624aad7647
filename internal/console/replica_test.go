package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cli"
	"github.com/billrun/billrun/internal/console"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/s3store/s3test"
)

// TestPagesReadTheReplicaAndASessionSeesItsOwnChange runs the console over
// a primary and a hot standby of the test's own, with replay paused on the
// standby: a rate table imported by one user is on that user's next page
// (read from the primary until the standby has replayed the import) and
// not on another user's (read from the standby) until replay resumes.
func TestPagesReadTheReplicaAndASessionSeesItsOwnChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL servers")
	}
	bucket := s3test.New(t)
	db := pgtest.NewReplicated(t)
	store := db.Store
	replica, err := postgres.OpenReplica(ctx, db.StandbyURL(), store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Close)
	srv, err := console.New(console.Deps{Billing: billing.New(store, bucket), Store: store,
		Replica: billing.New(replica, bucket), ReplicaStore: replica, Users: users(t),
		Import: func(ctx context.Context, kind, name string, in io.Reader, o console.ImportOptions) (postgres.ImportResult, error) {
			return cli.ImportFile(ctx, store, kind, name, in, o)
		},
		ImportKinds: cli.ImportKinds()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	fiona, victor := signedIn(t, hs.URL, "fiona", financePassword), signedIn(t, hs.URL, "victor", viewerPassword)

	db.Pause(t)
	const table = "replica-test-eur"
	if page := fiona.importFile(t, "ratetables", "ratetables.csv",
		"name,currency,deck,parent,rates_include_taxes,notes\n"+table+",EUR,world,,false,\n"); !strings.Contains(page, table) {
		t.Fatalf("the import's own page does not list %s", table)
	}
	seen := func(s *session) bool { return strings.Contains(s.page(t, "/data"), table) }
	tests := []struct {
		name string
		s    *session
		want bool
	}{
		{"the importer's next page reads the primary", fiona, true},
		{"another user's page reads the replica, which has not replayed the import", victor, false},
	}
	for _, tt := range tests {
		if got := seen(tt.s); got != tt.want {
			t.Errorf("%s: table listed %v, want %v", tt.name, got, tt.want)
		}
	}
	db.Resume(t)
	if !seen(victor) || !seen(fiona) {
		t.Errorf("once replayed, the table is not on every page")
	}
}

// signedIn is a session of user on the console at base.
func signedIn(t *testing.T, base, user, password string) *session {
	t.Helper()
	s := newSession(t, base)
	resp := s.post("/login", url.Values{"user": {user}, "password": {password}, "csrf": {s.token()}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: status %d", user, resp.StatusCode)
	}
	return s
}

// page is the body of a GET of path.
func (s *session) page(t *testing.T, path string) string {
	t.Helper()
	resp, err := s.c.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", path, resp.StatusCode, body)
	}
	return string(body)
}

// importFile posts a file to the data page's import form and returns the
// page it answers.
func (s *session) importFile(t *testing.T, kind, name, body string) string {
	t.Helper()
	token := tokenField.FindStringSubmatch(s.page(t, "/data"))
	if token == nil {
		t.Fatal("no form token on the data page")
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("csrf", token[1])
	_ = w.WriteField("kind", kind)
	f, _ := w.CreateFormFile("file", name)
	_, _ = f.Write([]byte(body))
	_ = w.Close()
	resp, err := s.c.Post(s.base+"/data/import", w.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import: status %d\n%s", resp.StatusCode, page)
	}
	return string(page)
}
