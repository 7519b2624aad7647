package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/billrun/billrun/internal/billing"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
	"github.com/billrun/billrun/workflows"
)

func (a *app) invoiceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "invoice", Short: "Invoices: create, issue, void, list, show, download"}
	cmd.AddCommand(a.invoiceCreateCmd(), a.invoiceStateCmd("issue"), a.invoiceStateCmd("void"), a.invoiceListCmd(),
		a.invoiceShowCmd(), a.invoiceDownloadCmd(), a.invoiceVerifyCmd(), a.invoiceAdjustCmd())
	return cmd
}

// invoiceAdjustCmd makes the credit and debit notes of a month's issued
// invoices (billing-rules §7), through the Adjust workflow.
func (a *app) invoiceAdjustCmd() *cobra.Command {
	var clientID, monthFlag, state string
	var all, wait bool
	cmd := &cobra.Command{
		Use:     "adjust --client ID|--all --period YYYY-MM [--state draft|issued] [--wait]",
		Example: `  billctl invoice adjust --all --period 2026-10 --state issued --wait`,
		Short:   "Make the credit or debit note that brings each issued invoice of the period up to date; nothing where nothing differs",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if (clientID == "") == !all {
				return errors.New("give --client ID or --all")
			}
			if err := checkInvoiceFlags(state, ""); err != nil {
				return err
			}
			month, err := parseMonth(monthFlag)
			if err != nil {
				return err
			}
			c, err := a.workflows(ctx)
			if err != nil {
				return err
			}
			run, err := workflows.StartAdjust(ctx, c, workflows.AdjustInput{Period: month, Client: clientID, Issue: state == "issued"})
			if err != nil {
				return fmt.Errorf("start adjust: %w", err)
			}
			fmt.Fprintf(a.err, "adjust run %s started%s\n", run.GetID(), a.uiLink(run.GetID()))
			if !wait {
				return a.printRun(run.GetID())
			}
			if err := a.awaitWorker(ctx, c); err != nil {
				return err
			}
			var res workflows.AdjustResult
			if err := run.Get(ctx, &res); err != nil {
				return fmt.Errorf("adjust %s: %s", month, workflows.Reason(err))
			}
			if res.MadeBy != "" { // the notes are in the database, not in the result
				b, err := a.billing(ctx)
				if err != nil {
					return err
				}
				for offset, more := 0, true; more; offset += notesPage {
					var page []billing.Adjusted
					if page, more, err = b.NotesMadeBy(ctx, res.MadeBy, offset, notesPage); err != nil {
						return err
					}
					res.Notes = append(res.Notes, page...)
				}
			}
			if len(res.Notes) == 0 && res.Invoices == 0 {
				whose := ""
				if clientID != "" {
					whose = " of client " + clientID
				}
				fmt.Fprintf(a.err, "nothing to adjust: %s has no issued invoice%s\n", month, whose)
			}
			if res.MadeBy != "" && len(res.Notes) == 0 && res.Invoices > 0 {
				fmt.Fprintf(a.err, "nothing to adjust: the %s issued invoices of %s are up to date\n", itoa(int64(res.Invoices)), month)
			}
			t := table{header: []string{"client", "invoice", "note", "kind", "number", "total"}}
			doc := []map[string]string{}
			for _, n := range res.Notes {
				t.rows = append(t.rows, []string{n.Client, n.Invoice, n.NoteID, n.Kind, n.Number, n.Total})
				doc = append(doc, map[string]string{"client": n.Client, "invoice": n.Invoice, "note": n.NoteID, "kind": n.Kind,
					"number": n.Number, "total": n.Total})
			}
			t.json = doc
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&clientID, "client", "", "client id")
	cmd.Flags().BoolVar(&all, "all", false, "every client with an issued invoice of the period")
	cmd.Flags().StringVar(&monthFlag, "period", "", "month, YYYY-MM (required)")
	cmd.Flags().StringVar(&state, "state", "draft", "notes as draft or issued")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the notes and list them")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

// invoiceVerifyCmd reads invoices' documents back from S3 and compares them
// with the SHA-256 recorded when they were written: an issued document that
// differs from the one the client received is an audit finding.
func (a *app) invoiceVerifyCmd() *cobra.Command {
	var monthFlag string
	cmd := &cobra.Command{
		Use:   "verify ID|--period YYYY-MM",
		Short: "Compare invoices' documents in S3 with the SHA-256 recorded when they were written; exits 1 on a difference",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (len(args) == 1) == (monthFlag != "") {
				return errors.New("give an invoice ID or number, or --period")
			}
			b, err := a.billing(ctx)
			if err != nil {
				return err
			}
			var invs []invoice.Stored
			if len(args) == 1 {
				inv, err := b.Invoice(ctx, args[0])
				if err != nil {
					return err
				}
				invs = []invoice.Stored{inv}
			} else {
				month, err := parseMonth(monthFlag)
				if err != nil {
					return err
				}
				if invs, err = b.Invoices(ctx, month, ""); err != nil {
					return err
				}
			}
			checks, err := b.Verify(ctx, invs)
			if err != nil {
				return err
			}
			t := table{header: []string{"invoice", "document", "status", "uri"}}
			bad := 0
			for _, c := range checks {
				t.rows = append(t.rows, []string{c.Invoice, c.Document, c.Status, c.URI})
				if c.Status == "changed" || c.Status == "missing" {
					bad++
				}
			}
			if err := a.print(t); err != nil {
				return err
			}
			if bad > 0 {
				fmt.Fprintf(a.err, "billctl: %d documents differ from what was written\n", bad)
				return exitError(exitFindings)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&monthFlag, "period", "", "every invoice of this month")
	return cmd
}

func (a *app) invoiceCreateCmd() *cobra.Command {
	var clientID, monthFlag, state, template, rounding, reseller string
	var wait, allowEmpty, all, preview bool
	cmd := &cobra.Command{
		Use: "create --client ID|--all --period YYYY-MM [--state draft|issued] [--template NAME] [--wait]",
		Example: `  billctl invoice create --client acme --period 2026-10 --wait
  billctl invoice create --all --period 2026-10 --state issued --wait`,
		Short: "Create one invoice, or with --all those of every active client with autoinvoice (a draft replaces the period's earlier draft)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if (clientID == "") == !all {
				return errors.New("give --client ID or --all")
			}
			if err := checkInvoiceFlags(state, template); err != nil {
				return err
			}
			var mode invoice.Rounding // "": the client's setting
			if rounding != "" {
				m, err := invoice.ParseRounding(rounding)
				if err != nil {
					return fmt.Errorf("--%w", err)
				}
				mode = m
			}
			if reseller != "" && !all {
				return errors.New("--reseller picks the clients of --all")
			}
			if preview && (state == "issued" || all) {
				return errors.New("--preview makes one client's draft: not with --state issued or --all")
			}
			month, err := parseMonth(monthFlag)
			if err != nil {
				return err
			}
			if err := a.knownClient(ctx, clientID); err != nil {
				return err
			}
			if err := a.knownReseller(ctx, reseller); err != nil {
				return err
			}
			c, err := a.workflows(ctx)
			if err != nil {
				return err
			}
			if all {
				return a.invoiceRun(cmd, c, workflows.InvoiceRunInput{Period: month, Template: template, Issue: state == "issued",
					AllowEmpty: allowEmpty, Rounding: mode, Reseller: reseller}, wait)
			}
			run, err := workflows.StartInvoice(ctx, c, workflows.InvoiceInput{Client: clientID, Period: month, Template: template,
				Issue: state == "issued", AllowEmpty: allowEmpty, Rounding: mode, Preview: preview})
			if err != nil {
				return fmt.Errorf("start invoice: %w", err)
			}
			fmt.Fprintf(a.err, "invoice run %s started%s\n", run.GetID(), a.uiLink(run.GetID()))
			if !wait {
				return a.printRun(run.GetID())
			}
			if err := a.awaitWorker(ctx, c); err != nil {
				return err
			}
			var res workflows.InvoiceResult
			if err := run.Get(ctx, &res); err != nil {
				return fmt.Errorf("invoice %s %s: %s", clientID, month, workflows.Reason(err))
			}
			if res.Skipped != "" {
				fmt.Fprintln(a.err, res.Skipped)
				return nil
			}
			return a.showInvoice(cmd, res.ID)
		},
	}
	cmd.Flags().StringVar(&clientID, "client", "", "client id")
	cmd.Flags().BoolVar(&all, "all", false, "every active client with autoinvoice, in batches")
	cmd.Flags().StringVar(&reseller, "reseller", "", "with --all: only this reseller's clients (run invoice-run-YYYY-MM-RESELLER)")
	cmd.Flags().StringVar(&monthFlag, "period", "", "month, YYYY-MM (required)")
	cmd.Flags().StringVar(&state, "state", "draft", "draft or issued")
	cmd.Flags().StringVar(&template, "template", "", "default or extended (default: the client's)")
	cmd.Flags().StringVar(&rounding, "rounding", "", "round_then_sum or sum_then_round (default: the client's setting)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the invoice and show it")
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "create it even with total 0 and no calls")
	cmd.Flags().BoolVar(&preview, "preview", false, "a preview of a period that has not ended: marked on every document, never issued")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

