package ocifixture_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedModules are the only modules the library's own (non-test) packages
// may import, besides the standard library. Anything heavier belongs in the
// examples/ or bench/ modules, so users of the library never download it.
var allowedModules = []string{
	"github.com/ocifixture/ocifixture",
	"github.com/opencontainers/image-spec",
	"github.com/opencontainers/go-digest",
	"github.com/google/go-cmp",
}

// TestDependencies fails if a non-test package of this module depends,
// directly or through another package, on a module not in allowedModules.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}{{end}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		pkg, mod, _ := strings.Cut(line, " ")
		seen[mod] = true
		if !slices.Contains(allowedModules, mod) {
			t.Errorf("package %s comes from module %q, which the library may not depend on", pkg, mod)
		}
	}
	// The store imports go-digest: if go list did not report it, the check
	// above saw nothing and would pass whatever the imports are.
	if !seen["github.com/opencontainers/go-digest"] {
		t.Fatalf("go list did not report the go-digest dependency; output:\n%s", out)
	}
}
