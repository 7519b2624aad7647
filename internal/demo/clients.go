package demo

// The demo's clients, their accounts and where their calls come from. The
// accounts marked late are missing from accounts.csv and come with the
// corrected accounts file; fixRateTable is the rate table the correction
// gives an account that had none.

type client struct {
	id, name, currency, tz, rateTable, tax string
	reseller                               string // "" for the carrier's own
	day, grace                             int
	template, email, address               string
	home                                   string  // region of most of its calls
	weight                                 float64 // share of the month's calls
	accounts                               []account
}

type account struct {
	kind, value, techPrefix, rateTable string
	enabled                            bool
	late                               bool   // added by the corrected accounts file
	fixRateTable                       string // the rate table the correction adds
	share                              float64
	sw                                 string // the switch its calls go through
}

// The switches, one file series each.
const (
	sbcEast    = "sbc-east" // canonical, naive UTC timestamps
	sbcWest    = "sbc-west" // canonical, RFC 3339, E.164 numbers with +
	pbx        = "pbx1"     // Asterisk Master.csv
	freeSwitch = "fs1"      // FreeSWITCH mod_cdr_csv
)

var clients = []client{
	{id: "northwind", name: "Northwind Telecom Inc.", currency: "USD", tz: "America/New_York", rateTable: "northwind-special",
		tax: "us-none", day: 1, grace: 30, template: "extended", email: "ap@northwind.example", address: "500 Harbor Blvd, Weehawken, NJ 07086",
		home: "US", weight: 0.16, accounts: []account{
			{kind: "ip", value: "203.0.113.10", enabled: true, share: 0.62, sw: sbcEast},
			{kind: "ip", value: "203.0.113.11", enabled: true, late: true, share: 0.25, sw: sbcEast},
			{kind: "ip", value: "203.0.113.10", techPrefix: "7788", rateTable: "retail-usd", enabled: true, share: 0.13, sw: sbcEast},
		}},
	{id: "acme", name: "Acme Telecom GmbH", currency: "EUR", tz: "Europe/Berlin", rateTable: "retail-eur",
		tax: "de-vat", day: 1, grace: 14, template: "default", email: "billing@acme.example", address: "Hauptstr. 1, 10115 Berlin",
		home: "DE", weight: 0.10, accounts: []account{
			{kind: "username", value: "acme-pbx", enabled: true, share: 0.8, sw: pbx},
			{kind: "ani", value: "4930901820", enabled: true, share: 0.2, sw: pbx},
		}},
	{id: "globex", name: "Globex Corporation", currency: "USD", tz: "America/Chicago", rateTable: "retail-usd",
		tax: "us-tx", day: 15, grace: 30, template: "default", email: "ap@globex.example", address: "1 Globex Way, Cypress Creek, TX 75001",
		home: "US", weight: 0.12, accounts: []account{
			{kind: "username", value: "globex", enabled: true, share: 1, sw: freeSwitch},
		}},
	{id: "initech", name: "Initech Ltd", currency: "GBP", tz: "Europe/London", rateTable: "retail-gbp",
		tax: "uk-vat", day: 1, grace: 14, template: "default", email: "accounts@initech.example", address: "4 Kings Road, London SW3 4NX",
		home: "GB", weight: 0.07, accounts: []account{
			{kind: "username", value: "initech", enabled: true, share: 1, sw: freeSwitch},
		}},
	{id: "umbrella", name: "Umbrella Networks Pte Ltd", currency: "USD", tz: "Asia/Singapore", rateTable: "wholesale-usd",
		tax: "sg-gst", day: 1, grace: 30, template: "extended", email: "finance@umbrella.example", address: "8 Marina View, Singapore 018960",
		home: "SG", weight: 0.14, accounts: []account{
			{kind: "ip", value: "198.51.100.7", enabled: true, share: 0.985, sw: sbcWest},
			{kind: "ip", value: "198.51.100.99", enabled: false, share: 0.015, sw: sbcWest}, // a retired trunk still sending
		}},
	{id: "hooli", name: "Hooli SAS", currency: "EUR", tz: "Europe/Paris", rateTable: "retail-eur",
		tax: "fr-vat", day: 15, grace: 14, template: "default", email: "compta@hooli.example", address: "12 rue de Rivoli, 75004 Paris",
		home: "FR", weight: 0.06, accounts: []account{
			{kind: "username", value: "hooli-sbc", enabled: true, share: 1, sw: sbcWest},
		}},
	{id: "stark", name: "Stark Communications plc", currency: "GBP", tz: "Europe/London", rateTable: "retail-gbp", reseller: "albion",
		tax: "uk-vat", day: 15, grace: 14, template: "extended", email: "ledger@stark.example", address: "1 Canada Square, London E14 5AB",
		home: "GB", weight: 0.06, accounts: []account{
			{kind: "username", value: "stark", enabled: true, share: 1, sw: freeSwitch},
		}},
	{id: "wayne", name: "Wayne Voice LLC", currency: "USD", tz: "America/Los_Angeles", rateTable: "retail-usd",
		tax: "us-tx", day: 1, grace: 30, template: "default", email: "ap@wayne.example", address: "1007 Mountain Dr, Los Angeles, CA 90077",
		home: "US", weight: 0.09, accounts: []account{
			{kind: "username", value: "wayne-pbx", enabled: true, share: 0.7, sw: pbx},
			{kind: "ip", value: "198.51.100.20", enabled: true, share: 0.3, sw: pbx},
		}},
	{id: "tyrell", name: "Tyrell Callcenter B.V.", currency: "EUR", tz: "Europe/Amsterdam", rateTable: "retail-eur",
		tax: "nl-vat", day: 1, grace: 14, template: "extended", email: "crediteuren@tyrell.example", address: "Damrak 1, 1012 LG Amsterdam",
		home: "NL", weight: 0.08, accounts: []account{
			{kind: "ip", value: "192.0.2.30", enabled: true, share: 0.5, sw: sbcWest},
			{kind: "ip", value: "192.0.2.31", enabled: true, share: 0.5, sw: sbcWest},
		}},
	{id: "cyberdyne", name: "Cyberdyne Systems Inc.", currency: "USD", tz: "America/Denver", rateTable: "",
		tax: "us-tx", day: 1, grace: 30, template: "default", email: "ap@cyberdyne.example", address: "18144 El Camino Real, Sunnyvale, CA 94087",
		home: "US", weight: 0.04, accounts: []account{
			{kind: "ip", value: "192.0.2.50", enabled: true, fixRateTable: "retail-usd", share: 1, sw: sbcEast},
		}},
	{id: "soylent", name: "Soylent Mobile S.A.", currency: "EUR", tz: "Europe/Madrid", rateTable: "retail-eur",
		tax: "es-vat", day: 1, grace: 14, template: "default", email: "facturas@soylent.example", address: "Gran Via 28, 28013 Madrid",
		home: "ES", weight: 0.05, accounts: []account{
			{kind: "ani", value: "34911234567", enabled: true, share: 1, sw: sbcEast},
		}},
	{id: "oscorp", name: "Oscorp Telecom Ltd", currency: "GBP", tz: "Europe/London", rateTable: "retail-gbp", reseller: "albion",
		tax: "uk-vat", day: 15, grace: 14, template: "default", email: "payables@oscorp.example", address: "20 Deansgate, Manchester M3 1AZ",
		home: "GB", weight: 0.03, accounts: []account{
			{kind: "ani", value: "442071234567", enabled: true, share: 1, sw: pbx},
		}},
}