// checkInvoiceFlags checks --state and --template, which the commands that
// make invoices share.
func checkInvoiceFlags(state, template string) error {
	if state != "draft" && state != "issued" {
		return fmt.Errorf("--state %q: want draft or issued", state)
	}
	if template != "" && template != "default" && template != "extended" {
		return fmt.Errorf("--template %q: want default or extended", template)
	}
	return nil
}

// invoiceRun starts (or joins) the month's invoice run, and with wait shows
// what became of each client.
func (a *app) invoiceRun(cmd *cobra.Command, c workflows.Client, in workflows.InvoiceRunInput, wait bool) error {
	ctx := cmd.Context()
	run, err := workflows.StartInvoiceRun(ctx, c, in)
	if err != nil {
		return fmt.Errorf("start invoice run: %w", err)
	}
	fmt.Fprintf(a.err, "invoice run %s started%s\n", run.GetID(), a.uiLink(run.GetID()))
	if !wait {
		return a.printRun(run.GetID())
	}
	if err := a.awaitWorker(ctx, c); err != nil {
		return err
	}
	var p workflows.InvoiceRunProgress
	if err := run.Get(ctx, &p); err != nil {
		return fmt.Errorf("invoice run %s: %s", in.Period, workflows.Reason(err))
	}
	for _, c := range p.Conflicts {
		fmt.Fprintln(a.err, c)
	}
	if p.ConflictCount > len(p.Conflicts) {
		fmt.Fprintf(a.err, "… and %d more clients with an issued invoice\n", p.ConflictCount-len(p.Conflicts))
	}
	fmt.Fprintf(a.out, "%s: %d clients, %d invoiced, %d with nothing to invoice, %d with an issued invoice already\n",
		in.Period, p.Clients, p.Invoiced, p.Skipped, p.ConflictCount)
	if p.Open > 0 {
		fmt.Fprintf(a.out, "%d clients' periods have not ended (the first ends %s): they are invoiced once they have\n",
			p.Open, p.NextEnd.UTC().Format(time.RFC3339))
	}
	return nil
}

