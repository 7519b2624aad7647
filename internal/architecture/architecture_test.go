package architecture

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/billrun/billrun/"

// domain packages: pure logic, standard library and these only.
var pure = []string{"github.com/shopspring/decimal"}

// rule says what a package may import besides the standard library: other
// billrun packages (by path in the module) and outside modules (by prefix).
type rule struct {
	billrun []string
	outside []string
}

var domain = []string{"internal/blob", "internal/catalog", "internal/cdr", "internal/copybin", "internal/copytext", "internal/ingest", "internal/invoice",
	"internal/ledger", "internal/period", "internal/rating", "internal/readiness", "internal/report", "internal/rerate"}

// rules is docs/architecture.md's table of imports. A package missing
// here fails the test: a new room gets its rule when it is made.
var rules = map[string]rule{
	"internal/rating":    {outside: pure},
	"internal/blob":      {},
	"internal/period":    {},
	"internal/copytext":  {},
	"internal/copybin":   {},
	"internal/cdr":       {outside: []string{"github.com/zeebo/xxh3"}},
	"internal/catalog":   {outside: pure},
	"internal/ledger":    {billrun: []string{"internal/invoice"}, outside: pure},
	"internal/invoice":   {billrun: []string{"internal/period"}, outside: pure},
	"internal/readiness": {},
	"internal/report":    {billrun: []string{"internal/period"}, outside: pure},
	"internal/ingest":    {billrun: []string{"internal/cdr", "internal/rating"}},
	"internal/rerate":    {billrun: []string{"internal/cdr", "internal/ingest", "internal/rating"}},
	"internal/pdf": {billrun: []string{"internal/invoice", "internal/ledger", "internal/period"},
		outside: []string{"github.com/johnfercher/maroto/", "github.com/shopspring/decimal", "golang.org/x/image/", "golang.org/x/text/"}},
	// The use cases: the domain and their own interfaces, no adapter.
	"internal/billing": {billrun: append(slices.Clone(domain), "internal/pdf"), outside: []string{"golang.org/x/sync/"}},
	// Adapters: storage and transport, no use case and no rating.
	"internal/postgres": {billrun: []string{"internal/catalog", "internal/cdr", "internal/copybin", "internal/copytext", "internal/invoice", "internal/ledger", "internal/period", "internal/readiness", "internal/report"},
		outside: []string{"github.com/jackc/", "github.com/google/uuid", "github.com/shopspring/decimal"}},
	"internal/s3store":        {billrun: []string{"internal/blob"}, outside: []string{"github.com/aws/"}},
	"internal/temporalclient": {outside: []string{"go.temporal.io/"}},
	"internal/config":         {billrun: []string{"workflows"}},
	// Temporal: activities call billing; workflows call activities.
	"activities": {billrun: append(slices.Clone(domain), "internal/billing"), outside: []string{"go.temporal.io/"}},
	"workflows":  {billrun: append(slices.Clone(domain), "activities"), outside: []string{"go.temporal.io/"}},
	// Entry points wire things together; billctl never calls an activity.
	"internal/cli": {billrun: append(slices.Clone(domain), "internal/billing", "internal/config", "internal/console", "internal/postgres", "internal/s3store",
		"internal/temporalclient", "workflows"), outside: []string{"github.com/spf13/cobra", "github.com/schollz/progressbar/", "go.temporal.io/api/", "go.temporal.io/sdk/client", "go.temporal.io/sdk/converter"}},
	"internal/workerapp": {billrun: []string{"activities", "internal/billing", "internal/config", "internal/invoice", "internal/postgres", "internal/s3store",
		"internal/temporalclient", "workflows"}, outside: []string{"go.temporal.io/", "github.com/prometheus/client_golang/", "go.opentelemetry.io/"}},
	"starter": {billrun: []string{"internal/cli"}},
	// The finance console: billctl's pages, over what billctl reads and starts.
	"internal/console": {billrun: append(slices.Clone(domain), "internal/billing", "internal/postgres", "workflows"),
		outside: []string{"github.com/alexedwards/scs/", "golang.org/x/crypto/bcrypt", "golang.org/x/time/rate", "go.temporal.io/api/", "go.temporal.io/sdk/client"}},
	"worker": {billrun: []string{"internal/config", "internal/workerapp"}},
	// The demo's month generator: real numbering data, no billrun package.
	"internal/demo": {outside: []string{"github.com/nyaruka/phonenumbers", "golang.org/x/text/", "github.com/shopspring/decimal"}},
	// Test helpers.
	"internal/testenv":                     {},
	"internal/architecture":                {},
	"internal/chaos":                       {},
	"internal/postgres/pgcluster":          {outside: []string{"github.com/jackc/"}},
	"internal/postgres/pgtest":             {billrun: []string{"internal/catalog", "internal/postgres", "internal/postgres/pgcluster", "internal/rating", "internal/report", "internal/testenv"}, outside: []string{"github.com/jackc/", "github.com/shopspring/decimal"}},
	"internal/rating/ratingtest":           {billrun: []string{"internal/rating"}, outside: pure},
	"internal/s3store/s3test":              {billrun: []string{"internal/s3store", "internal/testenv"}},
	"internal/temporalclient/temporaltest": {billrun: []string{"internal/temporalclient", "internal/testenv", "workflows"}, outside: []string{"go.temporal.io/", "google.golang.org/protobuf/types/known/durationpb"}},
}

