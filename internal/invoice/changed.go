package invoice

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/shopspring/decimal"
)

// ChangedCallsHeader is the CSV header of a note's calls: the calls whose
// cost changed since they were billed, with the cost billed and the cost now.
var ChangedCallsHeader = []string{"connect_time", "call_id", "source", "destination", "code", "description", "billed_seconds",
	"old_cost", "new_cost", "difference", "currency"}

// billedCall is a call as a CSV of calls shows it.
type billedCall struct {
	row  []string // the call's cells up to billed_seconds
	cost decimal.Decimal
}

// readCalls reads a CSV of calls (CallsHeader), or of changed calls
// (ChangedCallsHeader, their new cost), keyed by connect time and call ID.
func readCalls(in io.Reader, into map[[2]string]billedCall, order *[][2]string) error {
	r := csv.NewReader(in)
	head, err := r.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	costAt, secondsAt := 8, 7 // a CSV of calls
	if len(head) == len(ChangedCallsHeader) && head[7] == "old_cost" {
		costAt, secondsAt = 8, 6
	} else if len(head) != len(CallsHeader) {
		return fmt.Errorf("a CSV of calls with %d columns", len(head))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		cost, err := decimal.NewFromString(rec[costAt])
		if err != nil {
			return fmt.Errorf("cost %q: %w", rec[costAt], err)
		}
		row := append([]string(nil), rec[:6]...)
		row = append(row, rec[secondsAt])
		k := [2]string{rec[0], rec[1]}
		if _, seen := into[k]; !seen && order != nil {
			*order = append(*order, k)
		}
		into[k] = billedCall{row: row, cost: cost}
	}
}

// WriteChangedCalls writes, as a note's CSV, the calls whose cost now (the
// CSV of calls now) differs from what the invoice and its earlier notes
// billed (their CSVs, in issue order): a call billed and gone has a new cost
// of 0, a call new to the period an old cost of 0.
func WriteChangedCalls(out io.Writer, currency string, now io.Reader, billed ...io.Reader) error {
	old := map[[2]string]billedCall{}
	var order [][2]string
	for _, b := range billed {
		if err := readCalls(b, old, &order); err != nil {
			return fmt.Errorf("the calls billed: %w", err)
		}
	}
	cur := map[[2]string]billedCall{}
	if err := readCalls(now, cur, &order); err != nil {
		return fmt.Errorf("the calls now: %w", err)
	}
	w := csv.NewWriter(out)
	if err := w.Write(ChangedCallsHeader); err != nil {
		return err
	}
	done := map[[2]string]bool{}
	for _, k := range order {
		if done[k] {
			continue
		}
		done[k] = true
		o, n := old[k], cur[k]
		if o.row != nil && n.row != nil && o.cost.Equal(n.cost) {
			continue
		}
		row := n.row
		if row == nil {
			row = o.row
		}
		if err := w.Write(append(append([]string(nil), row...), o.cost.StringFixed(6), n.cost.StringFixed(6),
			n.cost.Sub(o.cost).StringFixed(6), currency)); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// ChangedSums sums a note's CSV of changed calls (ChangedCallsHeader) by
// the line (description) each call is billed on: the differences the
// note's usage lines must add up to.
func ChangedSums(in io.Reader) (map[string]decimal.Decimal, error) {
	r := csv.NewReader(in)
	if _, err := r.Read(); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, err
	}
	out := map[string]decimal.Decimal{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		d, err := decimal.NewFromString(rec[9])
		if err != nil {
			return nil, fmt.Errorf("difference %q: %w", rec[9], err)
		}
		out[rec[5]] = out[rec[5]].Add(d)
	}
}

// NoteDiffers reports whether note's usage lines and its changed calls
// (their differences summed by ChangedSums) disagree in total, with both
// totals: a note whose CSV contradicts it was computed from calls changing
// under it. (By line they may differ rightly: a call that moved to another
// destination is one row of the CSV and two lines of the note.) A note with
// a line whose exact amount is unknown (Rounded) is not checked.
func NoteDiffers(note Stored, sums map[string]decimal.Decimal) (lines, calls decimal.Decimal, differ bool) {
	for _, l := range note.Lines {
		if l.Kind != KindUsage {
			continue
		}
		if l.Rounded {
			return lines, calls, false
		}
		lines = lines.Add(l.Exact)
	}
	for _, v := range sums {
		calls = calls.Add(v)
	}
	return lines, calls, !lines.Equal(calls)
}

// Billed is where the calls CSV of an issued document is: an invoice, or a
// note (Document) of the invoice it corrects (Invoice), with the invoice's
// number for messages.
type Billed struct {
	Invoice, Number, Document, CSV string
}
