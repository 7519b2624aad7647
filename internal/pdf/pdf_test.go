package pdf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/billrun/billrun/internal/invoice"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var issuer = invoice.Seller{Name: "Carrier Ltd", Address: "1 Exchange Square, London", TaxID: "GB123456789", Email: "billing@carrier.example"}

// Destination names in Windows-1252, and names beyond it.
var (
	latin = []string{"Germany Mobile", "Österreich Festnetz", "España Móvil — Telefónica", "France Mobile"}
	mixed = []string{"Germany Mobile", "Österreich Festnetz", "Россия Москва", "France Mobile"}
)

func sample(template string, usageLines int, names []string) invoice.Stored {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from, to, _ := invoice.Period("2026-10", 1, berlin)
	inv := invoice.Stored{ID: "5f0c6a4e-0000-4000-8000-000000000001", Number: "INV-2026-000042", State: "issued", Client: "acme",
		ClientName: "Acme Telecom GmbH", Address: "Hauptstr. 1, 10115 Berlin", Email: "billing@acme.example",
		PeriodStart: from, PeriodEnd: to, IssueDate: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		DueDate: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), Currency: "EUR", Template: template}
	in := invoice.Input{PeriodStart: from, PeriodEnd: to, IssueDate: inv.IssueDate, GraceDays: 14, Taxes: []invoice.Tax{{Name: "VAT", Percent: d("19")}},
		Subscriptions: []invoice.Subscription{{Package: "PBX seat", Quantity: 3, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), MonthlyFee: d("10")}}}
	for i := 0; i < usageLines; i++ {
		in.Usage = append(in.Usage, invoice.Usage{Description: fmt.Sprintf("%s %04d", names[i%len(names)], i), Code: fmt.Sprint(4900 + i),
			Calls: int64(10 + i%7), BilledSeconds: int64(600 + i), Cost: decimal.New(int64(1234567+i*1001), -6)})
	}
	c, err := invoice.Compute(in)
	if err != nil {
		panic(err)
	}
	inv.Lines, inv.Subtotal, inv.Taxes, inv.Total = c.Lines, c.Subtotal, c.Taxes, c.Total
	return inv
}

func sampleExtended(inv invoice.Stored) *invoice.Detail {
	ext := &invoice.Detail{}
	for i, l := range inv.Lines {
		if l.Kind == invoice.KindUsage && i < 40 {
			ext.Rates = append(ext.Rates, invoice.RateUse{Description: l.Description, Code: l.Code, PerMinute: d("0.0120"), Calls: l.Calls, BilledSeconds: l.BilledSeconds, Amount: l.Exact})
		}
	}
	for day := inv.PeriodStart; day.Before(inv.PeriodEnd); day = day.AddDate(0, 0, 1) {
		ext.Days = append(ext.Days, invoice.DayUse{Day: day, Calls: 40, BilledSeconds: 2400, Amount: d("12.345678")})
	}
	return ext
}

// text turns a PDF back into text with pdftotext (Debian's poppler-utils).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is missing (poppler-utils): .ci/run installs it")
		}
		t.Skip("pdftotext is missing (apt-get install poppler-utils)")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestThePDFShowsTheInvoicesFiguresAndDetails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		names  []string
		embeds bool
	}{
		{"text in Windows-1252 is set in Helvetica, nothing embedded", latin, false},
		{"text beyond Windows-1252 is set in the embedded Go fonts", mixed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := sample("default", 3, tc.names)
			pdf, err := Render(inv, issuer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if embeds := bytes.Contains(pdf, []byte("/FontFile2")); embeds != tc.embeds {
				t.Errorf("font embedded: %v, want %v", embeds, tc.embeds)
			}
			txt := pdfText(t, pdf)
			for _, want := range []string{"Carrier Ltd", "Invoice INV-2026-000042", "Acme Telecom GmbH (acme)", "Hauptstr. 1, 10115 Berlin",
				"Period: 1 Oct 2026 – 31 Oct 2026", "Due date: 16 Nov 2026", "Österreich Festnetz 0001", tc.names[2] + " 0002",
				"Subtotal", inv.Subtotal.StringFixed(2), "VAT 19%", "Total EUR", "€" + inv.Total.StringFixed(2), "PBX seat", "Page 1 of 1"} {
				if !strings.Contains(txt, want) {
					t.Errorf("the PDF lacks %q", want)
				}
			}
			// Lines 1.23 (1.234567), 1.24 (1.235568), 1.24 (1.236569) and 30.00 (3 seats):
			// subtotal 33.71, VAT 19 % 6.40, total 40.11.
			if inv.Total.StringFixed(2) != "40.11" || !strings.Contains(txt, "€6.40") || !strings.Contains(txt, "€33.71") {
				t.Fatalf("total %s", inv.Total)
			}
		})
	}
}

