package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/ledger"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/internal/postgres"
	"github.com/billrun/billrun/internal/report"
	"github.com/billrun/billrun/workflows"
)

// pageSize is the rows of every paged list.
const pageSize = 50

// view is what every page template gets: the user, the form token, and
// the page's own data.
type view struct {
	User    string
	Role    Role
	Finance bool
	CSRF    string
	Title   string
	Refresh int // seconds, while something runs
	Nav     string
	Data    any
}

var funcs = template.FuncMap{
	"money": func(d interface{ StringFixed(int32) string }) string { return d.StringFixed(2) },
	"exact": func(d interface{ StringFixed(int32) string }) string { return d.StringFixed(6) },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"human": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	// lastDay is the last day of a period that ends (exclusively) at t.
	"lastDay": func(t time.Time) string { return t.Add(-time.Nanosecond).Format(time.DateOnly) },
	"add":     func(a, b int) int { return a + b },
	"query": func(base string, kv ...any) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if s := fmt.Sprint(kv[i+1]); s != "" && s != "0" {
				v.Set(fmt.Sprint(kv[i]), s)
			}
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	},
}

var pageNames = []string{"login", "months", "run", "invoices", "invoice", "confirm", "data", "balances", "audit", "error"}

func (s *Server) parsePages() error {
	s.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return err
		}
		s.pages[name] = t
	}
	return nil
}

// render writes page with data, as the signed-in user sees it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	s.renderView(w, r, status, page, view{Data: data})
}

func (s *Server) renderView(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	v.User, v.Role = s.who(r)
	v.Finance = v.Role == Finance
	v.CSRF = s.csrfToken(r.Context())
	if v.Nav == "" {
		v.Nav = page
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.pages[page].Execute(w, v); err != nil {
		s.Log.Error("console page", "page", page, "error", err)
	}
}

// fail shows err on an error page; what billrun refuses is the user's to
// read, so it is shown as it is.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var notFound *serviceerror.NotFound
	if errors.Is(err, invoice.ErrNotFound) || errors.As(err, &notFound) {
		status = http.StatusNotFound
	}
	s.Log.Warn("console request failed", "path", r.URL.Path, "error", err)
	s.renderView(w, r, status, "error", view{Title: "Error", Data: err.Error()})
}

func (s *Server) audit(ctx context.Context, r *http.Request, action, subject string, detail map[string]any) {
	user, _ := s.who(r)
	if err := s.Store.Audit(ctx, postgres.AuditEvent{Actor: user, Action: action, Subject: subject, Detail: detail}); err != nil {
		s.Log.Error("console audit record not written", "action", action, "subject", subject, "error", err)
	}
}

func (s *Server) actor(r *http.Request) string {
	user, _ := s.who(r)
	return user + " (console)"
}

func (s *Server) workflows(r *http.Request) workflows.Client {
	return workflows.Client{Client: s.Temporal, TaskQueue: s.TaskQueue, Actor: s.actor(r)}
}

// uiLink is the Temporal Web UI's page of workflow id, "" when unknown.
func (s *Server) uiLink(id string) string {
	if s.TemporalUI == "" {
		return ""
	}
	return strings.TrimSuffix(s.TemporalUI, "/") + "/namespaces/" + url.PathEscape(s.Namespace) + "/workflows/" + url.PathEscape(id)
}

func intParam(r *http.Request, name string) int {
	n, _ := strconv.Atoi(r.URL.Query().Get(name))
	return max(n, 0)
}

// --- Months ---

type runView struct {
	ID, Phase, StartedBy string
	StartedAt            time.Time
	St                   workflows.BillRunStatus
	Resolutions          []report.Resolution
}

// Calls is the calls of the month the run accounted for (every call of
// the period, after its last wave), or else those it ingested.
func (v runView) Calls() int64 {
	var n int64
	for _, r := range v.St.Accounted {
		n += r.Calls
	}
	if n == 0 {
		n = v.St.Ingest.CDRs
	}
	return n
}

type monthRow struct {
	Month period.Month
	Ended bool // the calendar month has ended in UTC: a run may start
	Run   *runView
}

// ended reports whether month's calendar month has ended in UTC; the bill
// run itself invoices each client once its own period has ended.
func (s *Server) ended(m period.Month) bool { return !s.Now().Before(m.Next().Start(time.UTC)) }

