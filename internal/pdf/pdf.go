// Package pdf renders invoices as PDF with maroto: the default template (a
// summary by destination) and the extended one (adding per-rate detail and
// a daily breakdown).
//
// An invoice whose text fits Windows-1252 (the Western European languages,
// €, £, ¥) is set in Helvetica, a font every PDF reader has: nothing is
// embedded, which makes rendering about four times faster. Any other
// invoice (Cyrillic, Polish, ₹) is set in the Go fonts, embedded as UTF-8
// TrueType.
package pdf

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/line"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"github.com/johnfercher/maroto/v2/pkg/repository"
	"github.com/shopspring/decimal"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/billrun/billrun/internal/invoice"
)

const goFamily = "go"

var (
	fontsOnce sync.Once
	fonts     []*entity.CustomFont
	fontsErr  error
)

func loadFonts() ([]*entity.CustomFont, error) {
	fontsOnce.Do(func() {
		fonts, fontsErr = repository.New().
			AddUTF8FontFromBytes(goFamily, fontstyle.Normal, goregular.TTF).
			AddUTF8FontFromBytes(goFamily, fontstyle.Bold, gobold.TTF).
			Load()
	})
	return fonts, fontsErr
}

var (
	grey  = &props.Color{Red: 236, Green: 236, Blue: 236}
	small = props.Text{Size: 8}
)

// face is how text is set: in a standard font, with text encoded in the
// font's code page, or in embedded UTF-8 fonts.
type face struct {
	family string
	fonts  []*entity.CustomFont
	enc    *encoding.Encoder // nil for UTF-8
	misfit bool              // some text is not in the code page
}

// standardFamily names Helvetica so that gofpdf uses its built-in metrics
// (it lowercases family names) while maroto, which compares names exactly,
// leaves the text alone instead of building a code-page table for every
// string it sets; face.s encodes the text instead, once.
const standardFamily = "Helvetica"

// s is text as the face's font takes it.
func (f *face) s(text string) string {
	if f.enc == nil {
		return text
	}
	out, err := f.enc.String(text)
	if err != nil {
		f.misfit = true
	}
	return out
}

// Render renders inv as a PDF; ext is used by the extended template.
func Render(inv invoice.Stored, from invoice.Seller, ext *invoice.Detail) ([]byte, error) {
	std := &face{family: standardFamily, enc: charmap.Windows1252.NewEncoder()}
	if doc, err := render(inv, from, ext, std); err != nil || !std.misfit {
		return doc, err
	}
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	return render(inv, from, ext, &face{family: goFamily, fonts: fs})
}

func render(inv invoice.Stored, from invoice.Seller, ext *invoice.Detail, f *face) ([]byte, error) {
	cfg := config.NewBuilder().
		WithCustomFonts(f.fonts).
		WithDefaultFont(&props.Font{Family: f.family, Size: 9}).
		WithPageNumber(props.PageNumber{Pattern: "Page {current} of {total}", Place: props.Bottom, Family: f.family, Size: 8}).
		WithLeftMargin(15).WithRightMargin(15).WithTopMargin(15).
		WithTitle(title(inv), true).WithAuthor(from.Name, true).
		WithCreationDate(inv.IssueDate). // the issue date, not the time of rendering
		Build()
	m := maroto.New(cfg)
	header(m, f, inv, from)
	lines(m, f, inv)
	totals(m, f, inv)
	if inv.Template == "extended" && ext != nil {
		extended(m, f, inv, ext)
	}
	if f.misfit {
		return nil, nil
	}
	doc, err := m.Generate()
	if err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", inv.ID, err)
	}
	return doc.GetBytes(), nil
}

func title(inv invoice.Stored) string {
	name := map[string]string{invoice.KindCreditNote: "Credit note", invoice.KindDebitNote: "Debit note"}[inv.Kind]
	if name == "" {
		name = "Invoice"
	}
	switch {
	case inv.Preview:
		return "Preview — period not ended"
	case inv.State == "void":
		return name + " " + inv.Number + " (void)"
	case inv.Number == "":
		return "Draft " + strings.ToLower(name)
	}
	return name + " " + inv.Number
}

