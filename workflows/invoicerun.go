package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/activities"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// Invoice run workflow contract.
const (
	// InvoiceRunProgressQuery returns an InvoiceRunProgress.
	InvoiceRunProgressQuery = "progress"
	// DefaultInvoiceBatch is the fewest clients' invoices a batch activity
	// makes (a page is split into invoiceBatchesAtOnce batches, each of at
	// least this many clients).
	DefaultInvoiceBatch = 100
	// invoiceBatchesAtOnce: with four documents at a time within a batch,
	// two batches keep two cores, the database and S3 busy.
	invoiceBatchesAtOnce = 2
	invoiceRunPage       = 1000 // clients per continue-as-new, before "invoice-run-pages-of-4000"
	// invoiceRunLargePage: every batch reads the whole month's calls twice,
	// so a month of 10,000 clients in pages of 1,000 read it 40 times (a
	// month of 10,000,000 calls: 185 s of invoicing).
	invoiceRunLargePage = 4000
	maxConflictsKept    = 100
)

// InvoiceRunWorkflowID names the run that invoices a month's clients.
func InvoiceRunWorkflowID(month period.Month) string { return KindInvoiceRun + "-" + string(month) }

// InvoiceRunOfWorkflowID is the invoice run of a month's clients of one
// reseller ("" for every client: InvoiceRunWorkflowID).
func InvoiceRunOfWorkflowID(month period.Month, reseller string) string {
	if reseller == "" {
		return InvoiceRunWorkflowID(month)
	}
	return InvoiceRunWorkflowID(month) + "-" + reseller
}

// InvoiceRunInput asks for the invoices of a month of every active client
// with autoinvoice, as InvoiceInput does for one.
type InvoiceRunInput struct {
	Period     period.Month
	Template   string // "" for each client's
	Issue      bool
	AllowEmpty bool
	Rounding   invoice.Rounding
	BatchSize  int // clients per batch; 0 splits each page among the batches that run at once
	// EndedAfter leaves alone the clients whose period ended at or before
	// it (a bill run's earlier wave invoiced them); zero takes every client.
	EndedAfter time.Time
	// Reseller invoices only that reseller's clients; "" every client.
	Reseller string
	// LateFiles waits that long after each client's period ends before
	// invoicing it (billing.InvoiceOptions.LateFiles).
	LateFiles time.Duration
	// Carried across continue-as-new.
	After    string    // the last client of the pages done
	Now      time.Time // the run's start: every page issues on the same day
	Progress InvoiceRunProgress
}

// InvoiceRunProgress is the run's progress, and its result.
type InvoiceRunProgress struct {
	Clients  int // looked at
	Invoiced int // invoices created (or found issued) and rendered
	Skipped  int // nothing to invoice
	// Conflicts are clients whose period has an issued invoice while a
	// draft was asked for (the first maxConflictsKept; ConflictCount all).
	Conflicts     []string
	ConflictCount int
	// Open counts the clients whose period had not ended: they are
	// invoiced once it has; NextEnd is the first of their ends.
	Open    int
	NextEnd time.Time
	Earlier int // clients an earlier wave invoiced
}

var invoiceBatchActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Minute,
	HeartbeatTimeout:    activities.Beat,
	RetryPolicy:         retrying(10, activities.ErrInvoiceNotFound),
}

