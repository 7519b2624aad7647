package demo

import (
	"strings"
	"testing"
)

func TestTheDeckHoldsRealCountryAndMobileCodes(t *testing.T) {
	deck := Destinations()
	if len(deck) < 300 {
		t.Fatalf("%d destinations, want a few hundred", len(deck))
	}
	byCode := map[string]Destination{}
	for _, d := range deck {
		if _, dup := byCode[d.Code]; dup {
			t.Errorf("code %s twice", d.Code)
		}
		if strings.Trim(d.Code, "0123456789") != "" || d.Name == "" || d.Length <= len(d.Code) {
			t.Errorf("bad destination %+v", d)
		}
		byCode[d.Code] = d
	}
	for code, name := range map[string]string{
		"1": "United States", "1876": "Jamaica", "44": "United Kingdom", "447": "United Kingdom Mobile",
		"49": "Germany", "33": "France", "336": "France Mobile", "383": "Kosovo", "91": "India",
	} {
		if byCode[code].Name != name {
			t.Errorf("code %s is %q, want %q", code, byCode[code].Name, name)
		}
	}
}
