package billing

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// Adjusted is what adjusting an issued invoice made: its note, or nothing.
type Adjusted struct {
	Client  string
	Invoice string // the issued invoice's number
	NoteID  string // "" when nothing differs
	Number  string // the note's number, once issued
	Kind    string // credit_note or debit_note
	Total   string // the note's total, negative on a credit note
}

// AdjustInvoices makes the note of every issued invoice of month (of one
// client, or of all when client is "") whose recomputation with the calls
// and master data as they are now differs from it and its issued notes
// (billing-rules §7), as a draft that replaces the invoice's earlier draft
// note, and issues it when asked. The recomputation keeps the issued
// invoice's taxes and rounding mode. An invoice that no longer differs has
// no note: a draft note left from before is voided.
//
// Corrections are made one at a time (billing-rules §7): an adjust that
// meets a rerate of the month, running or started while it computed, is
// refused naming it (ErrRerateRunning), since it would bill a passing
// state; a note another adjust issued first for the same invoice is taken
// into account by computing again.
//
// made, when not "", names the run on the notes it makes (NotesMadeBy
// reads them back).
func (s *Service) AdjustInvoices(ctx context.Context, month period.Month, client string, issue bool, now time.Time, made string) ([]Adjusted, error) {
	return s.adjustListed(ctx, month, func() ([]invoice.Stored, error) { return s.Store.Invoices(ctx, month, client) }, issue, now, made)
}

// AdjustRange is AdjustInvoices for the clients of r: a page of a month's
// clients that adjusts of other pages run beside.
func (s *Service) AdjustRange(ctx context.Context, month period.Month, r ClientRange, issue bool, now time.Time, made string) ([]Adjusted, error) {
	return s.adjustListed(ctx, month, func() ([]invoice.Stored, error) { return s.Store.InvoicesIn(ctx, month, r.After, r.Last) }, issue, now, made)
}

// AdjustRanges lists the next page of up to limit clients with an issued
// invoice of month after after, cut into ranges of size clients; full says
// the page had limit clients: there may be more.
func (s *Service) AdjustRanges(ctx context.Context, month period.Month, after string, limit, size int) ([]ClientRange, bool, error) {
	clients, err := s.Store.IssuedClients(ctx, month, after, limit)
	if err != nil {
		return nil, false, err
	}
	return cut(clients, after, size), len(clients) == limit, nil
}

// cut cuts clients, the next after after in ID order, into ranges of size.
func cut(clients []string, after string, size int) []ClientRange {
	var rs []ClientRange
	size = max(1, size)
	for start := 0; start < len(clients); start += size {
		end := min(start+size, len(clients))
		rs = append(rs, ClientRange{After: after, Last: clients[end-1], Count: end - start})
		after = clients[end-1]
	}
	return rs
}

func (s *Service) adjustListed(ctx context.Context, month period.Month, list func() ([]invoice.Stored, error), issue bool, now time.Time, made string) ([]Adjusted, error) {
	if now.IsZero() {
		now = s.now()
	}
	for tries := 1; ; tries++ {
		out, err := s.adjust(ctx, month, list, issue, now, made)
		if (errors.Is(err, invoice.ErrNoteOutdated) || errors.Is(err, ErrCallsChanged)) && tries < maxAdjustTries {
			continue
		}
		var running interface{ Running() string }
		if errors.As(err, &running) {
			return nil, fmt.Errorf("%w: %s; adjust %s once it has ended", ErrRerateRunning, running.Running(), month)
		}
		return out, err
	}
}

// maxAdjustTries bounds the computations of one adjust that other adjusts
// of the same invoices outran.
const maxAdjustTries = 5