// TestEveryPackageImportsOnlyWhatItsRoomAllows reads the imports of every
// package's non-test files and checks them against rules.
func TestEveryPackageImportsOnlyWhatItsRoomAllows(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "deploy" || d.Name() == "docs") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		dir = filepath.ToSlash(dir)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imports[dir] = append(imports[dir], p)
		}
		if _, ok := imports[dir]; !ok {
			imports[dir] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, 0, len(imports))
	for d := range imports {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	if len(dirs) < 20 {
		t.Fatalf("found only %d packages: %v", len(dirs), dirs)
	}
	for _, dir := range dirs {
		r, ok := rules[dir]
		if !ok {
			t.Errorf("%s has no rule in docs/architecture.md (and this test)", dir)
			continue
		}
		for _, p := range imports[dir] {
			if why := r.refuses(p); why != "" {
				t.Errorf("%s imports %s: %s", dir, p, why)
			}
		}
	}
}

// refuses says why a package of r may not import p, or "".
func (r rule) refuses(p string) string {
	if rest, ok := strings.CutPrefix(p, module); ok {
		if slices.Contains(r.billrun, rest) {
			return ""
		}
		return "not among the billrun packages its room may use"
	}
	if first, _, _ := strings.Cut(p, "/"); !strings.Contains(first, ".") {
		return "" // the standard library
	}
	for _, prefix := range r.outside {
		if p == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(p, prefix) {
			return ""
		}
	}
	return "an outside module its room may not use"
}

func TestTheRulesRefuseWhatTheyShould(t *testing.T) {
	cases := []struct {
		dir, imp string
		refused  bool
	}{
		{"internal/rating", "github.com/shopspring/decimal", false},
		{"internal/rating", "time", false},
		{"internal/rating", module + "internal/cdr", true},
		{"internal/rating", "github.com/jackc/pgx/v5", true},
		{"internal/postgres", module + "internal/rating", true},
		{"internal/postgres", module + "internal/pdf", true},
		{"internal/postgres", module + "internal/rerate", true},
		{"internal/billing", module + "internal/postgres", true},
		{"internal/billing", "go.temporal.io/sdk/activity", true},
		{"internal/cli", module + "activities", true},
		{"internal/cli", "go.temporal.io/sdk/activity", true},
		{"workflows", module + "internal/postgres", true},
	}
	for _, c := range cases {
		if got := rules[c.dir].refuses(c.imp) != ""; got != c.refused {
			t.Errorf("%s importing %s: refused %v, want %v", c.dir, c.imp, got, c.refused)
		}
	}
}
