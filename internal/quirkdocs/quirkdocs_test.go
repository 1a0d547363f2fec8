package quirkdocs

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ocifixture/ocifixture/quirks"
)

// TestDocsUpToDate fails when docs/quirks.md differs from what the code
// says; run go generate ./... to refresh it.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/quirks.md")
	if err != nil {
		t.Fatalf("%v (run go generate ./...)", err)
	}
	if !bytes.Equal(got, Render()) {
		t.Error("docs/quirks.md is stale: run go generate ./...")
	}
}

func TestRenderMentionsEveryQuirk(t *testing.T) {
	doc := string(Render())
	for _, info := range quirks.Catalog() {
		if !strings.Contains(doc, "`"+info.ID+"`") {
			t.Errorf("docs do not mention %s", info.ID)
		}
	}
}