// invoiceStateCmd is issue or void: the InvoiceState workflow changes the
// invoice's state and renders its documents again.
func (a *app) invoiceStateCmd(verb string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " ID",
		Short: map[string]string{"issue": "Issue a draft: number it and make it immutable", "void": "Void an invoice; it keeps its number"}[verb],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			inv, err := a.invoice(ctx, args[0]) // an unknown invoice is refused before any run starts
			if err != nil {
				return err
			}
			c, err := a.workflows(ctx)
			if err != nil {
				return err
			}
			run, err := workflows.StartInvoiceState(ctx, c, workflows.InvoiceStateInput{Invoice: inv.ID, Void: verb == "void"})
			if err != nil {
				return fmt.Errorf("%s invoice %s: %w", verb, args[0], err)
			}
			if err := a.awaitWorker(ctx, c); err != nil {
				return err
			}
			if err := run.Get(ctx, nil); err != nil {
				return fmt.Errorf("%s invoice %s: %s", verb, args[0], workflows.Reason(err))
			}
			return a.showInvoice(cmd, inv.ID)
		},
	}
}

func (a *app) invoiceListCmd() *cobra.Command {
	var month, clientID, kind, listReseller string
	cmd := &cobra.Command{
		Use:   "list [--period YYYY-MM] [--client ID] [--kind invoice|credit_note|debit_note]",
		Short: "List invoices and notes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch kind {
			case "", invoice.KindInvoice, invoice.KindCreditNote, invoice.KindDebitNote:
			default:
				return fmt.Errorf("--kind %q: want invoice, credit_note or debit_note", kind)
			}
			if err := a.knownReseller(cmd.Context(), listReseller); err != nil {
				return err
			}
			b, err := a.billing(cmd.Context())
			if err != nil {
				return err
			}
			invs, err := b.Invoices(cmd.Context(), period.Month(month), clientID)
			if err != nil {
				return err
			}
			t := table{header: []string{"id", "number", "state", "client", "period", "total", "currency", "due_date", "kind"}}
			docs := make([]invoice.Document, 0, len(invs))
			for _, inv := range invs {
				k := cmp.Or(inv.Kind, invoice.KindInvoice)
				if kind != "" && k != kind || listReseller != "" && inv.Reseller != listReseller {
					continue
				}
				if a.format == "json" { // the whole document only where it is printed
					docs = append(docs, inv.Document())
					continue
				}
				t.rows = append(t.rows, []string{inv.ID, inv.Number, inv.State, inv.Client, string(inv.Period), inv.Total.StringFixed(2), inv.Currency,
					inv.DueDate.Format(time.DateOnly), k})
			}
			t.json = docs
			return a.print(t)
		},
	}
	cmd.Flags().StringVar(&month, "period", "", "only this month")
	cmd.Flags().StringVar(&clientID, "client", "", "only this client")
	cmd.Flags().StringVar(&kind, "kind", "", "only invoices, credit notes or debit notes")
	cmd.Flags().StringVar(&listReseller, "reseller", "", "only those this reseller issued")
	return cmd
}