// InvoiceRun invoices a month's clients a page at a time, each page in
// batches of clients (two batches at once): each batch computes and stores
// its invoices, then renders their documents. Every step is idempotent, so
// a retried batch or a run started again leaves one invoice per client and
// period.
func InvoiceRun(ctx workflow.Context, in InvoiceRunInput) (InvoiceRunProgress, error) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, KindAttr.ValueSet(KindInvoiceRun), PeriodAttr.ValueSet(string(in.Period)))
	p := in.Progress
	if err := workflow.SetQueryHandler(ctx, InvoiceRunProgressQuery, func() (InvoiceRunProgress, error) { return p, nil }); err != nil {
		return p, err
	}
	if in.Now.IsZero() {
		in.Now = workflow.Now(ctx)
	}
	size := in.BatchSize
	if size <= 0 {
		size = DefaultInvoiceBatch
	}
	ctx = workflow.WithActivityOptions(ctx, invoiceBatchActivity)
	page := invoiceRunPage
	if workflow.GetVersion(ctx, "invoice-run-pages-of-4000", workflow.DefaultVersion, 1) == 1 {
		page = invoiceRunLargePage
	}
	if workflow.GetVersion(ctx, "invoice-batches-by-range", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return invoiceListed(ctx, in, page, size, &p)
	}
	var a *activities.Activities
	var ranges activities.ClientRangesResult
	// A batch reads the month's calls whatever its size: a page goes in as
	// few batches as run at once, none smaller than the default (a month
	// of 1,000 clients and 1,000,000 calls: 10 batches took 28.6 s, 2 take
	// 20.5-22.3 s).
	if err := workflow.ExecuteActivity(ctx, a.ClientRanges, activities.ClientRangesInput{After: in.After, Limit: page, Reseller: in.Reseller,
		Size: in.BatchSize, Parts: invoiceBatchesAtOnce, MinSize: DefaultInvoiceBatch}).Get(ctx, &ranges); err != nil {
		return p, err
	}
	running := 0
	var failed error
	for _, r := range ranges.Ranges {
		if err := workflow.Await(ctx, func() bool { return running < invoiceBatchesAtOnce }); err != nil {
			return p, err
		}
		running++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { running-- }()
			if err := invoiceRange(ctx, in, r, &p); err != nil && failed == nil {
				failed = err
			}
		})
	}
	if err := workflow.Await(ctx, func() bool { return running == 0 }); err != nil {
		return p, err
	}
	if failed != nil {
		return p, failed
	}
	if ranges.Full {
		in.After, in.Progress = ranges.Ranges[len(ranges.Ranges)-1].Last, p
		return p, workflow.NewContinueAsNewError(ctx, InvoiceRun, in)
	}
	return p, nil
}

// invoiceRange invoices a range of clients, documents included, in one
// step; when their calls changed under it (a rerate), it does it again.
func invoiceRange(ctx workflow.Context, in InvoiceRunInput, r activities.ClientRange, p *InvoiceRunProgress) error {
	var a *activities.Activities
	for attempt := 1; ; attempt++ {
		var b activities.InvoiceRangeResult
		err := workflow.ExecuteActivity(summarized(ctx, rangeSpan(r)), a.InvoiceRange, activities.InvoiceRangeInput{Range: r, Reseller: in.Reseller,
			InvoiceOptions: activities.InvoiceOptions{Period: in.Period, Template: in.Template, Issue: in.Issue, AllowEmpty: in.AllowEmpty,
				Now: in.Now, Rounding: in.Rounding, EndedAfter: in.EndedAfter, LateFiles: in.LateFiles}}).Get(ctx, &b)
		if isApplicationError(err, activities.ErrCallsChanged) && attempt < maxRecomputes {
			continue
		}
		if err != nil {
			return err
		}
		p.add(InvoiceRunProgress{Clients: b.Clients, Invoiced: b.Invoiced, Skipped: b.Skipped, Earlier: b.Earlier,
			Conflicts: b.Conflicts, ConflictCount: b.Conflicting, Open: b.Open, NextEnd: b.NextEnd})
		return nil
	}
}

// rangeSpan names a range of clients: "12 clients after acme to globex".
func rangeSpan(r activities.ClientRange) string {
	switch {
	case r.Count == 1:
		return "client " + r.Last
	case r.After == "":
		return fmt.Sprintf("%d clients up to %s", r.Count, r.Last)
	}
	return fmt.Sprintf("%d clients after %s up to %s", r.Count, r.After, r.Last)
}

// invoiceListed is InvoiceRun's page as runs started before batches were
// named by their bounds run it: the page's client IDs, and each batch's
// invoice IDs, through the history.
func invoiceListed(ctx workflow.Context, in InvoiceRunInput, page, size int, p *InvoiceRunProgress) (InvoiceRunProgress, error) {
	var a *activities.Activities
	var clients []string
	if err := workflow.ExecuteActivity(ctx, a.ClientsToInvoice, activities.ClientsToInvoiceInput{After: in.After, Limit: page, Reseller: in.Reseller}).
		Get(ctx, &clients); err != nil {
		return *p, err
	}
	if in.BatchSize <= 0 && workflow.GetVersion(ctx, "invoice-batches-per-page", workflow.DefaultVersion, 1) == 1 {
		size = max(DefaultInvoiceBatch, (len(clients)+invoiceBatchesAtOnce-1)/invoiceBatchesAtOnce)
	}
	running := 0
	var failed error
	for start := 0; start < len(clients); start += size {
		batch := clients[start:min(start+size, len(clients))]
		if err := workflow.Await(ctx, func() bool { return running < invoiceBatchesAtOnce }); err != nil {
			return *p, err
		}
		running++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { running-- }()
			if err := invoiceBatch(ctx, in, batch, p); err != nil && failed == nil {
				failed = err
			}
		})
	}
	if err := workflow.Await(ctx, func() bool { return running == 0 }); err != nil {
		return *p, err
	}
	if failed != nil {
		return *p, failed
	}
	if len(clients) == page {
		in.After, in.Progress = clients[len(clients)-1], *p
		return *p, workflow.NewContinueAsNewError(ctx, InvoiceRun, in)
	}
	return *p, nil
}

