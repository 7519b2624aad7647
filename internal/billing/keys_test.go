package billing

import (
	"path"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/billrun/billrun/internal/blob"
	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/invoice"
	"github.com/billrun/billrun/internal/period"
)

// FuzzObjectKeysStayUnderTheirPrefix: whatever the names that reach a key
// (a client id that passed the name rule, any invoice number, an inbox
// file name that passed blob.CheckName), the key resolves under its own
// prefix, one segment per name.
func FuzzObjectKeysStayUnderTheirPrefix(f *testing.F) {
	f.Add("acme", "INV-2026-000001", "cdrs-oct.csv")
	f.Add("acme", "2611/42", "../x")
	f.Add("a.b", "..", "..")
	f.Add("x", "%2e%2e/..\\..", "a\x00b")
	f.Fuzz(func(t *testing.T, client, number, file string) {
		if catalog.CheckName(client) == nil {
			inv := invoice.Stored{Client: client, Period: period.Month("2026-10"), Number: number, ID: uuid.NewString()}
			within(t, documentBase(inv)+".pdf", "invoices/"+client+"/2026-10/", 4)
		}
		if blob.CheckName(file) == nil {
			within(t, InboxKey(cdr.Canonical, file), "inbox/canonical/", 3)
		}
	})
}

func within(t *testing.T, key, prefix string, segments int) {
	t.Helper()
	if clean := path.Clean("/" + key); !strings.HasPrefix(clean, "/"+prefix) || strings.Count(clean, "/") != segments {
		t.Fatalf("%q resolves to %q, out of %s", key, clean, prefix)
	}
}