func header(m core.Maroto, f *face, inv invoice.Stored, from invoice.Seller) {
	m.AddRow(12,
		text.NewCol(7, f.s(from.Name), props.Text{Size: 14, Style: fontstyle.Bold}),
		text.NewCol(5, f.s(title(inv)), props.Text{Size: 14, Style: fontstyle.Bold, Align: align.Right}),
	)
	left := nonEmpty(from.Address, from.Email, prefixed("Tax ID ", from.TaxID))
	right := []string{
		"Period: " + inv.PeriodStart.Format("2 Jan 2006") + " – " + inv.PeriodEnd.Add(-time.Second).Format("2 Jan 2006"),
	}
	if inv.Corrects != nil {
		right = append(right, "Corrects invoice "+inv.Corrects.Number)
	}
	right = append(right,
		"Issue date: "+date(inv.IssueDate),
		"Due date: "+date(inv.DueDate),
	)
	m.AddRow(4*float64(max(len(left), len(right))), stack(f, 7, left, align.Left), stack(f, 5, right, align.Right))
	m.AddRow(6)
	m.AddRow(5, text.NewCol(12, "Bill to", props.Text{Size: 8, Style: fontstyle.Bold}))
	to := nonEmpty(inv.ClientName+" ("+inv.Client+")", inv.Address, inv.Email)
	m.AddRow(4*float64(len(to)), stack(f, 12, to, align.Left))
	m.AddRow(6)
}

func lines(m core.Maroto, f *face, inv invoice.Stored) {
	head := props.Text{Size: 8, Style: fontstyle.Bold}
	right := props.Text{Size: 8, Style: fontstyle.Bold, Align: align.Right}
	m.AddRow(6,
		text.NewCol(5, "Description", head), text.NewCol(2, "Code", head), text.NewCol(1, "Calls", right),
		text.NewCol(2, "Minutes", right), text.NewCol(2, "Amount", right),
	).WithStyle(&props.Cell{BackgroundColor: grey})
	for _, l := range inv.Lines {
		calls, minutes := "", ""
		if l.Kind == invoice.KindUsage {
			calls, minutes = fmt.Sprint(l.Calls), Minutes(l.BilledSeconds)
		} else if l.Quantity > 0 {
			calls = fmt.Sprintf("× %d", l.Quantity)
		}
		m.AddRow(5,
			text.NewCol(5, f.s(l.Description), small), text.NewCol(2, f.s(l.Code), small),
			text.NewCol(1, f.s(calls), props.Text{Size: 8, Align: align.Right}),
			text.NewCol(2, f.s(minutes), props.Text{Size: 8, Align: align.Right}),
			text.NewCol(2, f.s(Money(l.Amount, inv.Currency)), props.Text{Size: 8, Align: align.Right}),
		)
	}
	m.AddRow(2, line.NewCol(12))
}

func totals(m core.Maroto, f *face, inv invoice.Stored) {
	add := func(name, amount string, style fontstyle.Type) {
		m.AddRow(5, col.New(6), text.NewCol(4, f.s(name), props.Text{Size: 9, Align: align.Right, Style: style}),
			text.NewCol(2, f.s(amount), props.Text{Size: 9, Align: align.Right, Style: style}))
	}
	add("Subtotal", Money(inv.Subtotal, inv.Currency), fontstyle.Normal)
	for _, t := range inv.Taxes {
		name := fmt.Sprintf("%s %s%%", t.Name, t.Percent.String())
		if t.Included {
			name += " (included)"
		}
		add(name, Money(t.Amount, inv.Currency), fontstyle.Normal)
	}
	add("Total "+inv.Currency, Money(inv.Total, inv.Currency), fontstyle.Bold)
}

