package ocifixture_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStart keeps the README's quick start identical to
// ocitest/quickstart_test.go, a test that runs, so the README cannot show
// code that does not compile or pass.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	quick, err := os.ReadFile("ocitest/quickstart_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Quick start\n")
	if !ok {
		t.Fatal("README.md has no '## Quick start' section")
	}
	_, block, ok := strings.Cut(after, "```go\n")
	if !ok {
		t.Fatal("the quick start has no ```go block")
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatal("the quick start's code block is not closed")
	}
	if block != string(quick) {
		t.Errorf("README quick start differs from ocitest/quickstart_test.go; copy the file into the README")
	}
}

// TestReadmeCommands checks the README gives the two set-up commands that
// .ci/run relies on.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"go run ./cmd/ocifixture", "go test ./..."} {
		if !strings.Contains(string(readme), "\n"+cmd) {
			t.Errorf("README.md lacks the command %q at the start of a line", cmd)
		}
	}
}
