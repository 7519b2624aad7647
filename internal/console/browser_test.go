package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
)

// browser starts Debian's headless Chromium for a test; under CI a
// missing browser fails the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is missing: .ci/run installs Debian's chromium")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	tctx, cancelT := context.WithTimeout(bctx, 4*time.Minute)
	t.Cleanup(cancelT)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatal(err)
	}
	return tctx
}

func run(t *testing.T, b context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b, actions...); err != nil {
		t.Fatal(err)
	}
}

// get runs an action that reads something.
func get[T any](t *testing.T, b context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signIn(t *testing.T, b context.Context, base, name, password string) {
	t.Helper()
	run(t, b, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("#login-user"), name), chromedp.SendKeys(chromedp.ID("#login-password"), password),
		chromedp.Click(chromedp.ID("#login-submit")), chromedp.WaitVisible(chromedp.ID("#user")))
}

func signOut(t *testing.T, b context.Context) {
	t.Helper()
	run(t, b, chromedp.Click(chromedp.CSS("header form.who button")), chromedp.WaitVisible(chromedp.ID("#login-user")))
}

// visit opens url; a load that another navigation cut short is tried again.
func visit(t *testing.T, b context.Context, url string) {
	t.Helper()
	var err error
	for range 5 {
		if err = chromedp.Do(b, chromedp.Navigate(url)); err == nil || !strings.Contains(err.Error(), "ERR_ABORTED") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// text reads the text of the first element sel finds on the page at url.
func text(t *testing.T, b context.Context, url, sel string) string {
	t.Helper()
	visit(t, b, url)
	return strings.TrimSpace(get(t, b, chromedp.Text(chromedp.CSS(sel))))
}

// count is how many elements sel finds on the current page.
func count(t *testing.T, b context.Context, sel string) int {
	t.Helper()
	return get(t, b, chromedp.Evaluate[int](`document.querySelectorAll(`+quote(sel)+`).length`))
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// post sends a form from the page, as a script of another page could:
// fields as given, the session's cookie with it. It returns the status.
func post(t *testing.T, b context.Context, path string, fields map[string]string) int {
	t.Helper()
	js := `(async () => { const f = new URLSearchParams(); `
	for k, v := range fields {
		js += `f.append(` + quote(k) + `, ` + quote(v) + `); `
	}
	js += `const r = await fetch(` + quote(path) + `, {method: 'POST', body: f, redirect: 'manual'}); return r.status; })()`
	return get(t, b, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
}

// until reloads url until sel's text is want.
func until(t *testing.T, b context.Context, url, sel, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if got = text(t, b, url, sel); got == want {
			return
		}
	}
	t.Fatalf("%s %s: %q, want %q", url, sel, got, want)
}

// screenshot keeps a picture of the page for the docs when
// BILLRUN_SCREENSHOTS names a folder.
func screenshot(t *testing.T, b context.Context, name string) {
	t.Helper()
	dir := os.Getenv("BILLRUN_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(t, b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFinanceClosesOctoberInABrowser drives the console in Chromium on the
// real services: finance starts October's run, sees it wait with its
// findings, accepts, watches the invoices issue, opens one and downloads its
// PDF; a viewer is shown no buttons and refused the POSTs behind them; a
// form without its CSRF token is refused.
func TestFinanceClosesOctoberInABrowser(t *testing.T) {
	m := newMonth(t)
	b := browser(t)

	// Nobody gets in unsigned.
	run(t, b, chromedp.Navigate(m.url+"/months"), chromedp.WaitVisible(chromedp.ID("#login-user")))
	screenshot(t, b, "login")

	signIn(t, b, m.url, "fiona", financePassword)
	run(t, b, chromedp.Navigate(m.url+"/months"), chromedp.WaitVisible(chromedp.ID("#months")))
	if n := count(t, b, `tr[data-month="2026-10"] button.start:not([disabled])`); n != 1 {
		t.Fatalf("October has ended: want its start button enabled, found %d", n)
	}
	if n := count(t, b, `tr[data-month="`+m.thisMonth()+`"] button.start[disabled]`); n != 1 {
		t.Fatalf("this month has not ended: want its start button disabled, found %d", n)
	}

	// Start October's run, issuing its invoices.
	run(t, b, chromedp.SetValue(chromedp.CSS(`tr[data-month="2026-10"] select[name=state]`), "issued"),
		chromedp.Click(chromedp.CSS(`tr[data-month="2026-10"] button.start`)), chromedp.WaitVisible(chromedp.ID("#phase")))
	loc := get(t, b, chromedp.Location())
	if !strings.HasSuffix(loc, "/runs/bill-run-2026-10") {
		t.Fatalf("after the start: at %s", loc)
	}
	runURL := m.url + "/runs/bill-run-2026-10"
	until(t, b, runURL, "#phase", "waiting")
	if n := count(t, b, "#findings tr.error"); n != 1 {
		t.Fatalf("want the demo's one readiness error, found %d", n)
	}
	cats := get(t, b, chromedp.Text(chromedp.ID("categories")))
	if !strings.Contains(cats, "unknown account") {
		t.Fatalf("categories: %q", cats)
	}
	if n := count(t, b, "#calls tr"); n < 2 {
		t.Fatalf("the category's calls: %d rows", n)
	}
	screenshot(t, b, "run-waiting")

	// Master data: a bad file is refused whole, naming file, line and field;
	// the right one is applied.
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "accounts.csv"), filepath.Join(dir, "accounts-fix.csv")
	header := "client,kind,value,tech_prefix,rate_table,enabled\n"
	if err := os.WriteFile(bad, []byte(header+"acme,ip,203.0.113.99,,,true\nacme,iq,203.0.113.98,,,true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(header+"acme,ip,203.0.113.99,,,true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	upload := func(file string) {
		t.Helper()
		run(t, b, chromedp.Navigate(m.url+"/data"), chromedp.SetValue(chromedp.ID("import-kind"), "accounts"),
			chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}), chromedp.Click(chromedp.ID("import-submit")),
			chromedp.WaitVisible(chromedp.CSS("#import-error, #import-result")))
	}
	upload(bad)
	if got := get(t, b, chromedp.Text(chromedp.CSS("#import-error"))); !strings.Contains(got, "accounts.csv:3: field kind") ||
		!strings.Contains(got, "nothing was imported") {
		t.Fatalf("a bad file: %q", got)
	}
	if n := accounts(t, m.store, "203.0.113.99"); n != 0 {
		t.Fatalf("a refused file applied %d accounts", n)
	}
	upload(good)
	if got := get(t, b, chromedp.Text(chromedp.CSS("#import-result"))); !strings.Contains(got, "accounts-fix.csv: 1 inserted") {
		t.Fatalf("the fix: %q", got)
	}
	if n := accounts(t, m.store, "203.0.113.99"); n != 1 {
		t.Fatalf("the fix applied %d accounts", n)
	}
	screenshot(t, b, "data")

	// A form without its token is refused, even from finance.
	if status := post(t, b, "/runs/bill-run-2026-10/resolve", map[string]string{"action": "accept"}); status != 403 {
		t.Fatalf("resolve without a CSRF token: status %d, want 403", status)
	}
	if got := text(t, b, runURL, "#phase"); got != "waiting" {
		t.Fatalf("after a refused form the run is %s", got)
	}

	// Accept: the run invoices and issues.
	run(t, b, chromedp.Click(chromedp.ID("#resolve-accept")), chromedp.WaitVisible(chromedp.ID("#phase")))
	until(t, b, runURL, "#phase", "done")
	if got := text(t, b, runURL, "#invoiced"); got != "2" {
		t.Fatalf("invoiced: %s", got)
	}
	screenshot(t, b, "run-done")
	// A run that no longer waits refuses a resolution through its validator.
	token := get(t, b, chromedp.Evaluate[string](`document.querySelector('header form.who input[name=csrf]').value`))
	if status := post(t, b, "/runs/bill-run-2026-10/resolve", map[string]string{"csrf": token, "action": "accept"}); status != 409 {
		t.Fatalf("resolving a run that is done: status %d, want 409", status)
	}

	// The month's invoices, one opened, its PDF downloaded.
	run(t, b, chromedp.Navigate(m.url+"/invoices?month=2026-10"), chromedp.WaitVisible(chromedp.ID("#invoices")))
	if n := count(t, b, "#invoices span.state.issued"); n != 2 {
		t.Fatalf("issued invoices listed: %d", n)
	}
	screenshot(t, b, "invoices")
	run(t, b, chromedp.Click(chromedp.CSS("#invoices tbody tr:first-child a")), chromedp.WaitVisible(chromedp.ID("#lines")))
	loc = get(t, b, chromedp.Location())
	invoiceURL := loc
	if got := text(t, b, invoiceURL, "#state"); got != "issued" {
		t.Fatalf("invoice state %q", got)
	}
	screenshot(t, b, "invoice")
	head := get(t, b, chromedp.Evaluate[string](`(async () => { const r = await fetch(document.querySelector('#download-pdf').href);
		const b = new Uint8Array(await r.arrayBuffer()); return r.headers.get('content-type') + ' ' + String.fromCharCode(...b.slice(0, 5)); })()`,
		chromedp.EvalAwaitPromise))
	if head != "application/pdf %PDF-" {
		t.Fatalf("the PDF download: %q", head)
	}

	// Void it, with the confirmation; the audit has who.
	run(t, b, chromedp.Navigate(invoiceURL), chromedp.Click(chromedp.ID("#void")), chromedp.WaitVisible(chromedp.ID("#confirm")),
		chromedp.Click(chromedp.ID("#confirm")), chromedp.WaitVisible(chromedp.ID("#lines")))
	if got := text(t, b, invoiceURL, "#state"); got != "void" {
		t.Fatalf("after void: %q", got)
	}
	evs, err := m.store.AuditEvents(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !audited(evs, "fiona", "run.start", "bill-run-2026-10") || !audited(evs, "fiona", "run.resolve", "bill-run-2026-10") ||
		!audited(evs, "fiona", "invoice.void", "") || !audited(evs, "fiona", "import.accounts", "accounts-fix.csv") {
		t.Fatalf("audit: %+v", evs)
	}
	recs, err := m.store.BillRuns(ctx, "2026-10", "")
	if err != nil || len(recs) == 0 || recs[0].StartedBy != "fiona (console)" || len(recs[0].Resolutions) != 1 ||
		recs[0].Resolutions[0].Actor != "fiona (console)" {
		t.Fatalf("the run's own record: %+v %v", recs, err)
	}
	run(t, b, chromedp.Navigate(m.url+"/months"), chromedp.WaitVisible(chromedp.ID("months")))
	screenshot(t, b, "months")
	// What the clients owe: the issued invoice, not the void one.
	run(t, b, chromedp.Navigate(m.url+"/balances?owing=on"), chromedp.WaitVisible(chromedp.ID("balances")))
	if n := count(t, b, "#balances tr td a"); n != 1 {
		t.Fatalf("want one client owing after one of two invoices was voided, found %d", n)
	}
	screenshot(t, b, "balances")
	signOut(t, b)

	// A viewer reads, without buttons, and is refused the POSTs behind them.
	signIn(t, b, m.url, "victor", viewerPassword)
	run(t, b, chromedp.Navigate(m.url+"/months"), chromedp.WaitVisible(chromedp.ID("#months")))
	if n := count(t, b, "button.start"); n != 0 {
		t.Fatalf("a viewer sees %d start buttons", n)
	}
	run(t, b, chromedp.Navigate(m.url+"/invoices?month=2026-10"), chromedp.WaitVisible(chromedp.ID("#invoices")),
		chromedp.Click(chromedp.CSS("#invoices tbody tr:last-child a")), chromedp.WaitVisible(chromedp.ID("#lines")))
	if n := count(t, b, "#void, #issue"); n != 0 {
		t.Fatalf("a viewer sees %d invoice buttons", n)
	}
	token = get(t, b, chromedp.Evaluate[string](`document.querySelector('header form.who input[name=csrf]').value`))
	for _, p := range []string{"/months/2026-10/run", "/runs/bill-run-2026-10/resolve", "/data/import"} {
		if status := post(t, b, p, map[string]string{"csrf": token, "state": "draft", "action": "accept"}); status != 403 {
			t.Fatalf("a viewer's POST %s: status %d, want 403", p, status)
		}
	}
	loc = get(t, b, chromedp.Location())
	if status := post(t, b, strings.TrimPrefix(loc, m.url)+"/void", map[string]string{"csrf": token}); status != 403 {
		t.Fatalf("a viewer's void: status %d", status)
	}
	if got := text(t, b, loc, "#state"); got != "issued" {
		t.Fatalf("after a viewer's void the invoice is %q", got)
	}
	// Nor does the confirmation page show a viewer its button.
	run(t, b, chromedp.Navigate(loc+"/void"))
	if n := count(t, b, "#confirm"); n != 0 {
		t.Fatalf("a viewer is shown the void confirmation")
	}
}

func audited(evs []postgres.AuditEvent, actor, action, subject string) bool {
	for _, e := range evs {
		if e.Actor == actor && e.Action == action && (subject == "" || e.Subject == subject) {
			return true
		}
	}
	return false
}

// accounts counts the accounts with value.
func accounts(t *testing.T, store *postgres.Store, value string) int {
	t.Helper()
	var n int
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT count(*) FROM accounts WHERE value = $1`, value).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