// Scanners: calls from addresses no client has, the SIP scans every
// carrier sees. They stay unknown_account.
const scannerWeight = 0.003

// Popular international destinations (regions), each reached at its fixed
// or mobile code.
var popular = []string{"US", "GB", "DE", "FR", "IN", "MX", "PH", "CN", "NG", "PK", "BR", "IT", "ES", "PL",
	"RO", "TR", "JM", "DO", "XK", "NL", "CH", "AT", "BD", "VN", "CO"}

// Regions priced as the cheap tier (fixed lines of the large markets).
var cheap = map[string]bool{"US": true, "CA": true, "GB": true, "DE": true, "FR": true, "NL": true, "ES": true,
	"IT": true, "CH": true, "AT": true, "BE": true, "SE": true, "DK": true, "NO": true, "IE": true, "SG": true,
	"CN": true, "IN": true, "PL": true, "PT": true, "AU": true, "JP": true}

// The stories the demo tells with the rates (by region and kind of number).
var (
	missingFromEUR  = "XK" // Kosovo (+383): retail-eur lacks it, the missing rate finance adds
	promoRegion     = "IN" // retail-usd's India Mobile promotion, loaded by mistake and deleted
	creditRegionUSD = "MX" // retail-usd's Mexico was too dear: a credit note after issue
	debitRegionGBP  = "DE" // retail-gbp's Germany Mobile was too cheap: a debit note after issue
)
