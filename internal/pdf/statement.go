package pdf

import (
	"fmt"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/line"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"golang.org/x/text/encoding/charmap"

	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/ledger"
)

var entryNames = map[string]string{ledger.Invoice: "Invoice", ledger.DebitNote: "Debit note", ledger.CreditNote: "Credit note", ledger.Payment: "Payment"}

// RenderStatement renders a client's statement of account: the opening
// balance, each invoice, note and payment with the balance after it, and
// the closing balance.
func RenderStatement(s ledger.Statement, from invoice.Seller) ([]byte, error) {
	std := &face{family: standardFamily, enc: charmap.Windows1252.NewEncoder()}
	if doc, err := renderStatement(s, from, std); err != nil || !std.misfit {
		return doc, err
	}
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	return renderStatement(s, from, &face{family: goFamily, fonts: fs})
}

func renderStatement(s ledger.Statement, from invoice.Seller, f *face) ([]byte, error) {
	last := s.To.AddDate(0, 0, -1)
	cfg := config.NewBuilder().
		WithCustomFonts(f.fonts).
		WithDefaultFont(&props.Font{Family: f.family, Size: 9}).
		WithPageNumber(props.PageNumber{Pattern: "Page {current} of {total}", Place: props.Bottom, Family: f.family, Size: 8}).
		WithLeftMargin(15).WithRightMargin(15).WithTopMargin(15).
		WithTitle("Statement of account "+s.Client, true).WithAuthor(from.Name, true).
		WithCreationDate(s.To). // the statement's end, not the time of rendering
		Build()
	m := maroto.New(cfg)
	m.AddRow(12,
		text.NewCol(7, f.s(from.Name), props.Text{Size: 14, Style: fontstyle.Bold}),
		text.NewCol(5, "Statement of account", props.Text{Size: 14, Style: fontstyle.Bold, Align: align.Right}))
	left := nonEmpty(from.Address, from.Email, prefixed("Tax ID ", from.TaxID))
	right := []string{"From " + date(s.From) + " to " + date(last), "Currency: " + s.Currency}
	m.AddRow(4*float64(max(len(left), len(right))), stack(f, 7, left, align.Left), stack(f, 5, right, align.Right))
	m.AddRow(6)
	m.AddRow(5, text.NewCol(12, f.s(s.Name+" ("+s.Client+")"), props.Text{Size: 9, Style: fontstyle.Bold}))
	m.AddRow(6)
	head := props.Text{Size: 8, Style: fontstyle.Bold}
	right8 := props.Text{Size: 8, Style: fontstyle.Bold, Align: align.Right}
	num := props.Text{Size: 8, Align: align.Right}
	m.AddRow(6, text.NewCol(2, "Date", head), text.NewCol(2, "Document", head), text.NewCol(3, "Reference", head),
		text.NewCol(1, "Due", head), text.NewCol(2, "Amount", right8), text.NewCol(2, "Balance", right8)).
		WithStyle(&props.Cell{BackgroundColor: grey})
	m.AddRow(5, text.NewCol(2, f.s(date(s.From)), small), text.NewCol(8, "Opening balance", small),
		text.NewCol(2, f.s(Money(s.Opening, s.Currency)), num))
	for _, l := range s.Lines {
		due := ""
		if l.Amount.IsPositive() {
			due = l.Due.Format("02/01/06")
		}
		m.AddRow(5, text.NewCol(2, f.s(date(l.Date)), small), text.NewCol(2, f.s(entryNames[l.Kind]), small),
			text.NewCol(3, f.s(l.Reference), small), text.NewCol(1, f.s(due), small),
			text.NewCol(2, f.s(Money(l.Amount, s.Currency)), num), text.NewCol(2, f.s(Money(l.Balance, s.Currency)), num))
	}
	m.AddRow(2, line.NewCol(12))
	m.AddRow(6, text.NewCol(8, f.s(fmt.Sprintf("Closing balance on %s", last.Format("2 Jan 2006"))), props.Text{Size: 9, Style: fontstyle.Bold}),
		text.NewCol(4, f.s(Money(s.Closing, s.Currency)), props.Text{Size: 9, Style: fontstyle.Bold, Align: align.Right}))
	if f.misfit {
		return nil, nil
	}
	doc, err := m.Generate()
	if err != nil {
		return nil, fmt.Errorf("render statement of %s: %w", s.Client, err)
	}
	return doc.GetBytes(), nil
}