func (s *Service) adjust(ctx context.Context, month period.Month, list func() ([]invoice.Stored, error), issue bool, now time.Time, by string) ([]Adjusted, error) {
	listed, err := list()
	if err != nil {
		return nil, err
	}
	// A rerate of the month's periods makes a passing state: wait for it.
	var since time.Time
	if from, to, ok := issuedSpan(listed); ok {
		var run string
		if run, since, err = s.Store.RerateOver(ctx, from, to); err != nil {
			return nil, err
		}
		if run != "" {
			return nil, &runningError{run}
		}
	}
	cs, drafts, err := s.corrections(ctx, listed, month, now)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	out := make([]Adjusted, len(cs))
	var made []invoice.Stored
	var at []int
	for i, c := range cs {
		inv := c.Issued
		out[i] = Adjusted{Client: inv.Client, Invoice: inv.Number}
		if !c.Due {
			if id := drafts[inv.ID]; id != "" {
				if _, err := s.Store.Void(ctx, id); err != nil {
					return nil, err
				}
			}
			continue
		}
		note := c.Note
		note.State, note.MadeBy = "draft", by
		out[i].Kind, out[i].Total = note.Kind, note.Total.StringFixed(2)
		made, at = append(made, note), append(at, i)
	}
	saved, err := s.Store.SaveDrafts(ctx, made)
	if err != nil {
		return nil, err
	}
	var snaps map[string]invoice.Snapshot
	if issue {
		for k, sv := range saved {
			made[k].ID = sv.ID
		}
		if snaps, err = s.freeze(ctx, made, nil); err != nil {
			return nil, err
		}
		billed, err := s.billedCSVs(ctx, made)
		if err != nil {
			return nil, err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(renderAtOnce) // each reads the CSVs it compares with from S3
		for _, note := range made {
			g.Go(func() error { return s.checkNote(gctx, note, snaps[note.ID], billed[note.Corrects.ID]) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	ids := make([]string, len(saved))
	for k, sv := range saved {
		out[at[k]].NoteID, ids[k] = sv.ID, sv.ID
	}
	if issue {
		numbers, err := s.Store.IssueNotes(ctx, ids, now, s.templates(), snaps, since)
		if err != nil {
			return nil, err
		}
		for k, n := range numbers {
			out[at[k]].Number = n
		}
	}
	return out, nil
}

// correction is an issued invoice recomputed now: Due when the
// recomputation differs from it and its issued notes, and Note the
// difference (billing-rules §7).
type correction struct {
	Issued invoice.Stored
	Note   invoice.Stored
	Due    bool
}

// corrections recomputes the issued invoices of listed (a month's, as
// Store.Invoices lists them), keeping each one's taxes and rounding mode,
// and returns them with the draft note each has (invoice ID → note ID).
func (s *Service) corrections(ctx context.Context, listed []invoice.Stored, month period.Month, now time.Time) ([]correction, map[string]string, error) {
	var ids, clients []string
	drafts := map[string]string{} // invoice ID → its draft note
	seen := map[string]bool{}
	for _, inv := range listed {
		switch {
		case inv.State == "issued" && inv.Corrects == nil:
			ids = append(ids, inv.ID)
			if !seen[inv.Client] {
				seen[inv.Client] = true
				clients = append(clients, inv.Client)
			}
		case inv.State == "issued":
			ids = append(ids, inv.ID)
		case inv.State == "draft" && inv.Corrects != nil:
			drafts[inv.Corrects.ID] = inv.ID
		}
	}
	if len(clients) == 0 {
		return nil, drafts, nil
	}
	billed, err := s.Store.InvoicesByID(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	notes := map[string][]invoice.Stored{}
	var issued []invoice.Stored
	for _, inv := range billed {
		if inv.Corrects != nil {
			notes[inv.Corrects.ID] = append(notes[inv.Corrects.ID], inv)
		} else {
			issued = append(issued, inv)
		}
	}
	bases, err := s.Store.InvoiceBases(ctx, clients, month, now, true)
	if err != nil {
		return nil, nil, err
	}
	basis := make(map[string]invoice.Basis, len(bases))
	for _, b := range bases {
		basis[b.Stored.Client] = b
	}
	out := make([]correction, len(issued))
	for i, inv := range issued {
		b := basis[inv.Client]
		b.Input.Taxes, b.Input.Rounding = issuedTaxes(inv), inv.Rounding
		recomputed, err := invoice.Compute(b.Input)
		if err != nil {
			return nil, nil, fmt.Errorf("client %s: %w", inv.Client, err)
		}
		out[i] = correction{Issued: inv}
		out[i].Note, out[i].Due = invoice.Adjust(inv, notes[inv.ID], recomputed)
		out[i].Note.NotesBefore = len(notes[inv.ID])
		out[i].Note.IssueDate, out[i].Note.DueDate = b.Input.IssueDate, recomputed.DueDate
	}
	return out, drafts, nil
}

// issuedTaxes are the taxes an issued invoice was computed with.
func issuedTaxes(inv invoice.Stored) []invoice.Tax {
	var out []invoice.Tax
	seen := map[string]bool{}
	for _, t := range inv.Taxes {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, invoice.Tax{Name: t.Name, Percent: t.Percent})
		}
	}
	return out
}

// issuedSpan is the smallest range that holds the periods of the issued
// invoices of listed, and whether there is one.
func issuedSpan(listed []invoice.Stored) (from, to time.Time, ok bool) {
	var froms, tos []time.Time
	for _, inv := range listed {
		if inv.State == "issued" && inv.Corrects == nil {
			froms, tos = append(froms, inv.PeriodStart), append(tos, inv.PeriodEnd)
		}
	}
	from, to = period.Cover(froms, tos)
	return from, to, len(froms) > 0
}

// runningError names the rerate an adjust met.
type runningError struct{ id string }

func (e *runningError) Error() string   { return "rerate " + e.id + " is running" }
func (e *runningError) Running() string { return e.id }

// NotesMadeBy lists what the run made named made: its notes, each with the
// invoice it corrects, at most limit from offset on, and whether there are
// more.
func (s *Service) NotesMadeBy(ctx context.Context, made string, offset, limit int) ([]Adjusted, bool, error) {
	if made == "" {
		return nil, false, nil
	}
	notes, more, err := s.Store.NotesMadeBy(ctx, made, offset, limit)
	out := make([]Adjusted, len(notes))
	for i, n := range notes {
		out[i] = Adjusted{Client: n.Client, NoteID: n.ID, Number: n.Number, Kind: n.Kind, Total: n.Total.StringFixed(2)}
		if n.Corrects != nil {
			out[i].Invoice = n.Corrects.Number
		}
	}
	return out, more, err
}

// NotesToRender lists, in ID order after after and at most limit, the notes
// of month (of client, unless "") that the run named made made, and the
// month's issued notes still without documents.
func (s *Service) NotesToRender(ctx context.Context, month period.Month, client, made, after string, limit int) ([]string, error) {
	return s.Store.NotesToRender(ctx, month, client, made, after, limit)
}

// checkNote checks, before a note is issued, that the calls its CSV will
// list (the calls in its snapshot against those its invoice and earlier
// notes billed) add up to its usage lines, as an invoice's calls are
// checked against its lines: a note computed while its calls changed
// (ErrCallsChanged) is computed again rather than issued.
func (s *Service) checkNote(ctx context.Context, note invoice.Stored, snap invoice.Snapshot, billed []invoice.Billed) error {
	zr, err := gzip.NewReader(bytes.NewReader(snap.Calls))
	if err != nil {
		return fmt.Errorf("note of invoice %s: its calls: %w", note.Corrects.Number, err)
	}
	now, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("note of invoice %s: its calls: %w", note.Corrects.Number, err)
	}
	changed, err := s.changedCalls(ctx, note, io.NewSectionReader(bytes.NewReader(now), 0, int64(len(now))), billed)
	if errors.Is(err, errNoCSV) { // its documents are not written yet: their render says so
		return nil
	}
	if err != nil {
		return err
	}
	sums, err := invoice.ChangedSums(changed)
	if err != nil {
		return err
	}
	if lines, calls, differ := invoice.NoteDiffers(note, sums); differ {
		return fmt.Errorf("note of invoice %s: %w (its lines add up to %s, its changed calls to %s)", note.Corrects.Number, ErrCallsChanged,
			lines.StringFixed(6), calls.StringFixed(6))
	}
	return nil
}
