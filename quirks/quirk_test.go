package quirks

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Catalog() {
		if seen[e.ID] {
			t.Errorf("catalog id %s appears twice", e.ID)
		}
		seen[e.ID] = true
		// Wire may be empty: two entries describe the exchange under Registries.
		if e.Summary == "" || e.Group == "" || e.Registries == "" {
			t.Errorf("%s: incomplete entry %+v", e.ID, e)
		}
		switch e.Strength {
		case "E3", "E2":
			if len(e.Evidence) == 0 {
				t.Errorf("%s: evidence %s without links", e.ID, e.Strength)
			}
		case "E1", "F":
		default:
			t.Errorf("%s: unknown evidence strength %q", e.ID, e.Strength)
		}
	}
	if len(seen) != 77 {
		t.Errorf("catalog has %d entries, the project's catalog 77", len(seen))
	}
}

// TestImplementedQuirksAreDocumented holds every implemented quirk to the
// package's conventions: an exported constructor whose doc comment names
// the catalog id and lists every evidence link of the entry, and an
// example (typical parameters) that builds a quirk of that id.
func TestImplementedQuirksAreDocumented(t *testing.T) {
	docs := constructorDocs(t)
	if len(All()) == 0 {
		t.Fatal("no quirk is implemented")
	}
	for _, info := range All() {
		q, ok := Example(info.ID)
		if !ok || q.ID() != info.ID {
			t.Errorf("%s: Example gives %v, %v", info.ID, q.ID(), ok)
			continue
		}
		var found []string
		for name, text := range docs {
			if strings.Contains(text, "Catalog id "+info.ID+".") {
				found = append(found, name)
				for _, url := range info.Evidence {
					if !strings.Contains(text, url) {
						t.Errorf("%s: the doc comment of %s lacks evidence link %s", info.ID, name, url)
					}
				}
			}
		}
		if len(found) == 0 {
			t.Errorf("%s: no exported constructor's doc comment says %q", info.ID, "Catalog id "+info.ID+".")
		}
	}
}

// constructorDocs maps exported functions returning Quirk (or []Quirk) to
// their doc comments, read from this package's source.
func constructorDocs(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var asts []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		asts = append(asts, af)
	}
	pkg, err := doc.NewFromFiles(fset, asts, "github.com/ocifixture/ocifixture/quirks")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	add := func(fs []*doc.Func) {
		for _, f := range fs {
			out[f.Name] = f.Doc
		}
	}
	add(pkg.Funcs)
	for _, typ := range pkg.Types {
		add(typ.Funcs)
	}
	return out
}

func TestResolveAndScope(t *testing.T) {
	qs := []Quirk{MaxPageSize(1000), MaxPageSize(50)}
	b := Resolve(qs, "app")
	if !b.List.MaxPageSize.On() || b.List.MaxPageSize.Value.Max != 50 || b.List.MaxPageSize.By != "ecr-page-limit(50)" {
		t.Errorf("later quirk should win: %+v", b.List.MaxPageSize)
	}
	if b := Resolve(nil, "app"); b.List.MaxPageSize.On() {
		t.Errorf("no quirks, yet MaxPageSize is on")
	}
	scoped := ForRepos("team/*", IgnoreLast())
	if got := scoped[0].String(); got != "list-ignore-last@team/*" {
		t.Errorf("String = %q", got)
	}
	for repo, want := range map[string]bool{"team/app": true, "team/a/b": false, "other": false, "": false} {
		if got := Resolve(scoped, repo).List.IgnoreLast.On(); got != want {
			t.Errorf("ForRepos(team/*) on %q = %v, want %v", repo, got, want)
		}
	}
	var zero Quirk
	if Resolve([]Quirk{zero}, "x") == nil {
		t.Error("Resolve of a zero quirk returned nil")
	}
}

func TestLookup(t *testing.T) {
	if qs, ok := Lookup("SPEC"); !ok || len(qs) != 0 {
		t.Errorf("Lookup(SPEC) = %v, %v", qs, ok)
	}
	if qs, ok := Lookup("ecr-page-limit"); !ok || len(qs) != 1 || qs[0].ID() != "ecr-page-limit" {
		t.Errorf("Lookup(ecr-page-limit) = %v, %v", qs, ok)
	}
	if _, ok := Lookup("no-such-thing"); ok {
		t.Error("Lookup found a name that does not exist")
	}
}

func TestNewQuirkRefusesUnknownIDs(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("newQuirk accepted an id that is not in the catalog")
		}
	}()
	newQuirk("not-in-the-catalog", "", func(*Behavior, string) {})
}