// latestRuns reads each month's newest bill run record, with live status
// for the runs still running.
func (s *Server) latestRuns(ctx context.Context, month string) (map[period.Month]*runView, error) {
	recs, err := s.bill(ctx).BillRuns(ctx, month, "")
	if err != nil {
		return nil, err
	}
	out := map[period.Month]*runView{}
	for _, r := range recs { // newest first
		m := period.Month(r.Period)
		if out[m] != nil {
			continue
		}
		v := recorded(r)
		if !r.Finished {
			_ = s.liven(ctx, v) // the record stands when Temporal does not answer
		}
		out[m] = v
	}
	return out, nil
}

// recorded is a run as its audit record (bill_runs) last had it.
func recorded(r report.BillRun) *runView {
	v := &runView{ID: r.WorkflowID, Phase: r.Phase, StartedBy: r.StartedBy, StartedAt: r.StartedAt, Resolutions: r.Resolutions}
	_ = json.Unmarshal(r.Status, &v.St)
	return v
}

// liven reads a run's status from Temporal: a running run's by query (its
// record may be a phase behind), a completed one's result; a run that
// failed or was stopped keeps its record's status and shows how it ended.
func (s *Server) liven(ctx context.Context, v *runView) error {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, err := s.Temporal.DescribeWorkflowExecution(qctx, v.ID, "")
	if err != nil {
		return err
	}
	switch status := d.GetWorkflowExecutionInfo().GetStatus(); status {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		st, err := workflows.BillRunStatusOf(qctx, s.Temporal, v.ID)
		if err != nil {
			return err
		}
		v.St, v.Phase = st, string(st.Phase)
	default: // failed, terminated, cancelled, timed out: no query would answer
		v.Phase = strings.ToLower(strings.TrimPrefix(status.String(), "WorkflowExecutionStatus"))
	}
	return nil
}

func (s *Server) monthsPage(w http.ResponseWriter, r *http.Request) {
	runs, err := s.latestRuns(r.Context(), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	months := map[period.Month]bool{}
	for m := period.Of(s.Now().UTC()); len(months) < 6; m = m.Prev() {
		months[m] = true
	}
	for m := range runs {
		months[m] = true
	}
	var rows []monthRow
	refresh := 0
	for _, m := range slices.Sorted(maps.Keys(months)) {
		row := monthRow{Month: m, Ended: s.ended(m), Run: runs[m]}
		if row.Run != nil && running(row.Run.Phase) {
			refresh = 3
		}
		rows = append(rows, row)
	}
	slices.Reverse(rows)
	s.renderView(w, r, http.StatusOK, "months", view{Title: "Months", Refresh: refresh, Data: rows})
}

// running reports whether a run in phase is working on its own: its page
// follows it.
func running(phase string) bool {
	switch workflows.Phase(phase) {
	case workflows.PhaseIngesting, workflows.PhaseChecking, workflows.PhaseRerating, workflows.PhaseInvoicing:
		return true
	}
	return false
}

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	month, err := period.Parse(r.PathValue("period"))
	if err != nil {
		s.fail(w, r, fmt.Errorf("period %q is not YYYY-MM", r.PathValue("period")))
		return
	}
	if !s.ended(month) {
		s.fail(w, r, fmt.Errorf("%s has not ended: its bill run can start from %s", month, month.Next().Start(time.UTC).Format(time.RFC3339)))
		return
	}
	state := r.FormValue("state")
	if state != "draft" && state != "issued" {
		s.fail(w, r, fmt.Errorf("state %q: want draft or issued", state))
		return
	}
	run, err := workflows.StartBillRun(r.Context(), s.workflows(r), workflows.BillRunInput{Period: month, Issue: state == "issued"})
	if err != nil {
		s.fail(w, r, fmt.Errorf("start the bill run of %s: %w", month, err))
		return
	}
	s.audit(r.Context(), r, "run.start", run.GetID(), map[string]any{"period": month, "state": state, "run_id": run.GetRunID()})
	http.Redirect(w, r, "/runs/"+url.PathEscape(run.GetID()), http.StatusSeeOther)
}

// --- A run ---

type mismatchCategory struct {
	Category string
	Calls    int64
	Fix      string
}

// fixes says what finance does about each kind of mismatch.
var fixes = map[string]string{
	"unknown_account":     "Import the account (accounts file) for the IP, user name or caller number, or accept: these calls are not billed.",
	"no_rate_table":       "Give the client or the account a rate table (clients or accounts file), then rerate.",
	"unknown_destination": "Import a rate for the destination into the client's table or a parent (rates file), then rerate.",
	"deleted_rate":        "A rate these calls were rated by was deleted: import the right rate, then rerate.",
}

