package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/billrun/billrun/internal/console"
)

func TestAUsersFileErrorNamesItsLineAndField(t *testing.T) {
	good, err := console.UserLine("fiona", console.Finance, "long enough")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, file, want string }{
		{"a line without its three fields", "fiona:finance\n", "users.txt:1: want NAME:ROLE:BCRYPT_HASH"},
		{"an unknown role", "# users\n\nfiona:admin:" + strings.SplitN(good, ":", 3)[2] + "\n", `users.txt:3: role "admin"`},
		{"a password that is not a bcrypt hash", "fiona:finance:secret\n", "users.txt:1: password hash: not bcrypt"},
		{"a name listed twice", good + "\n" + good + "\n", `users.txt:2: name "fiona": listed twice`},
		{"an empty name", ":finance:x\n", "users.txt:1: name: empty"},
		{"no users at all", "# nobody\n", "users.txt: no users"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := console.ReadUsers("users.txt", strings.NewReader(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestOnlyTheRightPasswordSignsIn(t *testing.T) {
	us := users(t)
	for _, c := range []struct {
		name, password string
		role           console.Role
	}{
		{"fiona", financePassword, console.Finance},
		{"victor", viewerPassword, console.Viewer},
		{"fiona", viewerPassword, ""},
		{"nobody", financePassword, ""},
		{"victor", "", ""},
	} {
		role, ok := us.Authenticate(c.name, c.password)
		if role != c.role || ok != (c.role != "") {
			t.Errorf("%s with %q: %q %v, want %q", c.name, c.password, role, ok, c.role)
		}
	}
}

// session is a browser-like client of a console with no services behind
// it: enough for what is refused before any page is read.
type session struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newSession(t testing.TB, base string) *session {
	jar, _ := cookiejar.New(nil)
	return &session{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var tokenField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the form token from the sign-in page.
func (s *session) token() string {
	s.t.Helper()
	resp, err := s.c.Get(s.base + "/login")
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenField.FindSubmatch(body)
	if m == nil {
		s.t.Fatalf("no token on the sign-in page: %s", body)
	}
	return string(m[1])
}

func (s *session) post(path string, form url.Values) *http.Response {
	s.t.Helper()
	resp, err := s.c.PostForm(s.base+path, form)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func consoleOnly(t *testing.T) *httptest.Server {
	srv, err := console.New(console.Deps{Users: users(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func TestPagesNeedASignInAndFormsTheirToken(t *testing.T) {
	hs := consoleOnly(t)
	s := newSession(t, hs.URL)
	for _, path := range []string{"/months", "/runs/bill-run-2026-10", "/invoices", "/invoices/x/documents/pdf", "/data", "/audit"} {
		resp, err := s.c.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s unsigned: %d to %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Without the token even the right password is refused.
	if resp := s.post("/login", url.Values{"user": {"fiona"}, "password": {financePassword}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without a token: %d", resp.StatusCode)
	}
	tok := s.token()
	if resp := s.post("/login", url.Values{"csrf": {tok + "x"}, "user": {"fiona"}, "password": {financePassword}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in with a wrong token: %d", resp.StatusCode)
	}
	resp := s.post("/login", url.Values{"csrf": {tok}, "user": {"fiona"}, "password": {financePassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/months" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Signed in, a form still needs the session's token (a new one since
	// the sign-in).
	if resp := s.post("/months/2026-10/run", url.Values{"csrf": {tok}, "state": {"draft"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a form with the token from before the sign-in: %d", resp.StatusCode)
	}
	// A form from another site is refused whatever it carries.
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/logout", strings.NewReader("csrf="+tok))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := s.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site form: %v %v", resp, err)
	}
}

func TestTheSessionCookieIsSecureUnderTLS(t *testing.T) {
	srv, err := console.New(console.Deps{Users: users(t), SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv.Handler())
	defer hs.Close()
	resp, err := hs.Client().Get(hs.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "billrun_console" && c.Secure && c.HttpOnly {
			return
		}
	}
	t.Fatalf("no Secure session cookie: %v", resp.Cookies())
}

func TestPagesKeepOutOfFramesAndCaches(t *testing.T) {
	hs := consoleOnly(t)
	resp, err := http.Get(hs.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s: %q, want %q in it", h, resp.Header.Get(h), want)
		}
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "billrun_console" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Fatalf("session cookie: %+v", cookie)
	}
}

func TestSignInsAreThrottledAfterFiveFailures(t *testing.T) {
	hs := consoleOnly(t)
	s := newSession(t, hs.URL)
	for i := range 5 {
		if resp := s.post("/login", url.Values{"csrf": {s.token()}, "user": {"fiona"}, "password": {"guess" + string(rune('a'+i))}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	// The sixth try is refused before the password is looked at, the right
	// one too; so is another name from the same address.
	for _, name := range []string{"fiona", "victor"} {
		password := map[string]string{"fiona": financePassword, "victor": viewerPassword}[name]
		if resp := s.post("/login", url.Values{"csrf": {s.token()}, "user": {name}, "password": {password}}); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s after five failures: %d", name, resp.StatusCode)
		}
	}
}

func TestAViewerOrAStrangerIsRefusedEveryChange(t *testing.T) {
	hs := consoleOnly(t)
	stranger := newSession(t, hs.URL)
	viewer := newSession(t, hs.URL)
	if resp := viewer.post("/login", url.Values{"csrf": {viewer.token()}, "user": {"victor"}, "password": {viewerPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	tok := viewer.token()
	for _, path := range []string{"/months/2026-10/run", "/runs/bill-run-2026-10/resolve", "/invoices/x/issue", "/invoices/x/void", "/data/import"} {
		if resp := stranger.post(path, url.Values{"csrf": {stranger.token()}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("a stranger's POST %s: %d to %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := viewer.post(path, url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's POST %s: %d", path, resp.StatusCode)
		}
	}
}