// invoiceBatch creates the invoices of clients, then renders them; when
// their calls changed between the two (a rerate), it does both again.
func invoiceBatch(ctx workflow.Context, in InvoiceRunInput, clients []string, p *InvoiceRunProgress) error {
	for attempt := 1; ; attempt++ {
		var q InvoiceRunProgress // this batch's, added to p once it is done
		err := invoiceBatchOnce(ctx, in, clients, &q)
		if isApplicationError(err, activities.ErrCallsChanged) && attempt < maxRecomputes {
			continue
		}
		if err == nil {
			p.add(q)
		}
		return err
	}
}

// add counts a batch's progress into p's.
func (p *InvoiceRunProgress) add(q InvoiceRunProgress) {
	p.Clients, p.Invoiced, p.Skipped, p.Earlier = p.Clients+q.Clients, p.Invoiced+q.Invoiced, p.Skipped+q.Skipped, p.Earlier+q.Earlier
	p.ConflictCount += q.ConflictCount
	for _, c := range q.Conflicts {
		if len(p.Conflicts) < maxConflictsKept {
			p.Conflicts = append(p.Conflicts, c)
		}
	}
	p.Open += q.Open
	if !q.NextEnd.IsZero() && (p.NextEnd.IsZero() || q.NextEnd.Before(p.NextEnd)) {
		p.NextEnd = q.NextEnd
	}
}

func invoiceBatchOnce(ctx workflow.Context, in InvoiceRunInput, clients []string, p *InvoiceRunProgress) error {
	var a *activities.Activities
	var created activities.CreateInvoicesResult
	// Runs started before batches were summed read a result per client.
	summed := workflow.GetVersion(ctx, "invoice-batches-summed", workflow.DefaultVersion, 1) == 1
	if err := workflow.ExecuteActivity(summarized(ctx, clientSpan(clients)), a.CreateInvoices, activities.CreateInvoicesInput{Clients: clients,
		InvoiceOptions: activities.InvoiceOptions{Period: in.Period, Template: in.Template, Issue: in.Issue, AllowEmpty: in.AllowEmpty,
			Now: in.Now, Rounding: in.Rounding, EndedAfter: in.EndedAfter, LateFiles: in.LateFiles}, Summed: summed}).Get(ctx, &created); err != nil {
		return err
	}
	b := created.Batch
	if b == nil { // a run from before batches were summed: sums of the same
		b = activities.SumCreated(created.Invoices)
	}
	ids := b.IDs
	p.Skipped, p.Earlier, p.Open, p.ConflictCount = p.Skipped+b.Skipped, p.Earlier+b.Earlier, p.Open+b.Open, p.ConflictCount+b.Conflicting
	p.Conflicts = append(p.Conflicts, b.Conflicts[:min(len(b.Conflicts), maxConflictsKept-len(p.Conflicts))]...)
	if !b.NextEnd.IsZero() && (p.NextEnd.IsZero() || b.NextEnd.Before(p.NextEnd)) {
		p.NextEnd = b.NextEnd
	}
	if len(ids) > 0 {
		if err := workflow.ExecuteActivity(summarized(ctx, fmt.Sprintf("documents of %d invoices", len(ids))), a.RenderInvoices, activities.RenderInvoicesInput{IDs: ids, CountOnly: true}).Get(ctx, nil); err != nil {
			return err
		}
	}
	p.Clients += len(clients)
	p.Invoiced += len(ids)
	return nil
}

// clientSpan names a batch of clients: "clients acme to globex (12)".
func clientSpan(clients []string) string {
	if len(clients) == 1 {
		return "client " + clients[0]
	}
	if len(clients) == 0 {
		return "no client"
	}
	return fmt.Sprintf("clients %s to %s (%d)", clients[0], clients[len(clients)-1], len(clients))
}
