package billing

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/billrun/billrun/internal/blob"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/pdf"
	"github.com/billrun/billrun/internal/period"
)

// ErrInvoiceIssued is wrapped by the error for a period that has an issued
// invoice: it must be voided before it is invoiced again.
var ErrInvoiceIssued = errors.New("the period has an issued invoice")

// ErrPeriodOpen is wrapped by the error for a client's period that has not
// ended: only ended periods are invoiced (billing-rules §7).
var ErrPeriodOpen = errors.New("the period has not ended")

// ErrPeriodEnded is wrapped by the error for a preview of a period that has
// ended: its invoice is made instead.
var ErrPeriodEnded = errors.New("the period has ended")

// ErrCallsChanged is wrapped by the error for an invoice whose calls, read
// for its documents, no longer add up to its lines: a rerate changed them
// since it was computed. Computing it again (and rendering it) puts right.
var ErrCallsChanged = errors.New("its calls changed since it was computed")

// InvoiceOptions say how to invoice a month, for one client or many.
type InvoiceOptions struct {
	Period     period.Month
	Template   string // "" for the client's
	Issue      bool   // number it right away
	AllowEmpty bool   // create it even with total 0 and no calls
	Now        time.Time
	Rounding   invoice.Rounding // "" for the client's
	// EndedAfter, when set, leaves alone the clients whose period ended at
	// or before it: an earlier wave of the bill run invoiced them.
	EndedAfter time.Time
	// Preview makes previews of periods that have not ended, never issued.
	Preview bool
	// LateFiles is how long after a client's period ends it is first
	// invoiced, for CDR files that arrive late: until then it is Open, and
	// EndedAfter compares the period's end plus it. 0 invoices at the end.
	LateFiles time.Duration
}

// Created names a client's invoice, or why there is none.
type Created struct {
	Client  string
	ID      string
	Number  string
	Skipped string // why no invoice was created
	// Conflict says that the period has an issued invoice (ID, Number) and
	// no new one was made: it must be voided first.
	Conflict string
	// Open says that the client's period has not ended (at Ends): no
	// invoice was made; it is invoiced once the period has ended.
	Open string
	Ends time.Time
	// Earlier says that the period ended before o.EndedAfter: left alone.
	Earlier bool
	// Ended says that a preview was asked for a period that has ended.
	Ended string
}