func TestTheExtendedTemplatePaginatesFiveThousandLines(t *testing.T) {
	for name, names := range map[string][]string{"latin": latin, "mixed": mixed} {
		t.Run(name, func(t *testing.T) {
			inv := sample("extended", 5000, names)
			pdf, err := Render(inv, issuer, sampleExtended(inv))
			if err != nil {
				t.Fatal(err)
			}
			txt := pdfText(t, pdf)
			m := regexp.MustCompile(`Page (\d+) of (\d+)`).FindAllStringSubmatch(txt, -1)
			if len(m) < 50 || m[0][1] != "1" || m[len(m)-1][1] != m[len(m)-1][2] {
				t.Fatalf("%d pages numbered; last %v", len(m), m[len(m)-1])
			}
			for _, want := range []string{"France Mobile 4999", "Detail by rate", "Daily breakdown", "Sat 31 Oct 2026", "€" + addCommas(inv.Total.StringFixed(2))} {
				if !strings.Contains(txt, want) {
					t.Errorf("the PDF lacks %q", want)
				}
			}
		})
	}
}

func addCommas(s string) string {
	return strings.TrimPrefix(Money(decimal.RequireFromString(s), "EUR"), "€")
}

func TestMoneyIsFormattedWithSymbolAndSeparators(t *testing.T) {
	cases := map[string]string{Money(d("1234567.891"), "EUR"): "€1,234,567.89", Money(d("-0.125"), "USD"): "-$0.13",
		Money(d("10"), "SEK"): "SEK 10.00", Money(d("999.995"), "GBP"): "£1,000.00"}
	for got, want := range cases {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

// TestWriteSamples writes docs/invoice-default.pdf and docs/invoice-extended.pdf
// when BILLRUN_WRITE_SAMPLES is set.
func TestWriteSamples(t *testing.T) {
	if os.Getenv("BILLRUN_WRITE_SAMPLES") == "" {
		t.Skip("set BILLRUN_WRITE_SAMPLES=1 to write the sample PDFs")
	}
	// The default sample in Helvetica, the extended one in the Go fonts.
	for tpl, names := range map[string][]string{"default": latin, "extended": mixed} {
		inv := sample(tpl, 24, names)
		pdf, err := Render(inv, issuer, sampleExtended(inv))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "invoice-"+tpl+".pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkRenderDefault20Lines renders a default invoice of 19 usage
// lines and a subscription, in Helvetica (latin) and in the Go fonts (mixed).
func BenchmarkRenderDefault20Lines(b *testing.B) {
	for _, script := range []struct {
		name  string
		names []string
	}{{"latin", latin}, {"mixed", mixed}} {
		b.Run(script.name, func(b *testing.B) {
			inv := sample("default", 19, script.names)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Render(inv, issuer, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestThePDFIsDatedByTheIssueDateNotTheTimeOfRendering(t *testing.T) {
	body, err := Render(sample("default", 3, latin), issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte("/CreationDate (D:20261102")) {
		t.Fatalf("no creation date of 2 November 2026 in the PDF")
	}
}
