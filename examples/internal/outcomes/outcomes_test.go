package outcomes

import (
	"os"
	"strings"
	"testing"
)

// The README's table parses, names only known scenarios and clients, and
// renders back to itself.
func TestReadmeTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	tbl, err := Parse(readme)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range Scenarios {
		known[s.Key] = true
	}
	for _, sc := range tbl.Scenarios {
		if !known[sc] {
			t.Errorf("README row %q is not in outcomes.Scenarios", sc)
		}
	}
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if got, want := tbl.Render(), strings.TrimPrefix(readme[i+len(begin):j], "\n"); got != want {
		t.Errorf("the README table is not in the rendered layout; OCIFIXTURE_UPDATE_TABLE=1 go test ./... rewrites it\ngot:\n%s\nwant:\n%s", want, got)
	}
}

func TestSplitRowKeepsEscapedPipes(t *testing.T) {
	got := splitRow("| `a` x | one \\| two | three |")
	if len(got) != 3 || got[1] != `one \| two` {
		t.Fatalf("%q", got)
	}
}
