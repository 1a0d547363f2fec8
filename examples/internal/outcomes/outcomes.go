// Package outcomes keeps the client × scenario table in examples/README.md
// true.
//
// Each example test ends by recording what the client did in one scenario:
//
//	outcomes.Record(t, "ggcr", "ecr-page-limit", "fails: ECR rejects n=5000 (405 UNSUPPORTED); no fallback")
//
// The outcome is kept only if the test passed, so a cell says what the test
// asserts. Each example package calls outcomes.Main from its TestMain; after
// the tests ran it compares the recorded outcomes with the package's column
// of the README table, and fails the run on a difference. A run that selects
// tests with -run checks only the cells it recorded; a full run also reports
// cells no test recorded.
//
// To rewrite the table from what the tests recorded:
//
//	OCIFIXTURE_UPDATE_TABLE=1 go test ./...
//
// A new scenario is a new Record call: run the update, and the README gets a
// row for it (add a line for it to the scenario list below the table).
package outcomes

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Clients are the README table's columns, in order.
var Clients = []string{"ggcr", "oras", "regclient", "containerd", "cue"}

// Scenarios are the README table's rows, in order: a key and what the
// scenario does.
var Scenarios = []struct{ Key, What string }{
	{"image", "spec: push an image, pull manifest and blobs back byte for byte"},
	{"index", "spec: push a multi-platform index, pull it and a child back byte for byte"},
	{"resolve", "spec: resolve a tag to a descriptor (digest, media type, size)"},
	{"copy", "spec: copy an image to another repository (cross-repo mount where the client does it)"},
	{"tags-250", "spec: list 250 tags with pagination"},
	{"referrers", "spec: attach an artifact with a `subject`, discover it through the referrers API"},
	{"referrers-filter", "spec: referrers with the `artifactType` filter"},
	{"delete", "spec: delete a manifest by digest (and its tag)"},
	{"chunked-32mib", "spec: push a 32 MiB layer in chunks"},
	{"ecr-page-limit", "`quirks.ECR()`: list tags asking for more than 1000 per page (ECR answers 405)"},
	{"ecr-tag-digest", "`quirks.ECR()`: resolve a tag when the manifest GET has no `Docker-Content-Digest`"},
	{"ghcr-referrers-fallback", "`quirks.GHCR()`: no referrers API (404): attach and find an artifact through the `sha256-<hex>` tag"},
	{"dockerhub-referrers-fallback", "`quirks.DockerHub()`: the same without the referrers API"},
	{"dockerhub-429", "`quirks.DockerHub()`: pull rate limit exceeded (429 `TOOMANYREQUESTS`, `Retry-After`)"},
	{"patch-503", "one transient 503 on a chunk PATCH"},
	{"blob-redirect", "`quirks.RedirectBlobs`: blob GET answered 307 to the CDN host (another port)"},
	{"token-scopes", "`ocitest.WithTokenAuth`: the token flow; which scopes the client asks for"},
}

const (
	begin = "<!-- outcomes:begin (kept true by the tests; OCIFIXTURE_UPDATE_TABLE=1 go test ./... rewrites it) -->"
	end   = "<!-- outcomes:end -->"
)

var (
	mu       sync.Mutex
	recorded = map[string]map[string]string{} // client -> scenario -> outcome
)

// Pass is the outcome of a scenario the client completes as the spec intends.
const Pass = "pass"

// Record notes the client's outcome in a scenario, kept when t ends
// without having failed. Outcomes are one line of Markdown ("pass", or what
// the client does instead); a "|" is escaped for the table.
func Record(t testing.TB, client, scenario, outcome string) {
	t.Helper()
	if !slices.Contains(Clients, client) {
		t.Fatalf("outcomes.Record: unknown client %q", client)
	}
	if !slices.ContainsFunc(Scenarios, func(s struct{ Key, What string }) bool { return s.Key == scenario }) {
		t.Fatalf("outcomes.Record: unknown scenario %q: add it to outcomes.Scenarios", scenario)
	}
	outcome = strings.ReplaceAll(strings.TrimSpace(outcome), "|", `\|`)
	if strings.ContainsAny(outcome, "\n") || outcome == "" {
		t.Fatalf("outcomes.Record: outcome must be one non-empty line: %q", outcome)
	}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if recorded[client] == nil {
			recorded[client] = map[string]string{}
		}
		recorded[client][scenario] = outcome
	})
}

