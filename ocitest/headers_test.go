package ocitest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetHeaders: setHeaders leaves the same header map as h.Set, in one
// allocation, and values that a later Add or Set of one key does not leak
// into another.
func TestSetHeaders(t *testing.T) {
	kv := []string{"Content-Type", "a/b", "Etag", `"x"`, "Docker-Content-Digest", "sha256:1", "Content-Length", "0"}
	want, got := http.Header{}, http.Header{}
	for i := 0; i < len(kv); i += 2 {
		want.Set(kv[i], kv[i+1])
	}
	setHeaders(got, kv...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("setHeaders (-h.Set +setHeaders):\n%s", diff)
	}
	got.Add("Content-Type", "c/d")
	got.Set("Etag", "y")
	if got.Get("Docker-Content-Digest") != "sha256:1" || got.Get("Content-Length") != "0" {
		t.Errorf("changing one header changed another: %v", got)
	}
	if diff := cmp.Diff([]string{"a/b", "c/d"}, got.Values("Content-Type")); diff != "" {
		t.Errorf("Add after setHeaders (-want +got):\n%s", diff)
	}

	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() {
		setHeaders(h, "Content-Type", "a/b", "Etag", `"x"`, "Docker-Content-Digest", "sha256:1")
	}); n != 1 {
		t.Errorf("setHeaders allocated %v times, want 1", n)
	}
}

// TestSetHeadersKeysCanonical reads this package's source: every key given
// to setHeaders (and to a direct header map assignment) is a string literal
// in canonical form, since setHeaders does not canonicalize. A key like
// "ETag" would be sent, but Header.Get("ETag") would not find it.
func TestSetHeadersKeysCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkKey := func(e ast.Expr) {
			lit, ok := e.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: header key %s is not a string literal", fset.Position(e.Pos()), describe(e))
				return
			}
			k, _ := strconv.Unquote(lit.Value)
			if c := http.CanonicalHeaderKey(k); c != k {
				t.Errorf("%s: header key %q is not canonical (%q)", fset.Position(e.Pos()), k, c)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "setHeaders" {
					calls++
					for i := 1; i < len(n.Args); i += 2 {
						checkKey(n.Args[i])
					}
				}
			case *ast.AssignStmt:
				// w.Header()["Key"] = ...
				for _, lhs := range n.Lhs {
					if ix, ok := lhs.(*ast.IndexExpr); ok {
						if call, ok := ix.X.(*ast.CallExpr); ok {
							if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Header" {
								checkKey(ix.Index)
							}
						}
					}
				}
			}
			return true
		})
	}
	if calls == 0 {
		t.Fatal("found no setHeaders calls: the check looks in the wrong place")
	}
}

// describe names an identifier or selector for the error message.
func describe(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return describe(e.X) + "." + e.Sel.Name
	}
	return "(an expression)"
}