// CreateInvoices computes each client's invoice of a month and stores it as
// the period's draft (replacing an earlier draft), then issues it when
// asked, reading the clients' calls in one pass over the month. Run again,
// it replaces the drafts with the same content: one invoice, one number. A
// client whose period is issued (Conflict) or has not ended at o.Now (Open;
// a zero Now is the clock's) is reported, not an error.
func (s *Service) CreateInvoices(ctx context.Context, clients []string, o InvoiceOptions, beat Heartbeat) ([]Created, error) {
	if o.Now.IsZero() {
		o.Now = s.now()
	}
	if o.Preview && o.Issue {
		return nil, fmt.Errorf("%w: a preview is made as a draft", invoice.ErrPreview)
	}
	// Issuing reads the calls anyway, for the snapshot each invoice keeps:
	// the lines are summed from that same read, one pass over the month
	// instead of two.
	onePass := o.Issue
	bases, err := s.Store.InvoiceBases(ctx, clients, o.Period, o.Now, !onePass)
	if err != nil {
		return nil, err
	}
	out := make([]Created, len(bases))
	var todo []int // the bases that get an invoice, if they have anything to invoice
	for i := range bases {
		b := &bases[i]
		r := &out[i]
		r.Client = b.Stored.Client
		end := b.Stored.PeriodEnd
		due := end.Add(o.LateFiles) // when it is invoiced: a bill run's wave
		if !o.EndedAfter.IsZero() && !due.After(o.EndedAfter) {
			r.Earlier = true
			continue
		}
		if o.Preview && !o.Now.Before(end) {
			r.Ended = fmt.Sprintf("client %s's period %s ended %s: make its invoice, not a preview", r.Client, o.Period,
				end.Format("2006-01-02 15:04 MST"))
			continue
		}
		// Issued before (a retry after the issue committed): the same invoice.
		if b.Issued.ID != "" {
			r.ID, r.Number = b.Issued.ID, b.Issued.Number
			continue
		}
		if o.Now.Before(end) && !o.Preview {
			r.Open, r.Ends = fmt.Sprintf("client %s's period %s ends %s: it is invoiced once it has ended", r.Client, o.Period,
				end.Format("2006-01-02 15:04 MST")), due
			continue
		}
		if o.Now.Before(due) && !o.Preview {
			r.Open, r.Ends = fmt.Sprintf("client %s's period %s ended %s: it is invoiced at %s, once late files have had %s to arrive", r.Client,
				o.Period, end.Format("2006-01-02 15:04 MST"), due.Format("2006-01-02 15:04 MST"), o.LateFiles), due
			continue
		}
		if o.Template != "" {
			b.Stored.Template = o.Template
		}
		if o.Rounding != "" { // the client's setting, unless overridden
			b.Input.Rounding = o.Rounding
		}
		todo = append(todo, i)
	}
	var calls *listing // onePass: each of todo's calls, in todo's order
	if onePass && len(todo) > 0 {
		invs := make([]invoice.Stored, len(todo))
		for k, i := range todo {
			invs[k] = bases[i].Stored
		}
		usage := make([]invoice.UsageSums, len(todo))
		if calls, err = s.listed(ctx, invs, beat, usage); err != nil {
			return nil, err
		}
		defer calls.cleanup()
		for k, i := range todo {
			bases[i].Input.Usage = usage[k].Usage()
		}
	}
	var drafts []invoice.Stored
	var at []int // drafts[k] is the invoice of bases[at[k]]
	for _, i := range todo {
		b, r := bases[i], &out[i]
		c, err := invoice.Compute(b.Input)
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", r.Client, err)
		}
		if c.Total.IsZero() && c.Calls == 0 && !o.AllowEmpty {
			r.Skipped = fmt.Sprintf("client %s has nothing to invoice for %s", r.Client, o.Period)
			continue
		}
		st := b.Stored
		st.Preview = o.Preview
		st.State, st.Lines, st.Subtotal, st.Taxes, st.Total = "draft", c.Lines, c.Subtotal, c.Taxes, c.Total
		st.IssueDate, st.DueDate = b.Input.IssueDate, c.DueDate
		st.Rounding = cmp.Or(b.Input.Rounding, invoice.RoundThenSum) // a note recomputes it so
		drafts, at = append(drafts, st), append(at, i)
	}
	saved, err := s.Store.SaveDrafts(ctx, drafts)
	if err != nil {
		return nil, err
	}
	var toIssue []invoice.Stored
	for k, sv := range saved {
		r := &out[at[k]]
		r.ID, r.Number = sv.ID, sv.Issued // a number: issued since the bases were read
		if r.Number == "" {
			drafts[k].ID = sv.ID
			toIssue = append(toIssue, drafts[k])
		}
	}
	var snaps map[string]invoice.Snapshot
	if o.Issue {
		listedAt := make(map[string]int, len(todo)) // client → its calls in the listing
		for k, i := range todo {
			listedAt[bases[i].Stored.Client] = k
		}
		if snaps, err = snapshots(calls, toIssue, func(inv invoice.Stored) int { return listedAt[inv.Client] }); err != nil {
			return nil, err
		}
	}
	var issue []int // out[issue[k]] is numbered by the issue
	for i := range out {
		r := &out[i]
		switch {
		case r.Number != "" && !o.Issue:
			r.Conflict = fmt.Sprintf("client %s has invoice %s issued for %s; void it first to invoice again", r.Client, r.Number, o.Period)
		case r.Number == "" && r.ID != "" && o.Issue:
			issue = append(issue, i)
		}
	}
	if len(issue) > 0 {
		// One transaction numbers the batch, in the order of its clients.
		ids := make([]string, len(issue))
		for k, i := range issue {
			ids[k] = out[i].ID
		}
		numbers, err := s.Store.Issue(ctx, ids, o.Now, s.templates(), snaps)
		if err != nil {
			return nil, err
		}
		for k, i := range issue {
			out[i].Number = numbers[k]
		}
	}
	return out, nil
}