type runPageData struct {
	Run        runView
	UILink     string
	Refusal    string
	Categories []mismatchCategory
	Category   string
	Calls      []report.MismatchDetail
	Offset     int
	More       bool
}

// Waiting is whether the run waits for finance to resolve it.
func (d runPageData) Waiting() bool { return d.Run.Phase == string(workflows.PhaseWaiting) }

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	s.showRun(w, r, http.StatusOK, "")
}

func (s *Server) showRun(w http.ResponseWriter, r *http.Request, status int, refusal string) {
	ctx := r.Context()
	id := r.PathValue("id")
	d := runPageData{Run: runView{ID: id}, UILink: s.uiLink(id), Refusal: refusal, Category: r.URL.Query().Get("category"), Offset: intParam(r, "offset")}
	recs, err := s.bill(ctx).BillRuns(ctx, "", id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(recs) > 0 {
		d.Run = *recorded(recs[0])
	}
	var notFound *serviceerror.NotFound
	if err := s.liven(ctx, &d.Run); err != nil && !(errors.As(err, &notFound) && len(recs) > 0) { // past retention: the record has it
		s.fail(w, r, err)
		return
	}
	if by := d.Run.St.NotesBy; by != "" { // the run's notes are named in PostgreSQL, not carried in its status
		if d.Run.St.Notes, _, err = s.bill(ctx).NotesMadeBy(ctx, by, 0, pageSize); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if from, to := d.Run.St.From, d.Run.St.To; !from.IsZero() && (d.Run.St.Mismatched || d.Category != "") {
		// The run's last check counted them; runs from before it kept
		// counts are counted again.
		counts := d.Run.St.Categories
		if counts == nil {
			rows, err := s.bill(ctx).Mismatches(ctx, from, to)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			counts = map[string]int64{}
			for _, m := range rows {
				counts[m.Category] += m.Calls
			}
		}
		for _, cat := range slices.Sorted(maps.Keys(counts)) {
			d.Categories = append(d.Categories, mismatchCategory{Category: cat, Calls: counts[cat], Fix: fixes[cat]})
		}
		if d.Category == "" && len(d.Categories) > 0 {
			d.Category = d.Categories[0].Category
		}
		var err error
		if d.Calls, d.More, err = s.db(ctx).MismatchPage(ctx, from, to, d.Category, d.Offset, pageSize); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	refresh := 0
	if running(d.Run.Phase) {
		refresh = 2
	}
	s.renderView(w, r, status, "run", view{Title: "Bill run " + id, Refresh: refresh, Nav: "months", Data: d})
}

func (s *Server) resolveRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	action := workflows.Resolution(r.FormValue("action"))
	// The run's own validator refuses a run that does not wait or an
	// unknown action; its reason is shown as it is.
	_, err := s.Temporal.UpdateWorkflow(r.Context(), client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.BillRunResolveUpdate,
		Args: []any{workflows.BillRunResolve{Action: action, Actor: s.actor(r)}}, WaitForStage: client.WorkflowUpdateStageAccepted})
	if err != nil {
		s.showRun(w, r, http.StatusConflict, fmt.Sprintf("The run did not take %q: %s", action, workflows.Reason(err)))
		return
	}
	s.audit(r.Context(), r, "run.resolve", id, map[string]any{"action": action})
	http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther)
}

// --- Invoices ---

type invoicesPageData struct {
	Filter   postgres.InvoiceFilter
	Invoices []invoice.Stored
	Offset   int
	More     bool
}

func (s *Server) invoicesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := invoicesPageData{Filter: postgres.InvoiceFilter{Month: period.Month(q.Get("month")), Client: q.Get("client"), State: q.Get("state"),
		Kind: q.Get("kind"), Reseller: q.Get("reseller")}, Offset: intParam(r, "offset")}
	var err error
	if d.Invoices, d.More, err = s.db(r.Context()).InvoicePage(r.Context(), d.Filter, d.Offset, pageSize); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderView(w, r, http.StatusOK, "invoices", view{Title: "Invoices and notes", Data: d})
}

type invoicePageData struct {
	Inv      invoice.Stored
	Doc      invoice.Document
	Notes    []invoice.Stored
	CanIssue bool
	CanVoid  bool
	Audit    []postgres.AuditEvent
}