// Main runs the tests, then checks (or, with OCIFIXTURE_UPDATE_TABLE=1,
// rewrites) the client's column of the README table. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(outcomes.Main(m, "ggcr")) }
func Main(m *testing.M, client string) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	mu.Lock()
	got := recorded[client]
	mu.Unlock()
	path := readmePath()
	if os.Getenv("OCIFIXTURE_UPDATE_TABLE") != "" {
		if err := update(path, client, got, fullRun()); err != nil {
			fmt.Fprintln(os.Stderr, "outcomes:", err)
			return 1
		}
		return 0
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outcomes:", err)
		return 1
	}
	tbl, err := Parse(string(data))
	if err != nil {
		fmt.Fprintln(os.Stderr, "outcomes:", err)
		return 1
	}
	var problems []string
	for _, sc := range sortedKeys(got) {
		if want := tbl.Cell(sc, client); want != got[sc] {
			problems = append(problems, fmt.Sprintf("%s / %s:\n\tREADME: %q\n\ttests:  %q", client, sc, want, got[sc]))
		}
	}
	if fullRun() {
		for _, sc := range tbl.Scenarios {
			if _, ok := got[sc]; !ok && tbl.Cell(sc, client) != "" {
				problems = append(problems, fmt.Sprintf("%s / %s: the README has %q but no test recorded an outcome", client, sc, tbl.Cell(sc, client)))
			}
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "outcomes: %s differs from what the tests recorded (OCIFIXTURE_UPDATE_TABLE=1 go test ./... rewrites it):\n%s\n",
			path, strings.Join(problems, "\n"))
		return 1
	}
	return 0
}

// Table is the parsed outcome table: one row per scenario, one column per
// client.
type Table struct {
	Scenarios []string
	Cells     map[string]map[string]string // scenario -> client -> outcome
}

// Cell is the outcome in the table, "" if there is none.
func (t *Table) Cell(scenario, client string) string { return t.Cells[scenario][client] }

// Parse reads the table between the outcome markers of a README.
func Parse(readme string) (*Table, error) {
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		return nil, fmt.Errorf("no outcome table: the README needs the lines %q and %q", begin, end)
	}
	t := &Table{Cells: map[string]map[string]string{}}
	var cols []string
	for _, line := range strings.Split(readme[i+len(begin):j], "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := splitRow(line)
		switch {
		case cols == nil:
			cols = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			sc := cells[0]
			if k := strings.Index(sc[1:], "`"); strings.HasPrefix(sc, "`") && k >= 0 {
				sc = sc[1 : k+1]
			}
			t.Scenarios = append(t.Scenarios, sc)
			t.Cells[sc] = map[string]string{}
			for k := 1; k < len(cells) && k < len(cols); k++ {
				if c := cells[k]; c != "" && c != "–" {
					t.Cells[sc][cols[k]] = c
				}
			}
		}
	}
	return t, nil
}

// splitRow splits a Markdown table row at unescaped "|".
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for k := 0; k < len(line); k++ {
		if line[k] == '\\' && k+1 < len(line) && line[k+1] == '|' {
			cur.WriteString(`\|`)
			k++
			continue
		}
		if line[k] == '|' {
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(line[k])
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// Render writes the table in the README's layout, rows in the order of
// Scenarios.
func (t *Table) Render() string {
	var b strings.Builder
	b.WriteString("| scenario | " + strings.Join(Clients, " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---", len(Clients)) + "|\n")
	for _, s := range Scenarios {
		sc := s.Key
		if len(t.Cells[sc]) == 0 {
			continue
		}
		b.WriteString("| `" + sc + "` " + s.What + " ")
		for _, c := range Clients {
			cell := t.Cell(sc, c)
			if cell == "" {
				cell = "–"
			}
			b.WriteString("| " + cell + " ")
		}
		b.WriteString("|\n")
	}
	return b.String()
}

// update rewrites the client's column with what was recorded, holding a
// lock file since the example packages' test binaries run in parallel.
func update(path, client string, got map[string]string, full bool) error {
	lock := path + ".lock"
	for deadline := time.Now().Add(time.Minute); ; {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: %v (remove it if no test runs)", lock, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer os.Remove(lock)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	readme := string(data)
	tbl, err := Parse(readme)
	if err != nil {
		return err
	}
	if full {
		for sc := range tbl.Cells {
			delete(tbl.Cells[sc], client)
		}
	}
	for sc, outcome := range got {
		if tbl.Cells[sc] == nil {
			tbl.Cells[sc] = map[string]string{}
		}
		tbl.Cells[sc][client] = outcome
	}
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	readme = readme[:i+len(begin)] + "\n" + tbl.Render() + readme[j:]
	return os.WriteFile(path, []byte(readme), 0o644)
}

// readmePath is examples/README.md; go test runs each example package in
// its directory, examples/<client>.
func readmePath() string { return filepath.Join("..", "README.md") }

func fullRun() bool {
	f := flag.Lookup("test.run")
	return f == nil || f.Value.String() == ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