// CreateInvoice is CreateInvoices for one client; a period with an issued
// invoice is an error wrapping ErrInvoiceIssued, one that has not ended an
// error wrapping ErrPeriodOpen.
func (s *Service) CreateInvoice(ctx context.Context, client string, o InvoiceOptions) (Created, error) {
	res, err := s.CreateInvoices(ctx, []string{client}, o, nil)
	if err != nil {
		return Created{}, err
	}
	if res[0].Conflict != "" {
		return Created{}, fmt.Errorf("%w: %s", ErrInvoiceIssued, res[0].Conflict)
	}
	if res[0].Open != "" {
		return Created{}, fmt.Errorf("%w: %s", ErrPeriodOpen, res[0].Open)
	}
	if res[0].Ended != "" {
		return Created{}, fmt.Errorf("%w: %s", ErrPeriodEnded, res[0].Ended)
	}
	return res[0], nil
}

// IssueInvoice numbers a draft (by ID or number) at the instant at and
// makes it immutable; issuing an issued invoice again returns its number.
func (s *Service) IssueInvoice(ctx context.Context, id string, at time.Time) (invoice.Stored, error) {
	inv, err := s.Store.Invoice(ctx, id)
	if err != nil {
		return inv, err
	}
	var snaps map[string]invoice.Snapshot
	if inv.State == "draft" && !inv.Preview {
		if snaps, err = s.freeze(ctx, []invoice.Stored{inv}, nil); err != nil {
			return inv, err
		}
	}
	if _, err := s.Store.Issue(ctx, []string{inv.ID}, at, s.templates(), snaps); err != nil {
		return inv, err
	}
	return s.Store.Invoice(ctx, inv.ID)
}

// VoidInvoice voids an invoice (by ID or number) at the instant at, and
// the notes that correct it (billing-rules §7): each keeps its number and
// its documents, and an issued one gets a void notice beside its
// documents (NUMBER.void.json), written once.
func (s *Service) VoidInvoice(ctx context.Context, id string, at time.Time) (invoice.Stored, error) {
	inv, err := s.Store.Invoice(ctx, id)
	if err != nil {
		return inv, err
	}
	notes, err := s.Store.Void(ctx, inv.ID)
	if err != nil {
		return inv, err
	}
	voided := []invoice.Stored{inv}
	if len(notes) > 0 {
		ns, err := s.Store.InvoicesByID(ctx, notes)
		if err != nil {
			return inv, err
		}
		voided = append(voided, ns...)
	}
	for _, v := range voided {
		if v.Number == "" {
			continue
		}
		notice, err := json.MarshalIndent(map[string]string{"id": v.ID, "number": v.Number, "kind": cmp.Or(v.Kind, invoice.KindInvoice),
			"state": "void", "voided_at": at.UTC().Format(time.RFC3339)}, "", "  ")
		if err != nil {
			return inv, err
		}
		if _, err := s.Objects.PutNew(ctx, documentBase(v)+".void.json", bytes.NewReader(notice), "application/json"); err != nil &&
			!errors.Is(err, blob.ErrExists) {
			return inv, err
		}
	}
	return s.Store.Invoice(ctx, inv.ID)
}

// Invoice reads an invoice with its lines, by ID or number.
func (s *Service) Invoice(ctx context.Context, id string) (invoice.Stored, error) {
	return s.Store.Invoice(ctx, id)
}

// Invoices lists invoices, of one month and client where they are not "".
func (s *Service) Invoices(ctx context.Context, month period.Month, client string) ([]invoice.Stored, error) {
	return s.Store.Invoices(ctx, month, client)
}