func (s *Server) invoiceData(ctx context.Context, id string) (invoicePageData, error) {
	inv, err := s.bill(ctx).Invoice(ctx, id)
	if err != nil {
		return invoicePageData{}, err
	}
	d := invoicePageData{Inv: inv, Doc: inv.Document(), CanIssue: inv.State == "draft" && !inv.Preview, CanVoid: inv.State != "void"}
	if d.Notes, _, err = s.db(ctx).InvoicePage(ctx, postgres.InvoiceFilter{Corrects: inv.ID}, 0, pageSize); err != nil {
		return d, err
	}
	d.Audit, err = s.db(ctx).AuditEvents(ctx, inv.ID, 20)
	return d, err
}

func (s *Server) invoicePage(w http.ResponseWriter, r *http.Request) {
	d, err := s.invoiceData(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderView(w, r, http.StatusOK, "invoice", view{Title: title(d.Inv), Nav: "invoices", Data: d})
}

func title(inv invoice.Stored) string {
	kind := strings.ReplaceAll(inv.Document().Kind, "_", " ")
	if inv.Number != "" {
		return strings.ToUpper(kind[:1]) + kind[1:] + " " + inv.Number
	}
	return "Draft " + kind + " " + inv.ID
}

// confirmPage asks before an invoice is issued or voided.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	verb := r.PathValue("verb")
	if verb != "issue" && verb != "void" {
		http.NotFound(w, r)
		return
	}
	if _, role := s.who(r); role != Finance {
		http.Error(w, "your role may read, not change: ask for the finance role", http.StatusForbidden)
		return
	}
	d, err := s.invoiceData(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	what := title(d.Inv)
	what = strings.ToLower(what[:1]) + what[1:]
	s.renderView(w, r, http.StatusOK, "confirm", view{Title: strings.ToUpper(verb[:1]) + verb[1:] + " " + what, Nav: "invoices",
		Data: map[string]any{"Verb": verb, "Inv": d.Inv}})
}

func (s *Server) changeInvoice(w http.ResponseWriter, r *http.Request) {
	verb := r.PathValue("verb")
	if verb != "issue" && verb != "void" {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	inv, err := s.bill(ctx).Invoice(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := workflows.StartInvoiceState(ctx, s.workflows(r), workflows.InvoiceStateInput{Invoice: inv.ID, Void: verb == "void"})
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = run.Get(wctx, nil)
		cancel()
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("%s %s: %s", verb, title(inv), workflows.Reason(err)))
		return
	}
	s.audit(ctx, r, "invoice."+verb, inv.ID, map[string]any{"client": inv.Client, "period": inv.Period})
	http.Redirect(w, r, "/invoices/"+url.PathEscape(inv.ID), http.StatusSeeOther)
}

var contentTypes = map[string]string{"pdf": "application/pdf", "json": "application/json", "csv": "text/csv; charset=utf-8"}

// document streams an invoice's PDF, JSON or CSV from S3 through the
// console: the bucket stays private.
func (s *Server) document(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	ctype, ok := contentTypes[kind]
	if !ok {
		http.NotFound(w, r)
		return
	}
	inv, err := s.bill(r.Context()).Invoice(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	uri := inv.Documents[kind]
	if uri == "" {
		s.fail(w, r, fmt.Errorf("%s: its %s is not rendered yet", title(inv), kind))
		return
	}
	body, err := s.bill(r.Context()).OpenDocument(r.Context(), uri)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", inv.FileName()+"."+kind))
	if _, err := io.Copy(w, body); err != nil {
		s.Log.Warn("console download cut short", "invoice", inv.ID, "kind", kind, "error", err)
	}
}

// --- Master data ---

type dataPageData struct {
	Kinds   []string
	Tables  []catalog.TableSummary
	Filter  postgres.RateTableFilter
	Result  *postgres.ImportResult
	File    string
	Error   string
	Refused bool
}

func (s *Server) dataPage(w http.ResponseWriter, r *http.Request) {
	s.showData(w, r, http.StatusOK, dataPageData{})
}

func (s *Server) showData(w http.ResponseWriter, r *http.Request, status int, d dataPageData) {
	q := r.URL.Query()
	d.Kinds = s.ImportKinds
	d.Filter = postgres.RateTableFilter{Name: q.Get("name"), Reseller: q.Get("reseller"), Parent: q.Get("parent")}
	var err error
	if d.Tables, err = s.rateTables(r.Context(), d.Filter); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderView(w, r, status, "data", view{Title: "Master data", Data: d})
}

func (s *Server) importFile(w http.ResponseWriter, r *http.Request) {
	kind := r.FormValue("kind")
	f, hdr, err := r.FormFile("file")
	if err != nil {
		s.showData(w, r, http.StatusBadRequest, dataPageData{Error: "choose a file to import", Refused: true})
		return
	}
	defer f.Close()
	name := path.Base(hdr.Filename)
	o := ImportOptions{Deck: r.FormValue("deck"), Table: r.FormValue("table"), AZ: r.FormValue("az") == "on"}
	res, err := s.Import(r.Context(), kind, name, f, o)
	if err != nil {
		s.showData(w, r, http.StatusBadRequest, dataPageData{File: name, Error: err.Error() + " (nothing was imported)", Refused: true})
		return
	}
	s.audit(r.Context(), r, "import."+kind, name, map[string]any{"inserted": res.Inserted, "updated": res.Updated, "ended": res.Ended,
		"deck": o.Deck, "table": o.Table, "az": o.AZ})
	s.showData(w, r, http.StatusOK, dataPageData{File: name, Result: &res})
}

// --- Balances ---

type balancesPageData struct {
	At       time.Time
	Client   string
	Reseller string
	Owing    bool   // only clients that owe something
	OwingArg string // "on" when Owing: the pager keeps it
	Totals   []currencyTotal
	Rows     []billing.Balance
	Offset   int
	More     bool
}

// currencyTotal sums the balances of one currency: what the carrier is
// owed, aged.
type currencyTotal struct {
	Currency string
	ledger.Ageing
	Clients int
}

// balancesPage shows what each client owes at the start of a day (default
// tomorrow: today's documents count, as billctl client balance).
func (s *Server) balancesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := balancesPageData{Client: q.Get("client"), Reseller: q.Get("reseller"), Owing: q.Get("owing") == "on", OwingArg: q.Get("owing"),
		Offset: intParam(r, "offset")}
	if at := q.Get("at"); at != "" { // else each client's tomorrow in its zone
		t, err := report.ParseDate(at, nil)
		if err != nil {
			s.fail(w, r, fmt.Errorf("at %q: want YYYY-MM-DD", at))
			return
		}
		d.At = t
	}
	all, err := s.bill(r.Context()).Balances(r.Context(), d.Client, d.At)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	at := map[string]int{}
	var rows []billing.Balance
	for _, b := range all {
		if d.Reseller != "" && b.Reseller != d.Reseller || d.Owing && !b.Balance.IsPositive() {
			continue
		}
		rows = append(rows, b)
		i, ok := at[b.Currency]
		if !ok {
			i = len(d.Totals)
			at[b.Currency] = i
			d.Totals = append(d.Totals, currencyTotal{Currency: b.Currency})
		}
		d.Totals[i].Clients++
		d.Totals[i].Ageing = d.Totals[i].Ageing.Add(b.Ageing)
	}
	slices.SortFunc(d.Totals, func(a, b currencyTotal) int { return strings.Compare(a.Currency, b.Currency) })
	d.Rows = rows[min(d.Offset, len(rows)):min(d.Offset+pageSize, len(rows))]
	d.More = d.Offset+pageSize < len(rows)
	s.renderView(w, r, http.StatusOK, "balances", view{Title: "Balances", Data: d})
}

// --- Audit ---

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	evs, err := s.db(r.Context()).AuditEvents(r.Context(), "", 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderView(w, r, http.StatusOK, "audit", view{Title: "Audit", Data: evs})
}

// tableCache keeps rate-table lists for a minute of the same catalogue
// version: counting the rates in force reads every rate, and an import
// advances the version.
type tableCache struct {
	mu      sync.Mutex
	version int64
	minute  time.Time
	lists   map[postgres.RateTableFilter][]catalog.TableSummary
}

func (s *Server) rateTables(ctx context.Context, f postgres.RateTableFilter) ([]catalog.TableSummary, error) {
	version, err := s.db(ctx).CatalogVersion(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	c := &s.tables
	c.mu.Lock()
	if c.version != version || !c.minute.Equal(now.Truncate(time.Minute)) || len(c.lists) > 100 {
		c.version, c.minute, c.lists = version, now.Truncate(time.Minute), map[postgres.RateTableFilter][]catalog.TableSummary{}
	}
	list, ok := c.lists[f]
	c.mu.Unlock()
	if ok {
		return list, nil
	}
	if list, err = s.db(ctx).RateTables(ctx, f, now); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.version == version {
		c.lists[f] = list
	}
	c.mu.Unlock()
	return list, nil
}
