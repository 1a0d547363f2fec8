package ocifixture_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

var updateConformance = flag.Bool("update-conformance", false, "rewrite testdata/conformance/<preset>.txt from this run")

// countBasedQuirks are left out of the presets' conformance profiles. The
// suite walks its test data in map order, which Go randomises, so which
// request an every-Nth or next-N quirk hits, and so which test fails,
// would change from run to run. Their behaviour is shown by their own
// tests instead.
var countBasedQuirks = []string{
	"dockerhub-rate-limit",
	"transient-5xx",
	"retry-after-quirks",
	"read-after-write-lag",
	"truncated-blob-stream",
	"upload-not-resumable",
	"upload-session-expiry",
}

// TestConformancePresets runs the official suite against each preset and
// compares the failing test names with testdata/conformance/<preset>.txt:
// the file documents how the preset deviates from the spec, and any change
// to a preset's behaviour shows up there in review. Refresh the files with
// go test -run TestConformancePresets -update-conformance .
func TestConformancePresets(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the OCI conformance suite in -short mode")
	}
	bin := buildConformance(t)
	for _, name := range quirks.PresetNames() {
		if name == "spec" {
			continue // TestConformance holds the spec to zero failures
		}
		t.Run(name, func(t *testing.T) {
			qs, _ := quirks.Lookup(name)
			qs = slices.DeleteFunc(qs, func(q quirks.Quirk) bool { return slices.Contains(countBasedQuirks, q.ID()) })
			// The suite's repositories exist beforehand, as a registry
			// that needs repositories created first (ECR) is set up for it.
			store := memstore.New()
			for _, repo := range []string{"conformance/repo1", "conformance/repo2"} {
				if _, err := store.PutBlob(repo, "", strings.NewReader("created"), -1); err != nil {
					t.Fatal(err)
				}
			}
			res := runConformance(t, bin, "dev", ocitest.WithStore(store), ocitest.WithQuirks(qs...))
			got := res.failingNames()
			file := filepath.Join("testdata", "conformance", name+".txt")
			if *updateConformance {
				writeExpectation(t, file, name, qs, got)
				return
			}
			want, err := readExpectation(file)
			if err != nil {
				t.Fatalf("%v (run with -update-conformance to create it)", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("preset %s: failing conformance tests changed (-%s +this run):\n%s\nIf the change is intended, run go test -run TestConformancePresets -update-conformance .",
					name, file, diff)
			}
		})
	}
}

func writeExpectation(t *testing.T, file, preset string, qs []quirks.Quirk, failing []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Conformance tests (OCI_VERSION=dev, every API and data set on) that fail under the " + preset + " preset.\n")
	b.WriteString("# Quirks applied: " + strings.Join(quirks.Names(qs), ", ") + "\n")
	b.WriteString("# Count-based quirks of the preset are not applied here (see countBasedQuirks);\n")
	b.WriteString("# the suite's two repositories exist before it starts.\n")
	b.WriteString("# Written by go test -run TestConformancePresets -update-conformance .\n")
	for _, name := range failing {
		b.WriteString(name + "\n")
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readExpectation(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return names, nil
}