// ClientsToInvoice lists, in ID order after after, up to limit active
// clients that bill runs invoice (autoinvoice), of reseller when it is not "".
func (s *Service) ClientsToInvoice(ctx context.Context, after string, limit int, reseller string) ([]string, error) {
	return s.Store.ClientsToInvoice(ctx, after, "", limit, reseller)
}

// ClientsOf are the IDs of a reseller's clients, in order.
func (s *Service) ClientsOf(ctx context.Context, reseller string) ([]string, error) {
	return s.Store.ClientsOf(ctx, reseller)
}

// ClientRange is a batch of the clients bill runs invoice, named by its
// bounds so that what travels between steps does not grow with it: those
// after After up to and including Last, in ID order; Count when listed.
type ClientRange struct {
	After, Last string
	Count       int
}

// ClientRanges lists the next page of up to limit clients that bill runs
// invoice after after, of reseller when it is not "", and cuts it into
// ranges of size clients (the last one shorter). full says that the page
// had limit clients: there may be more.
func (s *Service) ClientRanges(ctx context.Context, after string, limit int, reseller string, size func(page int) int) (rs []ClientRange, full bool, err error) {
	clients, err := s.Store.ClientsToInvoice(ctx, after, "", limit, reseller)
	if err != nil || len(clients) == 0 {
		return nil, false, err
	}
	return cut(clients, after, size(len(clients))), len(clients) == limit, nil
}

// InvoiceRange invokes CreateInvoices for the clients of r (those of
// reseller when it is not ""), as they are listed now, then renders the
// documents of the invoices it made: a batch that names its clients by
// their bounds and returns its sums, whatever its size. Invoice IDs stay
// out of the sums.
func (s *Service) InvoiceRange(ctx context.Context, r ClientRange, reseller string, o InvoiceOptions, beat Heartbeat) (Batch, error) {
	clients, err := s.Store.ClientsToInvoice(ctx, r.After, r.Last, 0, reseller)
	if err != nil || len(clients) == 0 {
		return Batch{}, err
	}
	made, err := s.CreateInvoices(ctx, clients, o, beat)
	if err != nil {
		return Batch{}, err
	}
	b := SumCreated(made)
	b.Clients = len(clients)
	if len(b.IDs) > 0 {
		if _, err := s.RenderInvoices(ctx, b.IDs, beat); err != nil {
			return Batch{}, err
		}
	}
	b.Invoiced, b.IDs = len(b.IDs), nil
	return b, nil
}

// Batch sums a batch of CreateInvoices results: the invoices made (their
// IDs, to render, or once rendered their count), and how many clients were
// left out and why.
type Batch struct {
	IDs                                 []string
	Clients, Invoiced                   int
	Skipped, Earlier, Open, Conflicting int
	NextEnd                             time.Time // the first end of the periods still open
	Conflicts                           []string  // the first MaxConflicts, of Conflicting
}

// MaxConflicts is how many conflicts a batch's sums name.
const MaxConflicts = 100

// SumCreated sums a batch's results, in the order of the batch (pure: a
// workflow sums a result per client with it).
func SumCreated(rs []Created) Batch {
	var b Batch
	for _, r := range rs {
		switch {
		case r.Conflict != "":
			if b.Conflicting++; len(b.Conflicts) < MaxConflicts {
				b.Conflicts = append(b.Conflicts, r.Conflict)
			}
		case r.Earlier:
			b.Earlier++
		case r.Open != "":
			if b.Open++; b.NextEnd.IsZero() || r.Ends.Before(b.NextEnd) {
				b.NextEnd = r.Ends
			}
		case r.Skipped != "":
			b.Skipped++
		default:
			b.IDs = append(b.IDs, r.ID)
		}
	}
	return b
}

// renderAtOnce is how many invoices' documents are rendered and uploaded at
// once: enough to keep both the CPU and the S3 connection busy.
const renderAtOnce = 4