func (a *app) invoiceShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an invoice (--format json: the invoice JSON document)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return a.showInvoice(cmd, args[0]) },
	}
}

// invoice reads an invoice by ID or number.
func (a *app) invoice(ctx context.Context, id string) (invoice.Stored, error) {
	b, err := a.billing(ctx)
	if err != nil {
		return invoice.Stored{}, err
	}
	return b.Invoice(ctx, id)
}

func (a *app) showInvoice(cmd *cobra.Command, id string) error {
	inv, err := a.invoice(cmd.Context(), id)
	if err != nil {
		return err
	}
	doc := inv.Document()
	if a.format == "json" {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	number := inv.Number
	switch {
	case inv.Preview:
		number = "(preview: period not ended)"
	case number == "":
		number = "(draft)"
	}
	fmt.Fprintf(a.out, "%s %s %s, %s, client %s, period %s – %s, issued %s, due %s\n", strings.ReplaceAll(doc.Kind, "_", " "), inv.ID, number, inv.State, inv.Client,
		doc.PeriodStart, doc.PeriodEnd, doc.IssueDate, doc.DueDate)
	t := table{header: []string{"kind", "description", "code", "calls", "billed_seconds", "quantity", "amount"}}
	for _, l := range inv.Lines {
		calls, billed, qty := "", "", ""
		if l.Kind == invoice.KindUsage {
			calls, billed = itoa(l.Calls), itoa(l.BilledSeconds)
		} else {
			qty = fmt.Sprint(l.Quantity)
		}
		t.rows = append(t.rows, []string{l.Kind, l.Description, l.Code, calls, billed, qty, l.Amount.StringFixed(2)})
	}
	t.rows = append(t.rows, []string{"", "subtotal", "", "", "", "", inv.Subtotal.StringFixed(2)})
	for _, x := range inv.Taxes {
		name := x.Name + " " + x.Percent.String() + "%"
		if x.Included {
			name += " (included)"
		}
		t.rows = append(t.rows, []string{"", name, "", "", "", "", x.Amount.StringFixed(2)})
	}
	t.rows = append(t.rows, []string{"", "total " + inv.Currency, "", "", "", "", inv.Total.StringFixed(2)})
	if err := a.print(t); err != nil {
		return err
	}
	for _, k := range []string{"pdf", "json", "csv"} {
		if u := inv.Documents[k]; u != "" {
			fmt.Fprintf(a.out, "%s: %s\n", k, u)
		}
	}
	return nil
}

func (a *app) invoiceDownloadCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download ID --out DIR",
		Short: "Download the invoice's PDF, JSON and CSV",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			inv, err := a.invoice(ctx, args[0])
			if err != nil {
				return err
			}
			if len(inv.Documents) == 0 {
				return errors.New("the invoice's documents are not rendered yet")
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			name := inv.FileName()
			for _, k := range []string{"pdf", "json", "csv"} {
				path := filepath.Join(out, name+"."+k)
				if err := a.saveObject(ctx, inv.Documents[k], path); err != nil {
					return err
				}
				fmt.Fprintln(a.out, path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", ".", "directory")
	return cmd
}

// notesPage is how many notes billctl reads back at a time.
const notesPage = 1000