func extended(m core.Maroto, f *face, inv invoice.Stored, ext *invoice.Detail) {
	head := props.Text{Size: 8, Style: fontstyle.Bold}
	right := props.Text{Size: 8, Style: fontstyle.Bold, Align: align.Right}
	num := props.Text{Size: 8, Align: align.Right}
	m.AddRow(8)
	m.AddRow(7, text.NewCol(12, "Detail by rate", props.Text{Size: 10, Style: fontstyle.Bold}))
	m.AddRow(6, text.NewCol(4, "Destination", head), text.NewCol(2, "Code", head), text.NewCol(2, "Per minute", right),
		text.NewCol(1, "Calls", right), text.NewCol(1, "Minutes", right), text.NewCol(2, "Amount", right)).
		WithStyle(&props.Cell{BackgroundColor: grey})
	for _, r := range ext.Rates {
		m.AddRow(5, text.NewCol(4, f.s(r.Description), small), text.NewCol(2, f.s(r.Code), small),
			text.NewCol(2, f.s(r.PerMinute.String()), num), text.NewCol(1, f.s(fmt.Sprint(r.Calls)), num),
			text.NewCol(1, f.s(Minutes(r.BilledSeconds)), num), text.NewCol(2, f.s(Money(r.Amount.Round(2), inv.Currency)), num))
	}
	m.AddRow(8)
	m.AddRow(7, text.NewCol(12, "Daily breakdown", props.Text{Size: 10, Style: fontstyle.Bold}))
	m.AddRow(6, text.NewCol(4, "Day", head), text.NewCol(2, "Calls", right), text.NewCol(3, "Minutes", right), text.NewCol(3, "Amount", right)).
		WithStyle(&props.Cell{BackgroundColor: grey})
	rows := make([]core.Row, 0, len(ext.Days))
	for _, d := range ext.Days {
		rows = append(rows, row.New(5).Add(text.NewCol(4, f.s(d.Day.Format("Mon 2 Jan 2006")), small), text.NewCol(2, f.s(fmt.Sprint(d.Calls)), num),
			text.NewCol(3, f.s(Minutes(d.BilledSeconds)), num), text.NewCol(3, f.s(Money(d.Amount.Round(2), inv.Currency)), num)))
	}
	m.AddRows(rows...)
	if len(ext.Origins) == 0 {
		return
	}
	m.AddRow(8)
	m.AddRow(7, text.NewCol(12, "By origin", props.Text{Size: 10, Style: fontstyle.Bold}))
	m.AddRow(6, text.NewCol(4, "Calls from", head), text.NewCol(2, "Calls", right), text.NewCol(3, "Minutes", right), text.NewCol(3, "Amount", right)).
		WithStyle(&props.Cell{BackgroundColor: grey})
	for _, o := range ext.Origins {
		name := o.Name
		if name == "" {
			name = "other origins"
		}
		m.AddRow(5, text.NewCol(4, f.s(name), small), text.NewCol(2, f.s(fmt.Sprint(o.Calls)), num),
			text.NewCol(3, f.s(Minutes(o.BilledSeconds)), num), text.NewCol(3, f.s(Money(o.Amount.Round(2), inv.Currency)), num))
	}
}

// stack is a column of lines, one under the other.
func stack(f *face, size int, lines []string, a align.Type) core.Col {
	c := col.New(size)
	for i, l := range lines {
		c.Add(text.New(f.s(l), props.Text{Size: 8, Align: a, Top: 4 * float64(i)}))
	}
	return c
}

func date(t time.Time) string {
	if t.IsZero() || t.Year() < 2 {
		return "—"
	}
	return t.Format("2 Jan 2006")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹", "RUB": "₽", "UAH": "₴", "PLN": "zł "}

// Money formats an amount with its currency's symbol and thousands
// separators, e.g. "€1,234.56", "-$0.13", "SEK 10.00".
func Money(d decimal.Decimal, currency string) string {
	s := d.Abs().StringFixed(2)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	sym, ok := symbols[currency]
	if !ok {
		sym = currency + " "
	}
	sign := ""
	if d.IsNegative() {
		sign = "-"
	}
	return sign + sym + b.String() + "." + frac
}

// Minutes formats billed seconds as minutes and seconds, e.g. "12:05".
func Minutes(seconds int64) string {
	return fmt.Sprintf("%d:%02d", seconds/60, seconds%60)
}