// RenderInvoices writes the PDF, JSON and CSV of calls of each invoice that
// needs them to the bucket, records where they are with their SHA-256, and
// returns each invoice's documents (pdf, json, csv → URI). A draft's are
// written under keys of its ID, again on each call. An issued invoice's are
// written once, under keys of its number that are never overwritten
// (billing-rules §7): an issued or void invoice whose documents are recorded
// keeps them, and a retry after a crash between writing and recording takes
// the objects written. The invoices' calls are read in one pass over their
// month.
func (s *Service) RenderInvoices(ctx context.Context, ids []string, beat Heartbeat) (map[string]map[string]string, error) {
	all, err := s.Store.InvoicesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(all))
	var invs []invoice.Stored
	for _, inv := range all {
		if inv.State == "void" || inv.State == "issued" && len(inv.Sums) > 0 {
			out[inv.ID] = inv.Documents
			continue
		}
		invs = append(invs, inv)
	}
	if len(invs) == 0 {
		return out, nil
	}
	billed, err := s.billedCSVs(ctx, invs)
	if err != nil {
		return nil, err
	}
	l, err := s.listed(ctx, invs, beat, nil)
	if err != nil {
		return nil, err
	}
	defer l.cleanup()
	written := make(map[string]invoice.Written, len(invs))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(renderAtOnce)
	for i := range invs {
		g.Go(func() error {
			calls, err := l.callsOf(i)
			if err != nil {
				return fmt.Errorf("invoice %s: %w", invs[i].Number, err)
			}
			if invs[i].Corrects != nil { // a note lists the calls whose cost changed
				if calls, err = s.changedCalls(gctx, invs[i], calls, billed[invs[i].Corrects.ID]); err != nil {
					return fmt.Errorf("note %s: %w", invs[i].ID, err)
				}
			}
			w, err := s.writeDocuments(gctx, invs[i], calls, l.details[i])
			if err != nil {
				return fmt.Errorf("invoice %s: %w", invs[i].ID, err)
			}
			mu.Lock()
			defer mu.Unlock()
			written[invs[i].ID], out[invs[i].ID] = w, w.URIs
			beat.beat(len(written))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, s.Store.SetDocuments(ctx, written)
}

// listing is what the documents of invoices list beyond their lines: each
// one's calls as CSV (read from a temporary file, or kept gzipped in its
// snapshot until asked for, so that a batch's calls need not fit in memory)
// and its extended detail.
type listing struct {
	calls   []*io.SectionReader
	gzipped [][]byte
	details []*invoice.Detail
	cleanup func()
}

// callsOf is the CSV of calls of invoice i.
func (l *listing) callsOf(i int) (*io.SectionReader, error) {
	if l.calls[i] != nil {
		return l.calls[i], nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(l.gzipped[i]))
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	csv, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return io.NewSectionReader(bytes.NewReader(csv), 0, int64(len(csv))), nil
}

// listed is what the documents of invs list beyond their lines. An issued
// invoice's comes from the snapshot kept when it was issued; the others' is
// read from the calls, in one pass over the month, through a temporary file
// (a month of calls need not fit in memory) that cleanup removes.
//
// With usage (one per invoice), the calls read are also added up into each
// invoice's usage, for invoices whose lines are not computed yet.
func (s *Service) listed(ctx context.Context, invs []invoice.Stored, beat Heartbeat, usage []invoice.UsageSums) (*listing, error) {
	l := &listing{calls: make([]*io.SectionReader, len(invs)), gzipped: make([][]byte, len(invs)),
		details: make([]*invoice.Detail, len(invs)), cleanup: func() {}}
	var issued []string
	for _, inv := range invs {
		if inv.State == "issued" {
			issued = append(issued, inv.ID)
		}
	}
	snaps := map[string]invoice.Snapshot{}
	if len(issued) > 0 {
		var err error
		if snaps, err = s.Store.Snapshots(ctx, issued); err != nil {
			return nil, err
		}
	}
	var fresh []invoice.Stored
	var at []int
	for i, inv := range invs {
		sn, ok := snaps[inv.ID]
		if !ok || inv.State != "issued" {
			fresh, at = append(fresh, inv), append(at, i)
			continue
		}
		l.gzipped[i], l.details[i] = sn.Calls, sn.Detail
	}
	if len(fresh) == 0 {
		return l, nil
	}
	tmp, err := os.CreateTemp("", "invoice-calls-*.csv")
	if err != nil {
		return nil, err
	}
	l.cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
	var sums []*invoice.UsageSums
	if usage != nil {
		sums = make([]*invoice.UsageSums, len(fresh))
		for k, i := range at {
			sums[k] = &usage[i]
		}
	}
	c, err := s.writeCalls(ctx, tmp, fresh, beat, sums)
	var d []*invoice.Detail
	if err == nil {
		d, err = s.details(ctx, fresh)
	}
	if err != nil {
		l.cleanup()
		return nil, err
	}
	for k, i := range at {
		l.calls[i], l.details[i] = c[k], d[k]
	}
	return l, nil
}

// freeze reads, for drafts about to be issued, what their documents will
// list beyond their lines (billing-rules §7), in one pass over the month:
// the issue keeps it with each invoice, and its documents are rendered from
// it, whenever that happens.
func (s *Service) freeze(ctx context.Context, invs []invoice.Stored, beat Heartbeat) (map[string]invoice.Snapshot, error) {
	if len(invs) == 0 {
		return nil, nil
	}
	l, err := s.listed(ctx, invs, beat, nil)
	if err != nil {
		return nil, err
	}
	defer l.cleanup()
	at := make(map[string]int, len(invs))
	for i, inv := range invs {
		at[inv.ID] = i
	}
	return snapshots(l, invs, func(inv invoice.Stored) int { return at[inv.ID] })
}

// snapshots are the snapshots of invs, whose calls and detail are item
// index(inv) of l, gzipped.
func snapshots(l *listing, invs []invoice.Stored, index func(invoice.Stored) int) (map[string]invoice.Snapshot, error) {
	snaps := make(map[string]invoice.Snapshot, len(invs))
	for _, inv := range invs {
		i := index(inv)
		calls, err := l.callsOf(i)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		// The fastest level: the snapshot is read back once, to write the CSV;
		// at a month of calls, better compression costs the issue seconds.
		zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(zw, calls); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		snaps[inv.ID] = invoice.Snapshot{Calls: b.Bytes(), Detail: l.details[i]}
	}
	return snaps, nil
}

// details reads what the extended template adds for the invoices that use
// it, in one pass; the others get nil.
func (s *Service) details(ctx context.Context, invs []invoice.Stored) ([]*invoice.Detail, error) {
	out := make([]*invoice.Detail, len(invs))
	var ext []invoice.Stored
	var at []int
	for i, inv := range invs {
		if inv.Template == "extended" {
			ext, at = append(ext, inv), append(at, i)
		}
	}
	if len(ext) == 0 {
		return out, nil
	}
	exts, err := s.Store.InvoiceDetails(ctx, ext)
	for k, e := range exts {
		out[at[k]] = e
	}
	return out, err
}

// writeCalls writes each invoice's CSV of calls to f, from one query, and
// returns the section of f that holds each. Each invoice's calls are
// checked against its lines, or, with sums, added up into sums[i] instead.
func (s *Service) writeCalls(ctx context.Context, f *os.File, invs []invoice.Stored, beat Heartbeat, sums []*invoice.UsageSums) ([]*io.SectionReader, error) {
	buf := bufio.NewWriterSize(f, 1<<16)
	out := &countingWriter{w: buf}
	sections := make([]*io.SectionReader, len(invs))
	cur := -1 // the invoice whose CSV is being written
	var w *invoice.CallsWriter
	var start int64
	totals := invoice.CallTotals{} // of the current invoice's calls, to check with its lines
	// advance ends the current CSV and starts the next ones up to invoice
	// i's: those in between have no calls, only a header.
	advance := func(i int) error {
		for cur < i {
			if cur >= 0 {
				// The CSV and the lines come from different reads: a rerate
				// between them would make the document contradict itself.
				if line, ok := totals.Differ(invs[cur]); ok && sums == nil {
					return fmt.Errorf("invoice %s: %w (%s)", invs[cur].ID, ErrCallsChanged, line)
				}
				totals = invoice.CallTotals{}
				if err := w.Flush(); err != nil {
					return err
				}
				sections[cur] = io.NewSectionReader(f, start, out.n-start)
				start = out.n
			}
			if cur++; cur == len(invs) {
				return nil
			}
			beat.beat(cur) // a batch's calls can take a while
			var err error
			if w, err = invoice.NewCallsWriter(out, invs[cur].Currency, invs[cur].PeriodStart.Location()); err != nil {
				return err
			}
		}
		return nil
	}
	if err := advance(0); err != nil {
		return nil, err
	}
	if err := s.Store.InvoiceCalls(ctx, invs, func(i int, c invoice.Call) error {
		if err := advance(i); err != nil {
			return err
		}
		if sums != nil {
			sums[i].Add(c)
		} else {
			totals.Add(c)
		}
		return w.Write(c)
	}); err != nil {
		return nil, err
	}
	if err := advance(len(invs)); err != nil {
		return nil, err
	}
	return sections, buf.Flush()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// documentBase is the key, less its extension, of an invoice's documents:
// an issued invoice's by its number, a draft's by its ID. A number may hold
// a slash ({YY}{MM}/{SEQ}): escaped, it stays one segment of the key.
func documentBase(inv invoice.Stored) string {
	seg := url.PathEscape(cmp.Or(inv.Number, inv.ID))
	if seg == "." || seg == ".." { // no template makes one; the ID is safe
		seg = url.PathEscape(inv.ID)
	}
	return fmt.Sprintf("invoices/%s/%s/%s", inv.Client, inv.Period, seg)
}

// writeDocuments renders one invoice's PDF and JSON and uploads them with
// its CSV of calls: a draft's over what its keys hold, an issued invoice's
// once.
func (s *Service) writeDocuments(ctx context.Context, inv invoice.Stored, calls *io.SectionReader, ext *invoice.Detail) (invoice.Written, error) {
	base := documentBase(inv)
	w := invoice.Written{URIs: map[string]string{}, Sums: map[string]string{}}
	for _, k := range []string{"pdf", "json", "csv"} {
		w.URIs[k] = s.Objects.URI(base + "." + k)
	}
	seller, err := s.sellerOf(ctx, inv.Reseller)
	if err != nil {
		return w, err
	}
	body, err := pdf.Render(inv, seller, ext)
	if err != nil {
		return w, err
	}
	inv.Documents = w.URIs
	js, err := json.MarshalIndent(inv.Document(), "", "  ")
	if err != nil {
		return w, err
	}
	for _, d := range []struct {
		kind, contentType string
		body              io.ReadSeeker
	}{{"csv", "text/csv", calls}, {"pdf", "application/pdf", bytes.NewReader(body)}, {"json", "application/json", bytes.NewReader(js)}} {
		sum, err := s.putDocument(ctx, base+"."+d.kind, d.body, d.contentType, inv.Number != "")
		if err != nil {
			return w, err
		}
		w.Sums[d.kind] = sum
	}
	return w, nil
}

// putDocument writes a document and returns its SHA-256. once writes it only
// where no object is: when one is (written before a crash kept it from
// being recorded), that object stays and its sum is returned.
func (s *Service) putDocument(ctx context.Context, key string, body io.ReadSeeker, contentType string, once bool) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return "", err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if !once {
		_, err := s.Objects.Put(ctx, key, body, contentType, nil)
		return sum, err
	}
	_, err := s.Objects.PutNew(ctx, key, body, contentType)
	if errors.Is(err, blob.ErrExists) {
		return s.objectSum(ctx, key)
	}
	return sum, err
}

// objectSum is the SHA-256 of what the bucket holds at key.
func (s *Service) objectSum(ctx context.Context, key string) (string, error) {
	r, _, err := s.Objects.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Check is one document of an invoice compared with what was recorded when
// it was written.
type Check struct {
	Invoice  string // the invoice's number, or ID for a draft
	Document string // pdf, json or csv
	URI      string
	Status   string // ok, changed (the sums differ), missing, or unrecorded (never written with a sum)
}

// Verify reads back the documents of invs from the bucket and compares
// their SHA-256 with the sums recorded when they were written.
func (s *Service) Verify(ctx context.Context, invs []invoice.Stored) ([]Check, error) {
	var out []Check
	prefix := s.Objects.URI("")
	for _, inv := range invs {
		name := inv.Number
		if name == "" {
			name = inv.ID
		}
		for _, k := range []string{"pdf", "json", "csv"} {
			c := Check{Invoice: name, Document: k, URI: inv.Documents[k], Status: "ok"}
			switch want := inv.Sums[k]; {
			case want == "" || c.URI == "":
				c.Status = "unrecorded"
			default:
				got, err := s.objectSum(ctx, strings.TrimPrefix(c.URI, prefix))
				switch {
				case errors.Is(err, blob.ErrNotFound):
					c.Status = "missing"
				case err != nil: // the bucket did not answer: no verdict
					return nil, err
				case got != want:
					c.Status = "changed"
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// changedCalls is a note's CSV: the calls of now whose cost differs from
// what the corrected invoice and its earlier issued notes billed, read from
// their CSVs as written (billed, as billedCSVs finds them).
func (s *Service) changedCalls(ctx context.Context, note invoice.Stored, now *io.SectionReader, billed []invoice.Billed) (*io.SectionReader, error) {
	var readers []io.Reader
	for _, b := range billed {
		if b.Document == note.ID {
			continue
		}
		if b.CSV == "" {
			return nil, fmt.Errorf("invoice %s %w", b.Number, errNoCSV)
		}
		r, _, err := s.Objects.Open(ctx, strings.TrimPrefix(b.CSV, s.Objects.URI("")))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		readers = append(readers, r)
	}
	if len(readers) == 0 {
		return nil, fmt.Errorf("note %s: %w: %s", note.ID, invoice.ErrNotFound, note.Corrects.ID)
	}
	var out bytes.Buffer
	if err := invoice.WriteChangedCalls(&out, note.Currency, now, readers...); err != nil {
		return nil, err
	}
	return io.NewSectionReader(bytes.NewReader(out.Bytes()), 0, int64(out.Len())), nil
}

// billedCSVs finds, for each note of invs, where the calls CSVs of the
// invoice it corrects and of that invoice's issued notes are: one query
// for a batch, not two a note.
func (s *Service) billedCSVs(ctx context.Context, invs []invoice.Stored) (map[string][]invoice.Billed, error) {
	var ids []string
	for _, inv := range invs {
		if inv.Corrects != nil {
			ids = append(ids, inv.Corrects.ID)
		}
	}
	out := map[string][]invoice.Billed{}
	if len(ids) == 0 {
		return out, nil
	}
	all, err := s.Store.BilledCSVs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, b := range all {
		out[b.Invoice] = append(out[b.Invoice], b)
	}
	return out, nil
}

// errNoCSV is wrapped by the error for a note whose invoice (or an earlier
// note) has no CSV of calls yet: issued, not yet rendered.
var errNoCSV = errors.New("has no CSV of calls to compare with")

// OpenDocument opens a document of this bucket by its s3:// URI, as an
// invoice records it.
func (s *Service) OpenDocument(ctx context.Context, uri string) (io.ReadCloser, error) {
	prefix := "s3://" + s.Objects.Bucket() + "/"
	if !strings.HasPrefix(uri, prefix) {
		return nil, fmt.Errorf("document %s: not in bucket %s", uri, s.Objects.Bucket())
	}
	r, _, err := s.Objects.Open(ctx, strings.TrimPrefix(uri, prefix))
	return r, err
}
