package demo

import (
	"sort"
	"strconv"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Destination is one code of the demo's deck.
type Destination struct {
	Code    string // E.164 prefix, digits only
	Name    string // "Germany", "Germany Mobile"
	Country string // ISO 3166 region
	Mobile  bool
	Length  int // digits of a full number (country code included)
}

// Destinations lists the deck, sorted by code: each country code under its
// main region's name; a mobile code where the region's example mobile and
// fixed-line numbers part (country code plus the shortest prefix that tells
// them apart); and the North American countries other than the US under
// their area codes. Names are English region names from CLDR.
func Destinations() []Destination {
	regions := phonenumbers.GetSupportedRegions()
	names := display.English.Regions()
	seen := map[string]bool{}
	var out []Destination
	add := func(d Destination) {
		if !seen[d.Code] {
			seen[d.Code] = true
			out = append(out, d)
		}
	}
	sorted := make([]string, 0, len(regions))
	for r := range regions {
		sorted = append(sorted, r)
	}
	sort.Strings(sorted)
	for _, r := range sorted {
		cc := phonenumbers.GetCountryCodeForRegion(r)
		ccs := strconv.Itoa(cc)
		fixed := national(r, phonenumbers.FIXED_LINE)
		if fixed == "" {
			continue
		}
		name := r
		if tag, err := language.ParseRegion(r); err == nil && names.Name(tag) != "" {
			name = names.Name(tag)
		}
		switch {
		case phonenumbers.GetRegionCodeForCountryCode(cc) == r:
			add(Destination{Code: ccs, Name: name, Country: r, Length: len(ccs) + len(fixed)})
		case cc == 1 && len(fixed) == 10: // another NANP country: its area code
			add(Destination{Code: ccs + fixed[:3], Name: name, Country: r, Length: 11})
			continue
		default: // shares a country code with a bigger region
			continue
		}
		mobile := national(r, phonenumbers.MOBILE)
		for k := 1; k <= 3 && k <= len(mobile) && k <= len(fixed); k++ {
			if mobile[:k] != fixed[:k] {
				add(Destination{Code: ccs + mobile[:k], Name: name + " Mobile", Country: r, Mobile: true, Length: len(ccs) + len(mobile)})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

func national(region string, t phonenumbers.PhoneNumberType) string {
	n := phonenumbers.GetExampleNumberForType(region, t)
	if n == nil {
		return ""
	}
	return phonenumbers.GetNationalSignificantNumber(n)
}
