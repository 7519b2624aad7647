package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/console"
	"github.com/billrun/billrun/internal/ingest"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/postgres/pgtest"
	"github.com/billrun/billrun/internal/rating"
	"github.com/billrun/billrun/internal/rating/ratingtest"
	"github.com/billrun/billrun/internal/readiness"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/internal/s3store/s3test"
	"github.com/billrun/billrun/internal/temporalclient/temporaltest"
	"github.com/billrun/billrun/workflows"
)

// BenchmarkPages times each console page, from request to the last byte,
// signed in as finance, over a month of 10,000 clients with an issued
// invoice each (so that balances have something to age) and 1,000,000
// calls, 1 % of them from no known account (BILLRUN_CLIENTS and
// BILLRUN_CALLS change the size). Its metric ms/page is what a user waits
// for on loopback; the target is under 200 (make bench).
func BenchmarkPages(b *testing.B) {
	clients, calls := envInt("BILLRUN_CLIENTS", 10_000), envInt("BILLRUN_CALLS", 1_000_000)
	store := pgtest.New(b)
	rng := rand.New(rand.NewPCG(17, 17))
	cat, codes := ratingtest.Catalog(rng)
	for i := len(cat.Clients); i < clients; i++ {
		cat.Clients = append(cat.Clients, rating.Client{ID: fmt.Sprint("client", i), RateTable: "child"})
		cat.Accounts = append(cat.Accounts, rating.Account{ID: int64(len(cat.Accounts) + 1), Client: fmt.Sprint("client", i), Kind: rating.KindIP,
			Value: fmt.Sprintf("11.%d.%d.%d", i>>16, (i>>8)&255, i&255), Enabled: true})
	}
	pgtest.LoadCatalog(b, store, cat)
	var file bytes.Buffer
	file.WriteString(strings.Join(cdr.CanonicalHeader, ",") + "\n")
	for i, c := range ratingtest.CDRs(rng, cat, codes, calls) {
		if i%100 == 0 {
			c.OrigIP = fmt.Sprintf("203.0.113.%d", i%250)
		}
		fmt.Fprintf(&file, "p%d,%s,%d,%s,,%s,%s,ANSWERED\n", i, c.ConnectTime.Format(time.DateTime), c.Duration/time.Second, c.OrigIP, c.SrcNumber, c.DstNumber)
	}
	engine, err := billing.NewEngines(store).Engine(ctx)
	if err != nil {
		b.Fatal(err)
	}
	src, err := ingest.NewSource("month.csv", bytes.NewReader(file.Bytes()), cdr.Canonical, time.UTC, engine)
	if err != nil {
		b.Fatal(err)
	}
	f := cdr.File{Key: "inbox/canonical/month.csv", Checksum: "1", Format: cdr.Canonical}
	id, _, err := store.StartFile(ctx, f)
	if err == nil {
		_, err = store.LoadFile(ctx, id, f, src)
	}
	if err != nil {
		b.Fatal(err)
	}
	svc := billing.New(store, s3test.New(b))
	ids := make([]string, clients)
	for i := range ids {
		ids[i] = cat.Clients[i].ID
	}
	for from := 0; from < len(ids); from += 1000 {
		if _, err := svc.CreateInvoices(ctx, ids[from:min(from+1000, len(ids))], billing.InvoiceOptions{Period: "2026-10", AllowEmpty: true, Issue: true}, nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pgtest.Pool(store).Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	c, queue := temporaltest.New(b)
	runID := workflows.BillRunWorkflowID("2026-10") + "-" + queue // none in Temporal: read from its record
	recordRun(b, store, runID)

	srv, err := console.New(console.Deps{Billing: svc, Store: store, Temporal: c, TaskQueue: queue, Namespace: "default", Users: users(b),
		ImportKinds: []string{"rates"}})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	s := newSession(b, hs.URL)
	if resp := s.post("/login", url.Values{"csrf": {s.token()}, "user": {"fiona"}, "password": {financePassword}}); resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", resp.StatusCode)
	}
	var inv string
	if err := pgtest.Pool(store).QueryRow(ctx, `SELECT id::text FROM invoices ORDER BY client DESC LIMIT 1`).Scan(&inv); err != nil {
		b.Fatal(err)
	}
	pages := []struct{ name, path, want string }{
		{"months", "/months", runID},
		{"run", "/runs/" + runID, "unknown account"},
		{"run_calls_deep", fmt.Sprintf("/runs/%s?category=unknown_account&offset=%d", runID, calls/100-pageSize), "203.0.113."},
		{"invoices", "/invoices?month=2026-10", "client"},
		{"invoices_last_page", fmt.Sprintf("/invoices?month=2026-10&offset=%d", clients-pageSize), "client"},
		{"invoices_of_a_client", "/invoices?client=client9", "client9"},
		{"invoice", "/invoices/" + inv, "Subtotal"},
		{"data", "/data", "child"},
		{"data_after_an_import", "/data", "child"}, // the rate counts read again
		{"balances", "/balances", "client"},
		{"audit", "/audit", "Audit"},
	}
	b.ResetTimer()
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				if p.name == "data_after_an_import" {
					if _, err := pgtest.Pool(store).Exec(ctx, `UPDATE catalog_version SET version = version + 1`); err != nil {
						b.Fatal(err)
					}
				}
				start := time.Now()
				resp, err := s.c.Get(hs.URL + p.path)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				total += time.Since(start)
				if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(p.want)) {
					b.Fatalf("%s: %d, %q not in %.500s", p.path, resp.StatusCode, p.want, body)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}

const pageSize = 50

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// recordRun writes the audit record of a bill run of October that waits on
// mismatched calls, as the workflow would.
func recordRun(b *testing.B, store *postgres.Store, id string) {
	from, to := ratingtest.Start, ratingtest.Start.AddDate(0, 1, 0)
	st := workflows.BillRunStatus{Period: "2026-10", Phase: workflows.PhaseWaiting, From: from, To: to,
		Digest: readiness.Digest{Warnings: 1, Mismatched: true, Findings: []readiness.Finding{{Severity: readiness.Warning, Check: "mismatches",
			Message: "calls in 2026-10 match no account (unknown_account: 10000)"}}}}
	rows, err := store.Mismatches(ctx, from, to)
	if err != nil {
		b.Fatal(err)
	}
	st.Categories = map[string]int64{}
	for _, m := range rows {
		st.Categories[m.Category] += m.Calls
		st.Accounted = append(st.Accounted, report.ReconcileRow{Reason: "mismatched:" + m.Category, Calls: m.Calls})
	}
	status, _ := json.Marshal(st)
	opts, _ := json.Marshal(workflows.BillRunInput{Period: "2026-10"})
	if err := store.RecordBillRun(ctx, report.BillRun{RunID: "bench", WorkflowID: id, Period: "2026-10", StartedBy: "fiona (console)",
		StartedAt: time.Now(), Phase: string(workflows.PhaseWaiting), Options: opts, Status: status}); err != nil {
		b.Fatal(err)
	}
}
